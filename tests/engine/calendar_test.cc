// The working-day calendar and deadlines: DOMAIN.md "Time: calendar, working
// days and deadlines", with the built-in cn-holidays.tsv (2025-2026).
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "engine/rules/calendar.h"
#include "engine/rules/embedded_data.h"
#include "engine/rules/rule_set.h"
#include "engine/sha256.h"

using namespace regledger;
using namespace regledger::rules;

namespace {

calendar_date day(int y, unsigned m, unsigned d) { return calendar_date::from_ymd(y, m, d); }

const working_calendar& cal() { return working_calendar::builtin(); }

std::string read_source_file(const std::string& relative) {
    std::ifstream in(std::string(REGLEDGER_SOURCE_DIR) + "/" + relative, std::ios::binary);
    REQUIRE(in.good());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The rejection of parsing `tsv`; fails the test if it parsed.
rejection parse_error(std::string_view tsv) {
    auto parsed = working_calendar::parse(tsv);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().code == errc::malformed);
    CHECK(parsed.error().field.empty());
    return parsed.error();
}

bool starts_with(const std::string& text, std::string_view prefix) { return text.starts_with(prefix); }

}  // namespace

TEST_CASE("DOMAIN.md worked example (第16条): submitted Wed 2026-09-30, acceptance due Sat 2026-10-10, a make-up day") {
    const rule_set& rules = rule_set::ln_2025();
    const calendar_date submitted = day(2026, 9, 30);
    REQUIRE(submitted.iso_weekday() == 3);

    SUBCASE("国庆节 2026-10-01..07 are not working days; 10-08, 10-09 and the Saturday 10-10 are") {
        for (unsigned d = 1; d <= 7; ++d) CHECK_FALSE(cal().is_working_day(day(2026, 10, d)));
        CHECK(cal().is_working_day(day(2026, 10, 8)));
        CHECK(cal().is_working_day(day(2026, 10, 9)));
        CHECK(day(2026, 10, 10).iso_weekday() == 6);
        CHECK(cal().is_working_day(day(2026, 10, 10)));
    }
    SUBCASE("three working days after the submission date end on 2026-10-10") {
        const calendar_result due = rules.calendar->add_working_days(submitted, rules.acceptance_working_days);
        CHECK(due == calendar_result{day(2026, 10, 10), false});
    }
    SUBCASE("the deadline instant is 2026-10-11T00:00:00+08:00") {
        CHECK(deadline_instant(day(2026, 10, 10)).to_string() == "2026-10-11T00:00:00+08:00");
        CHECK(deadline_instant(day(2026, 10, 10)) == *instant::parse("2026-10-10T16:00:00Z"));
    }
}

TEST_CASE("民法典 第201条: the start date is not counted, the answer is the n-th working day after it") {
    SUBCASE("from a Monday, one working day is the Tuesday") {
        CHECK(cal().add_working_days(day(2026, 3, 2), 1) == calendar_result{day(2026, 3, 3), false});
    }
    SUBCASE("from a Friday, one working day is the next Monday") {
        CHECK(cal().add_working_days(day(2026, 3, 6), 1) == calendar_result{day(2026, 3, 9), false});
    }
    SUBCASE("from a Saturday, the weekend is skipped") {
        CHECK(cal().add_working_days(day(2026, 3, 7), 1) == calendar_result{day(2026, 3, 9), false});
    }
    SUBCASE("from a public holiday, counting starts the next day") {
        CHECK(cal().add_working_days(day(2026, 5, 1), 1) == calendar_result{day(2026, 5, 6), false});
    }
    SUBCASE("a working start date is still not counted") {
        CHECK(cal().add_working_days(day(2026, 10, 9), 1) == calendar_result{day(2026, 10, 10), false});
    }
}

TEST_CASE("第16、17条: deadlines crossing the 2026 Spring Festival (2026-02-15..23 off, 02-14 and 02-28 worked)") {
    const rule_set& rules = rule_set::ln_2025();
    SUBCASE("the holiday as the file lists it") {
        CHECK(cal().is_working_day(day(2026, 2, 14)));  // Saturday, make-up
        for (unsigned d = 15; d <= 23; ++d) CHECK_FALSE(cal().is_working_day(day(2026, 2, d)));
        CHECK(cal().is_working_day(day(2026, 2, 28)));  // Saturday, make-up
    }
    SUBCASE("acceptance: submitted Thu 2026-02-12 → 02-13, 02-14 (Sat), 02-24") {
        const calendar_result due = cal().add_working_days(day(2026, 2, 12), rules.acceptance_working_days);
        CHECK(due == calendar_result{day(2026, 2, 24), false});
        CHECK(deadline_instant(due.date).to_string() == "2026-02-25T00:00:00+08:00");
    }
    SUBCASE("formal review: accepted Mon 2026-02-02 → 20 working days end on Fri 2026-03-06") {
        const calendar_result due = cal().add_working_days(day(2026, 2, 2), rules.review_working_days);
        CHECK(due == calendar_result{day(2026, 3, 6), false});
    }
    SUBCASE("the 2025 Spring Festival too: Fri 2025-01-24 → 01-26 (Sun), 01-27, 02-05") {
        CHECK(cal().add_working_days(day(2025, 1, 24), 3) == calendar_result{day(2025, 2, 5), false});
    }
}

TEST_CASE("第18条: a 10-working-day publicity crossing a make-up weekend day") {
    const rule_set& rules = rule_set::ln_2025();
    SUBCASE("review passed Thu 2026-04-30: 劳动节 05-01..05 off, Sat 05-09 counted → ends Mon 2026-05-18") {
        CHECK(cal().is_working_day(day(2026, 5, 9)));
        const calendar_result end = cal().add_working_days(day(2026, 4, 30), rules.publicity_working_days);
        CHECK(end == calendar_result{day(2026, 5, 18), false});
    }
    SUBCASE("review passed Fri 2026-09-11: Sun 09-20 counted → ends Thu 2026-09-24, before 中秋节") {
        const calendar_result end = cal().add_working_days(day(2026, 9, 11), rules.publicity_working_days);
        CHECK(end == calendar_result{day(2026, 9, 24), false});
    }
}

TEST_CASE("DOMAIN.md Time: holidays spanning a year end (2025-12-31 → 2026 元旦)") {
    SUBCASE("2026-01-01..03 are off and Sun 2026-01-04 is a make-up working day") {
        CHECK(cal().is_working_day(day(2025, 12, 31)));
        for (unsigned d = 1; d <= 3; ++d) CHECK_FALSE(cal().is_working_day(day(2026, 1, d)));
        CHECK(cal().is_working_day(day(2026, 1, 4)));
    }
    SUBCASE("one working day after 2025-12-31 is Sun 2026-01-04; three is Tue 2026-01-06") {
        CHECK(cal().add_working_days(day(2025, 12, 31), 1) == calendar_result{day(2026, 1, 4), false});
        CHECK(cal().add_working_days(day(2025, 12, 31), 3) == calendar_result{day(2026, 1, 6), false});
    }
    SUBCASE("the deadline instant of 2026-12-31 is the first instant of 2027") {
        CHECK(deadline_instant(day(2026, 12, 31)).to_string() == "2027-01-01T00:00:00+08:00");
    }
}

TEST_CASE("DOMAIN.md Time: a year the file does not cover follows Monday-Friday and is provisional") {
    SUBCASE("the file covers 2025 and 2026 only") {
        CHECK(cal().covers(2025));
        CHECK(cal().covers(2026));
        CHECK_FALSE(cal().covers(2024));
        CHECK_FALSE(cal().covers(2027));
    }
    SUBCASE("in 2027, Monday-Friday are working days, holidays or not") {
        CHECK(cal().is_working_day(day(2027, 1, 1)));  // a Friday
        CHECK_FALSE(cal().is_working_day(day(2027, 1, 2)));
        CHECK_FALSE(cal().is_working_day(day(2027, 1, 3)));
        CHECK(cal().is_working_day(day(2027, 1, 4)));
    }
    SUBCASE("a period inside 2027 is provisional: Fri 2027-02-05 + 3 → Wed 2027-02-10") {
        CHECK(cal().add_working_days(day(2027, 2, 5), 3) == calendar_result{day(2027, 2, 10), true});
    }
    SUBCASE("a period starting in 2026 and ending in 2027 is provisional: Tue 2026-12-29 + 5 → 2027-01-05") {
        CHECK(cal().add_working_days(day(2026, 12, 29), 5) == calendar_result{day(2027, 1, 5), true});
    }
    SUBCASE("a period ending on 2026-12-31 is not: only the days after the start date are examined") {
        CHECK(cal().add_working_days(day(2026, 12, 28), 3) == calendar_result{day(2026, 12, 31), false});
    }
    SUBCASE("the start date's own year does not matter") {
        CHECK(cal().add_working_days(day(2024, 12, 31), 1) == calendar_result{day(2025, 1, 2), false});
        CHECK(cal().add_working_days(day(2024, 12, 30), 1) == calendar_result{day(2024, 12, 31), true});
    }
}

TEST_CASE("第13条: N years from date D end on the same month and day, 29 February becomes 28 February") {
    const rule_set& rules = rule_set::ln_2025();
    SUBCASE("a code issued on 2028-02-29 is valid until 2031-02-28, renewed until 2034-02-28") {
        const calendar_date valid_until = day(2028, 2, 29).plus_years(rules.validity_years);
        CHECK(valid_until == day(2031, 2, 28));
        CHECK(valid_until.plus_years(rules.validity_years) == day(2034, 2, 28));
    }
    SUBCASE("into a leap year, 29 February stays") {
        CHECK(day(2024, 2, 29).plus_years(4) == day(2028, 2, 29));
    }
    SUBCASE("calendar days, not working days: a validity end on a holiday is not moved [decision]") {
        CHECK(day(2023, 10, 1).plus_years(rules.validity_years) == day(2026, 10, 1));
        CHECK_FALSE(cal().is_working_day(day(2026, 10, 1)));
    }
}

TEST_CASE("DOMAIN.md Time: the built-in calendar is cn-holidays.tsv, versioned by its SHA-256") {
    const std::string file = read_source_file("engine/rules/cn-holidays.tsv");
    SUBCASE("the compiled-in bytes are the file's bytes") {
        CHECK(embedded::cn_holidays_tsv() == file);
    }
    SUBCASE("version() is the SHA-256 of the file") {
        CHECK(cal().version() == digest(sha256::of(file)));
        CHECK(to_hex(cal().version().value()) == to_hex(sha256::of(file)));
    }
    SUBCASE("parsing the file gives the same working days as the built-in calendar") {
        auto parsed = working_calendar::parse(file);
        REQUIRE(parsed.has_value());
        for (calendar_date d = day(2024, 12, 1); d <= day(2027, 1, 31); d = d.plus_days(1)) {
            CHECK(parsed.value().is_working_day(d) == cal().is_working_day(d));
        }
    }
    SUBCASE("2025 and 2026 each have 248 working days (261 weekdays − 13 statutory holidays)") {
        for (int year : {2025, 2026}) {
            int working = 0;
            for (calendar_date d = day(year, 1, 1); d.year() == year; d = d.plus_days(1)) {
                working += cal().is_working_day(d) ? 1 : 0;
            }
            CHECK(working == 248);
        }
    }
}

TEST_CASE("Calendar data: a well-formed file parses (blank lines, CRLF and prose after the years are fine)") {
    const std::string text =
        "# A test calendar.\r\n"
        "# Covered years: 2030, 2031. Anything else follows Monday-Friday.\r\n"
        "\n"
        "2030-01-01\toff\t元旦\r\n"
        "2030-01-05\twork\t元旦\n"
        "2031-01-01\toff\t元旦";
    auto parsed = working_calendar::parse(text);
    REQUIRE(parsed.has_value());
    const working_calendar& c = parsed.value();
    CHECK(c.covers(2030));
    CHECK(c.covers(2031));
    CHECK_FALSE(c.covers(2029));
    CHECK_FALSE(c.is_working_day(day(2030, 1, 1)));  // a Tuesday, off
    CHECK(c.is_working_day(day(2030, 1, 5)));        // a Saturday, worked
    CHECK_FALSE(c.is_working_day(day(2030, 1, 6)));  // a Sunday
    CHECK_FALSE(c.is_working_day(day(2031, 1, 1)));
    CHECK(c.version() == digest(sha256::of(text)));
    CHECK(c.add_working_days(day(2029, 12, 31), 1) == calendar_result{day(2030, 1, 2), false});

    SUBCASE("a calendar with covered years and no exceptions is Monday-Friday, not provisional") {
        auto plain = working_calendar::parse("# Covered years: 2030\n");
        REQUIRE(plain.has_value());
        CHECK(plain.value().add_working_days(day(2030, 1, 4), 1) == calendar_result{day(2030, 1, 7), false});
    }
}

TEST_CASE("Calendar data: a malformed line is rejected, naming its line") {
    SUBCASE("an impossible date") {
        CHECK(starts_with(parse_error("# Covered years: 2026\n2026-02-30\toff\tx\n").message, "calendar line 2:"));
    }
    SUBCASE("a date not in YYYY-MM-DD form") {
        CHECK(starts_with(parse_error("# Covered years: 2026\n2026-2-3\toff\tx\n").message, "calendar line 2:"));
        CHECK(starts_with(parse_error("# Covered years: 2026\n 2026-02-03\toff\tx\n").message, "calendar line 2:"));
    }
    SUBCASE("a kind other than off or work") {
        CHECK(starts_with(parse_error("# Covered years: 2026\n2026-10-01\tof\tx\n").message, "calendar line 2:"));
        CHECK(starts_with(parse_error("# Covered years: 2026\n2026-10-01\tOFF\tx\n").message, "calendar line 2:"));
    }
    SUBCASE("too few or too many fields") {
        CHECK(starts_with(parse_error("# Covered years: 2026\n2026-10-01\toff\n").message, "calendar line 2:"));
        CHECK(starts_with(parse_error("# Covered years: 2026\n2026-10-01 off x\n").message, "calendar line 2:"));
        CHECK(starts_with(parse_error("# Covered years: 2026\n2026-10-01\toff\tx\ty\n").message, "calendar line 2:"));
    }
    SUBCASE("a missing festival") {
        CHECK(starts_with(parse_error("# Covered years: 2026\n2026-10-01\toff\t\n").message, "calendar line 2:"));
    }
    SUBCASE("a make-up working day on a weekday") {
        const rejection r = parse_error("# Covered years: 2026\n\n2026-10-08\twork\tx\n");
        CHECK(starts_with(r.message, "calendar line 3:"));
        CHECK(r.message.find("2026-10-08") != std::string::npos);
    }
    SUBCASE("a date listed twice") {
        const rejection r = parse_error("# Covered years: 2026\n2026-10-01\toff\tx\n2026-10-01\toff\tx\n");
        CHECK(starts_with(r.message, "calendar line 3:"));
        CHECK(r.message.find("line 2") != std::string::npos);
    }
    SUBCASE("a date outside the covered years") {
        CHECK(starts_with(parse_error("# Covered years: 2026\n2025-10-01\toff\tx\n").message, "calendar line 2:"));
    }
    SUBCASE("covered years that are not four-digit years") {
        CHECK(starts_with(parse_error("# Covered years: 26\n").message, "calendar line 1:"));
        CHECK(starts_with(parse_error("# Covered years:\n").message, "calendar line 1:"));
        CHECK(starts_with(parse_error("# Covered years: 2025-2026\n").message, "calendar line 1:"));
        CHECK(starts_with(parse_error("# Covered years: 0000\n").message, "calendar line 1:"));
        CHECK(starts_with(parse_error("# Covered years: 20255\n").message, "calendar line 1:"));
    }
    SUBCASE("a second covered-years line") {
        const rejection r = parse_error("# Covered years: 2026\n# x\n# Covered years: 2027\n");
        CHECK(starts_with(r.message, "calendar line 3:"));
    }
    SUBCASE("no covered-years line at all") {
        CHECK(starts_with(parse_error("2026-10-01\toff\tx\n").message, "calendar:"));
        CHECK(starts_with(parse_error("").message, "calendar:"));
    }
}
