#include "projections/clock.h"

#include <chrono>

#include <fmt/format.h>

namespace regledger::projections {

instant system_clock::now() const {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    return instant::from_unix_us(us);
}

result<void, rejection> manual_clock::set(instant to) {
    std::lock_guard lock(set_mutex_);
    const instant current = now();
    if (to < current) {
        return reject(errc::invalid_state,
                      fmt::format("the clock may only move forward: it is {}, not {}", current.to_string(), to.to_string()),
                      "/now");
    }
    now_us_.store(to.unix_us());
    return success();
}

}  // namespace regledger::projections
