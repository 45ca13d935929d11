#include "cmd/cli/progress.h"

#include <cstdio>
#include <string>
#include <unistd.h>

#include <fmt/format.h>

namespace regledger::cli {

progress::progress(std::string label)
    : label_(std::move(label)), tty_(::isatty(STDERR_FILENO) != 0), started_(std::chrono::steady_clock::now()) {}

void progress::update(std::uint64_t done, std::uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - started_).count();
    // A rate over the first few milliseconds means nothing (and can read
    // billions a second): shown from a tenth of a second on.
    const std::string rate =
        seconds >= 0.1 ? fmt::format(", {:.0f}/s", static_cast<double>(done) / seconds) : std::string();
    const int percent = total > 0 ? static_cast<int>(100 * done / total) : 100;
    if (tty_) {
        if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100) && done < total) return;
        fmt::print(stderr, "\r{}: {}/{} ({}%){}   ", label_, done, total, percent, rate);
        std::fflush(stderr);
        last_draw_ = now;
        drawn_ = true;
        return;
    }
    const int decile = percent / 10;
    if (decile == last_decile_) return;
    last_decile_ = decile;
    fmt::print(stderr, "{}: {}/{} ({}%){}\n", label_, done, total, percent, rate);
}

void progress::finish() {
    if (tty_ && drawn_) fmt::print(stderr, "\n");
    drawn_ = false;
}

}  // namespace regledger::cli
