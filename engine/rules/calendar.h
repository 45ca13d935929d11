// The working-day calendar (DOMAIN.md "Time"): Monday-Friday, minus public
// holidays (`off`), plus make-up working days (`work`) from the State
// Council's yearly notice.
//
// The calendar is data: cn-holidays.tsv beside this file, compiled into the
// engine; its version is the SHA-256 of that file's bytes, which every event
// that computed a deadline records. A year the file does not cover follows
// Monday-Friday, and results computed from it say `provisional`.
//
// Thread-safety: immutable after construction; share freely.
#pragma once

#include <map>
#include <set>
#include <string_view>

#include "engine/ids.h"
#include "engine/result.h"
#include "engine/time.h"

namespace regledger::rules {

// A date computed from the calendar, and whether any year it touched was
// outside the calendar's coverage.
struct calendar_result {
    calendar_date date;
    bool provisional = false;

    friend bool operator==(const calendar_result&, const calendar_result&) = default;
};

class working_calendar {
public:
    // The calendar shipped with the engine (cn-holidays.tsv, 2025-2026),
    // parsed once on first use.
    static const working_calendar& builtin();
    // Parses the TSV format of cn-holidays.tsv:
    //  - lines starting with '#' are comments; exactly one of them is
    //    "# Covered years: 2025 2026" (four-digit years separated by spaces or
    //    commas, optionally ended by '.' and free text);
    //  - each data line is "YYYY-MM-DD<TAB>off|work<TAB>festival": `off` a
    //    public holiday, `work` a make-up working day, which must be a
    //    Saturday or a Sunday; each date at most once, within a covered year;
    //  - blank lines are ignored, and a '\r' before a line's '\n' is dropped.
    // A malformed line is a rejection (errc::malformed) whose message starts
    // "calendar line N:"; a text without a covered-years line is rejected
    // too. The version is the SHA-256 of `tsv` exactly as given.
    static result<working_calendar, rejection> parse(std::string_view tsv);

    bool covers(int year) const noexcept { return covered_years_.contains(year); }
    bool is_working_day(calendar_date d) const noexcept;

    // "Within n working days of date d" (民法典 第201条): d itself is not
    // counted; the answer is the n-th working day after d (the last day of
    // the period). `provisional` is set when any day after d up to the
    // answer falls in a year the calendar does not cover. REQUIRES: n >= 1.
    calendar_result add_working_days(calendar_date d, int n) const;

    // SHA-256 of the calendar file's bytes.
    const digest& version() const noexcept { return version_; }

private:
    working_calendar() = default;
    std::set<int> covered_years_;
    std::map<calendar_date, bool> exceptions_;  // date -> is a working day
    digest version_;
};

// The instant a deadline date has passed: 00:00 of the next day, Asia/Shanghai.
instant deadline_instant(calendar_date last_day) noexcept;

}  // namespace regledger::rules
