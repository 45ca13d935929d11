// progress: how long operations (rebuild, verify, export, bench) show that
// they are moving. On a terminal, one line redrawn in place; otherwise a line
// every 10 %. Always on standard error, so standard output stays data.
//
// Thread-safety: one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace regledger::cli {

class progress {
public:
    explicit progress(std::string label);
    void update(std::uint64_t done, std::uint64_t total);
    // Ends the in-place line.
    void finish();

private:
    std::string label_;
    bool tty_;
    int last_decile_ = -1;
    std::chrono::steady_clock::time_point started_;
    std::chrono::steady_clock::time_point last_draw_;
    bool drawn_ = false;
};

}  // namespace regledger::cli
