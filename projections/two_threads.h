// on_two_threads: shares numbered pieces of work between the calling thread
// and one helper thread (the machine this runs on has two cores). Rebuild and
// verify use it for work that is independent piece by piece: building the
// streams' rows, flushing families, comparing families.
//
// Thread-safety: `work` is called from two threads at once, each time with a
// different index.
#pragma once

#include <atomic>
#include <cstddef>
#include <thread>

namespace regledger::projections {

// Calls work(index, thread) for every index in [0, count): thread 0 is the
// caller's, thread 1 the helper's, and each takes the next index when done
// with its last. A call that returns false stops the handing out of further
// indices (a failure). Returns once both threads are done.
template <typename Work>
void on_two_threads(std::size_t count, Work&& work) {
    std::atomic<std::size_t> next{0};
    auto run = [&](std::size_t thread) {
        for (std::size_t index; (index = next.fetch_add(1)) < count;) {
            if (!work(index, thread)) {
                next = count;
                return;
            }
        }
    };
    std::jthread helper(run, std::size_t{1});
    run(0);
}

}  // namespace regledger::projections
