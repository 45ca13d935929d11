#include <doctest/doctest.h>

#include "engine/sha256.h"
#include "engine/time.h"

#include <tuple>

#include <fmt/format.h>

using namespace regledger;

TEST_CASE("calendar_date: parse, format, weekday and years") {
    const auto d = calendar_date::parse("2026-09-30");
    REQUIRE(d);
    CHECK(d->to_string() == "2026-09-30");
    CHECK(d->iso_weekday() == 3);  // a Wednesday
    CHECK(calendar_date::parse("2026-02-29") == std::nullopt);
    CHECK(calendar_date::parse("2026-9-30") == std::nullopt);
    CHECK(calendar_date::parse("2026-09-30x") == std::nullopt);
    CHECK(calendar_date::from_ymd(2028, 2, 29).plus_years(3) == calendar_date::from_ymd(2031, 2, 28));
    CHECK(calendar_date::from_ymd(2024, 2, 29).plus_years(4) == calendar_date::from_ymd(2028, 2, 29));
    CHECK(calendar_date::from_ymd(1970, 1, 1).days_since_epoch() == 0);
    CHECK(calendar_date::from_ymd(1969, 12, 31).to_string() == "1969-12-31");
}

TEST_CASE("instant: RFC 3339 in and out, Asia/Shanghai dates") {
    const auto t = instant::parse("2026-10-11T00:00:00+08:00");
    REQUIRE(t);
    CHECK(t->to_string() == "2026-10-11T00:00:00+08:00");
    CHECK(t->shanghai_date() == calendar_date::from_ymd(2026, 10, 11));
    CHECK(*t == instant::start_of_day(calendar_date::from_ymd(2026, 10, 11)));
    CHECK(instant::parse("2026-10-10T16:00:00Z") == t);
    CHECK(t->plus_us(-1).shanghai_date() == calendar_date::from_ymd(2026, 10, 10));
    CHECK(instant::parse("2026-10-10T16:00:00.25Z")->to_string() == "2026-10-11T00:00:00.250000+08:00");
    CHECK(instant::parse("2026-10-10T16:00:00") == std::nullopt);
    CHECK(instant::parse("2026-10-10T24:00:00Z") == std::nullopt);
    CHECK(instant::parse("2026-10-10T16:00:00.1234567Z") == std::nullopt);
    CHECK(instant::parse("2026-10-10 16:00:00Z") == std::nullopt);
}

TEST_CASE("sha256: FIPS 180-4 test vectors") {
    CHECK(to_hex(sha256::of("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(to_hex(sha256::of("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(to_hex(sha256::of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    sha256 h;
    const std::string chunk(1000, 'a');
    for (int i = 0; i < 1000; ++i) h.update(chunk);
    CHECK(to_hex(h.finish()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    const auto d = digest_from_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
    REQUIRE(d);
    CHECK(*d == sha256::of("abc"));
    CHECK(digest_from_hex("xyz") == std::nullopt);
}

TEST_CASE("calendar_date: to_string is YYYY-MM-DD for every year 0000-9999, and fmt's form outside") {
    // from_ymd() takes years 1-9999; the days around them come from from_days().
    const calendar_date first = calendar_date::from_ymd(1, 1, 1).plus_days(-366);
    const calendar_date last = calendar_date::from_ymd(9999, 12, 31);
    std::size_t checked = 0;
    for (calendar_date d = first; d <= last; d = d.plus_days(7)) {
        const auto [y, m, day] = std::tuple{d.year(), d.month(), d.day()};
        REQUIRE(d.to_string() == fmt::format("{:04}-{:02}-{:02}", y, m, day));
        ++checked;
    }
    CHECK(checked > 500'000);
    CHECK(last.to_string() == "9999-12-31");
    CHECK(first.to_string() == "0000-01-01");
    CHECK(first.plus_days(-1).to_string() == "-001-12-31");
    CHECK(last.plus_days(1).to_string() == "10000-01-01");
}
