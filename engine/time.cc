#include "engine/time.h"

#include <cassert>
#include <charconv>

#include <fmt/format.h>

namespace regledger {
namespace {

// Days from civil and back: H. Hinnant's algorithms for the proleptic
// Gregorian calendar (public domain description, "chrono-Compatible Low-Level
// Date Algorithms").
std::int32_t days_from_civil(int y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int>(doe) - 719468;
}

struct ymd {
    int y;
    unsigned m;
    unsigned d;
};

ymd civil_from_days(std::int32_t z) noexcept {
    z += 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int y = static_cast<int>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2), m, d};
}

unsigned days_in_month(int y, unsigned m) noexcept {
    static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

// Parses exactly `width` decimal digits at text[pos].
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t width) {
    if (pos + width > text.size()) return std::nullopt;
    int value = 0;
    for (std::size_t i = pos; i < pos + width; ++i) {
        const char c = text[i];
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return value;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

}  // namespace

bool is_leap_year(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool calendar_date::is_valid_ymd(int year, unsigned month, unsigned day) {
    return year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 &&
           day <= days_in_month(year, month);
}

calendar_date calendar_date::from_ymd(int year, unsigned month, unsigned day) {
    assert(is_valid_ymd(year, month, day));
    return calendar_date(days_from_civil(year, month, day));
}

std::optional<calendar_date> calendar_date::parse(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
    const auto y = digits(text, 0, 4);
    const auto m = digits(text, 5, 2);
    const auto d = digits(text, 8, 2);
    if (!y || !m || !d) return std::nullopt;
    if (!is_valid_ymd(*y, static_cast<unsigned>(*m), static_cast<unsigned>(*d))) return std::nullopt;
    return from_ymd(*y, static_cast<unsigned>(*m), static_cast<unsigned>(*d));
}

int calendar_date::year() const noexcept { return civil_from_days(days_).y; }
unsigned calendar_date::month() const noexcept { return civil_from_days(days_).m; }
unsigned calendar_date::day() const noexcept { return civil_from_days(days_).d; }

unsigned calendar_date::iso_weekday() const noexcept {
    // 1970-01-01 was a Thursday (4).
    const std::int32_t r = ((days_ % 7) + 7) % 7;
    return static_cast<unsigned>((r + 3) % 7 + 1);
}

calendar_date calendar_date::plus_years(int n) const noexcept {
    const ymd c = civil_from_days(days_);
    const int y = c.y + n;
    const unsigned d = c.m == 2 && c.d == 29 && !is_leap_year(y) ? 28 : c.d;
    return calendar_date(days_from_civil(y, c.m, d));
}

std::string calendar_date::to_string() const {
    const ymd c = civil_from_days(days_);
    if (c.y < 0 || c.y > 9999) return fmt::format("{:04}-{:02}-{:02}", c.y, c.m, c.d);
    // The common case without fmt's formatting machinery: dates are written
    // into every document and key.
    const auto y = static_cast<unsigned>(c.y);
    const auto m = static_cast<unsigned>(c.m);
    const auto d = static_cast<unsigned>(c.d);
    std::string out(10, '-');
    out[0] = static_cast<char>('0' + y / 1000);
    out[1] = static_cast<char>('0' + y / 100 % 10);
    out[2] = static_cast<char>('0' + y / 10 % 10);
    out[3] = static_cast<char>('0' + y % 10);
    out[5] = static_cast<char>('0' + m / 10);
    out[6] = static_cast<char>('0' + m % 10);
    out[8] = static_cast<char>('0' + d / 10);
    out[9] = static_cast<char>('0' + d % 10);
    return out;
}

std::optional<instant> instant::parse(std::string_view text) {
    // YYYY-MM-DDTHH:MM:SS
    if (text.size() < 20) return std::nullopt;
    const auto date = calendar_date::parse(text.substr(0, 10));
    if (!date || (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':') return std::nullopt;
    const auto hh = digits(text, 11, 2);
    const auto mm = digits(text, 14, 2);
    const auto ss = digits(text, 17, 2);
    if (!hh || !mm || !ss || *hh > 23 || *mm > 59 || *ss > 59) return std::nullopt;
    std::size_t pos = 19;
    std::int64_t fraction_us = 0;
    if (text[pos] == '.') {
        ++pos;
        std::size_t n = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (n == 6) return std::nullopt;
            fraction_us = fraction_us * 10 + (text[pos] - '0');
            ++n;
            ++pos;
        }
        if (n == 0) return std::nullopt;
        for (; n < 6; ++n) fraction_us *= 10;
    }
    if (pos >= text.size()) return std::nullopt;
    std::int64_t offset_us = 0;
    if (text[pos] == 'Z' || text[pos] == 'z') {
        ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
        const int sign = text[pos] == '+' ? 1 : -1;
        const auto oh = digits(text, pos + 1, 2);
        const auto om = digits(text, pos + 4, 2);
        if (!oh || !om || pos + 3 >= text.size() || text[pos + 3] != ':' || *oh > 23 || *om > 59) return std::nullopt;
        offset_us = sign * (static_cast<std::int64_t>(*oh) * 3600 + *om * 60) * us_per_second;
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != text.size()) return std::nullopt;
    const std::int64_t local_us = static_cast<std::int64_t>(date->days_since_epoch()) * us_per_day +
                                  (static_cast<std::int64_t>(*hh) * 3600 + *mm * 60 + *ss) * us_per_second +
                                  fraction_us;
    return instant(local_us - offset_us);
}

instant instant::start_of_day(calendar_date day) noexcept {
    return instant(static_cast<std::int64_t>(day.days_since_epoch()) * us_per_day - shanghai_offset_us);
}

calendar_date instant::shanghai_date() const noexcept {
    return calendar_date::from_days(static_cast<std::int32_t>(floor_div(us_ + shanghai_offset_us, us_per_day)));
}

std::string instant::to_string() const {
    const std::int64_t local = us_ + shanghai_offset_us;
    const std::int64_t day = floor_div(local, us_per_day);
    const std::int64_t in_day = local - day * us_per_day;
    const auto date = calendar_date::from_days(static_cast<std::int32_t>(day));
    const std::int64_t secs = in_day / us_per_second;
    const std::int64_t frac = in_day % us_per_second;
    if (frac == 0) {
        return fmt::format("{}T{:02}:{:02}:{:02}+08:00", date.to_string(), secs / 3600, secs / 60 % 60, secs % 60);
    }
    return fmt::format("{}T{:02}:{:02}:{:02}.{:06}+08:00", date.to_string(), secs / 3600, secs / 60 % 60, secs % 60,
                       frac);
}

}  // namespace regledger
