// clock: where the ledger learns the time. The engine never reads a clock;
// the writer asks one for the instant it stamps on a batch, and the scheduler
// for what is due.
//
//   system_clock  the machine's real-time clock (production);
//   manual_clock  moved only by set() (tests and demonstrations, the admin
//                 clock route of API.md); it never goes backwards.
//
// Thread-safety: now() from any thread; manual_clock::set from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <vector>

#include "engine/result.h"
#include "engine/time.h"

namespace regledger::projections {

class clock {
public:
    virtual ~clock() = default;
    virtual instant now() const = 0;
};

class system_clock final : public clock {
public:
    instant now() const override;
};

class manual_clock final : public clock {
public:
    explicit manual_clock(instant start) : now_us_(start.unix_us()) {}
    instant now() const override { return instant::from_unix_us(now_us_.load()); }
    // Moves the clock forward; moving it backwards is refused (INVALID_STATE)
    // and changes nothing. Setting the same instant again is allowed.
    result<void, rejection> set(instant to);

private:
    std::atomic<std::int64_t> now_us_;
    std::mutex set_mutex_;
};

}  // namespace regledger::projections
