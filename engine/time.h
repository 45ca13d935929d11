// Time in the ledger: calendar dates and instants.
//
// calendar_date is a day in Asia/Shanghai (UTC+08:00, no daylight saving), the
// zone every rule of the domain is written in. instant is a point in time,
// microseconds since 1970-01-01T00:00:00Z. The engine never reads a clock: an
// instant always arrives as an argument.
//
// Text forms: dates are "YYYY-MM-DD"; instants are RFC 3339 with an offset
// ("2026-10-11T00:00:00+08:00"); formatting always writes +08:00.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace regledger {

// A proleptic Gregorian date, stored as days since 1970-01-01.
class calendar_date {
public:
    calendar_date() = default;

    // REQUIRES: a valid date (see is_valid_ymd).
    static calendar_date from_ymd(int year, unsigned month, unsigned day);
    static calendar_date from_days(std::int32_t days_since_epoch) { return calendar_date(days_since_epoch); }
    static bool is_valid_ymd(int year, unsigned month, unsigned day);
    // "YYYY-MM-DD" exactly; nothing else is accepted.
    static std::optional<calendar_date> parse(std::string_view text);

    std::int32_t days_since_epoch() const noexcept { return days_; }
    int year() const noexcept;
    unsigned month() const noexcept;
    unsigned day() const noexcept;
    // 1 = Monday … 7 = Sunday (ISO 8601).
    unsigned iso_weekday() const noexcept;

    calendar_date plus_days(std::int32_t n) const noexcept { return calendar_date(days_ + n); }
    // Same month and day n years later; 29 February becomes 28 February in a
    // common year (DOMAIN.md "N years from date D").
    calendar_date plus_years(int n) const noexcept;

    std::string to_string() const;

    friend bool operator==(const calendar_date&, const calendar_date&) = default;
    friend auto operator<=>(const calendar_date&, const calendar_date&) = default;

private:
    explicit calendar_date(std::int32_t days) : days_(days) {}
    std::int32_t days_ = 0;
};

bool is_leap_year(int year) noexcept;

// Microseconds since the Unix epoch (UTC).
class instant {
public:
    instant() = default;
    static instant from_unix_us(std::int64_t us) { return instant(us); }
    // RFC 3339: "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"; fractions beyond
    // microseconds are refused rather than silently truncated.
    static std::optional<instant> parse(std::string_view text);
    // 00:00 of the given day in Asia/Shanghai.
    static instant start_of_day(calendar_date day) noexcept;

    std::int64_t unix_us() const noexcept { return us_; }
    // The Asia/Shanghai date this instant falls on.
    calendar_date shanghai_date() const noexcept;
    instant plus_us(std::int64_t us) const noexcept { return instant(us_ + us); }

    // RFC 3339 in +08:00, with microseconds only when they are not zero.
    std::string to_string() const;

    friend bool operator==(const instant&, const instant&) = default;
    friend auto operator<=>(const instant&, const instant&) = default;

private:
    explicit instant(std::int64_t us) : us_(us) {}
    std::int64_t us_ = 0;
};

inline constexpr std::int64_t us_per_second = 1'000'000;
inline constexpr std::int64_t us_per_day = 86'400 * us_per_second;
inline constexpr std::int64_t shanghai_offset_us = 8 * 3600 * us_per_second;

}  // namespace regledger
