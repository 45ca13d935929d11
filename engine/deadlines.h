// Timers: the deadlines written in a registration's events, as the due
// instants at which the scheduler issues a timeout command.
//
// Timers are a projection of the log: pending_timers() derives them from a
// state, so the projection can add and remove rows by comparing the timers
// before and after each event, and a rebuild re-derives them all. Each timeout
// command has a deterministic id (stream, kind, due instant), so firing twice
// is a no-op at the idempotency check, and decide() ignores a timer that is no
// longer relevant.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <boost/describe/enum.hpp>

#include "engine/commands.h"
#include "engine/ids.h"
#include "engine/state.h"
#include "engine/time.h"

namespace regledger {

enum class timer_kind : std::uint8_t { acceptance, review, publicity, renewal_window, validity };
BOOST_DESCRIBE_ENUM(timer_kind, acceptance, review, publicity, renewal_window, validity)

struct timer {
    timer_kind kind = timer_kind::acceptance;
    instant due;
    // The timeout command to issue at `due`.
    command fire;

    friend bool operator==(const timer&, const timer&) = default;
};

// The timers a registration has pending, in a fixed order.
std::vector<timer> pending_timers(const registration_state& state);

// "timer:<stream>:<kind>:<due, µs since the epoch>".
command_id timer_command_id(const stream_id& stream, timer_kind kind, instant due);

std::string_view timer_kind_name(timer_kind kind) noexcept;

}  // namespace regledger
