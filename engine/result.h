// Failure in the ledger, and the one result type that carries it.
//
// Two kinds of failure:
//  - a domain rejection (`rejection`): the command was understood and refused,
//    or it was not well formed. A closed enum with stable numbers grouped by
//    what the caller can do (see errc); the HTTP layer maps it in one function.
//  - an infrastructure failure: a std::error_code with a category per module
//    (events/, projections/, ...).
// Both travel in `result<T, E>` (Boost.Outcome; std::expected is not in C++20).
// Asserts are for programmer errors only; rejections are never exceptions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include <boost/outcome/basic_result.hpp>
#include <boost/outcome/policy/terminate.hpp>
#include <boost/outcome/success_failure.hpp>
#include <boost/outcome/try.hpp>

namespace regledger {

template <typename T, typename E = std::error_code>
using result = boost::outcome_v2::basic_result<T, E, boost::outcome_v2::policy::terminate>;

using boost::outcome_v2::failure;
using boost::outcome_v2::success;

// Domain rejection codes. Numbers are stable and never reused; the hundreds
// digit is the group.
enum class errc : std::uint16_t {
    // 1xx: the request is not a well-formed command.
    malformed = 100,
    // 2xx: a field breaks a rule; `field` names it.
    validation = 200,
    // 3xx: who is asking.
    unauthenticated = 300,
    forbidden = 301,
    // 4xx: what is asked about does not exist.
    not_found = 400,
    // 5xx: the command does not apply in the current state.
    invalid_state = 500,
    // 6xx: conflicts with other commands.
    conflict = 600,
    renewal_window_closed = 601,
    // 7xx: nothing was written; try again later.
    unavailable = 700,
};

// The stable code string of API.md ("VALIDATION", ...).
std::string_view api_code(errc code) noexcept;

const std::error_category& domain_category() noexcept;
inline std::error_code make_error_code(errc code) noexcept {
    return {static_cast<int>(code), domain_category()};
}

struct rejection {
    errc code = errc::malformed;
    std::string message;
    // A JSON pointer into the command ("/record/industry_codes/0"), or empty
    // when the rejection is about the command as a whole.
    std::string field;

    friend bool operator==(const rejection&, const rejection&) = default;
};

inline rejection reject(errc code, std::string message, std::string field = {}) {
    return rejection{code, std::move(message), std::move(field)};
}

}  // namespace regledger

template <>
struct std::is_error_code_enum<regledger::errc> : std::true_type {};
