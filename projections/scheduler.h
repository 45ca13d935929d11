// scheduler: turns the deadlines written in events into timeout commands
// (ARCHITECTURE.md "The deadline scheduler").
//
// Timers are rows of the `timers` family (keys.h), added and removed by the
// projector as events set and settle deadlines, so they survive restarts and
// rebuilds. fire_due() reads every row due by the clock's now, issues each
// timeout command through the writer with its deterministic id
// (engine/deadlines.h), waits until they are applied, and repeats while new
// timers have become due (a renewal window, then the validity end). A late or
// repeated firing changes nothing: decide() ignores a timer that is no longer
// relevant, and a command id seen before returns its first outcome. A clock
// that moved backwards finds nothing due that was not due before.
//
// With a system clock, start() runs a thread that sleeps until the next due
// instant (at most poll_interval, so timers added meanwhile are not missed).
// With a manual clock, whoever moves the clock calls fire_due() and gets back
// only after everything due has fired and been applied.
//
// Thread-safety: fire_due() is serialized internally; start/stop from one
// thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

#include "projections/clock.h"
#include "projections/read_model.h"
#include "projections/writer.h"

namespace regledger::projections {

struct scheduler_options {
    std::chrono::milliseconds poll_interval{1000};
    // Timers read and fired per round.
    std::size_t round_timers_max = 20'000;
};

struct fire_report {
    std::uint64_t fired = 0;
    std::uint64_t applied = 0;
    std::uint64_t unavailable = 0;
};

class scheduler {
public:
    scheduler(writer& w, const read_model& reads, const clock& time, scheduler_options options = {});
    ~scheduler();

    void start();
    void stop();
    // Wakes the thread (the clock moved, or timers were added).
    void notify();

    fire_report fire_due();

    // The earliest due instant among the pending timers.
    std::optional<instant> next_due() const;
    // An estimate of the pending timers (RocksDB's key count estimate).
    std::uint64_t pending_estimate() const;

private:
    void run();

    writer& writer_;
    const read_model& reads_;
    const clock& clock_;
    scheduler_options options_;
    std::mutex fire_mutex_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool notified_ = false;
    std::thread thread_;
};

}  // namespace regledger::projections
