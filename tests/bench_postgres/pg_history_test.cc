// The PostgreSQL baseline's history (bench/pg_target.h) against the test
// suite's server: the audit rows that compare_bench's rebuild figure loads
// with COPY from the workload's recorded events are, row for row, the ones
// the baseline writes when it runs the same commands.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "bench/driver.h"
#include "bench/pg_target.h"
#include "bench/workload.h"

using namespace regledger;

namespace {

std::string test_conninfo() {
    const char* env = std::getenv("REGLEDGER_PG_CONNINFO");
    REQUIRE_MESSAGE(env != nullptr, "REGLEDGER_PG_CONNINFO names the tests' PostgreSQL server (scripts/test sets it)");
    return env;
}

bench::workload_options small_workload() {
    bench::workload_options wo;
    wo.registrations = 40;
    wo.intake_working_days = 5;
    return wo;
}

}  // namespace

TEST_CASE("PostgreSQL baseline: the history loaded with COPY is the one the commands write") {
    const std::string conninfo = test_conninfo();

    // The whole workload through the baseline's commands, one at a time in
    // tick order (with more clients, two codes issued in one tick may be
    // numbered the other way round).
    bench::pg_reset(conninfo);
    bench::workload by_commands(small_workload());
    bench::feed_cursor cursor(by_commands);
    bench::run_report r;
    {
        auto t = bench::make_pg_target(conninfo, false);
        bench::driver d(cursor, *t, 1);
        r = d.run(bench::run_limits{});
    }
    REQUIRE(r.workload_over);
    REQUIRE(r.rejected == 0);
    REQUIRE(r.applied == r.commands);
    const std::vector<std::string> written = bench::pg_history(conninfo);

    // The same workload's recorded events, loaded.
    bench::pg_reset(conninfo);
    bench::workload_options wo = small_workload();
    wo.record_events = true;
    bench::workload recorded(wo);
    std::vector<bench::tick> ticks;
    std::uint64_t events = 0;
    while (std::optional<bench::tick> t = recorded.next_tick()) {
        CHECK(t->recorded.size() == t->events);
        events += t->recorded.size();
        ticks.push_back(std::move(*t));
    }
    // Half now and half in a second call, as compare_bench loads in batches.
    const std::vector<bench::tick> first(ticks.begin(), ticks.begin() + static_cast<std::ptrdiff_t>(ticks.size() / 2));
    const std::vector<bench::tick> second(ticks.begin() + static_cast<std::ptrdiff_t>(ticks.size() / 2), ticks.end());
    bench::pg_append_history(conninfo, first);
    bench::pg_append_history(conninfo, second);
    const std::vector<std::string> loaded = bench::pg_history(conninfo);

    REQUIRE(written.size() == r.events);
    REQUIRE(loaded.size() == events);
    CHECK(written.size() > 200);
    const auto [w, l] = std::mismatch(written.begin(), written.end(), loaded.begin(), loaded.end());
    if (w != written.end() || l != loaded.end()) {
        FAIL("first difference:\n  written: " << (w != written.end() ? *w : "(none)")
                                              << "\n  loaded:  " << (l != loaded.end() ? *l : "(none)"));
    }

    // And the rebuild reads it back into the state tables.
    const bench::pg_rebuild_report rebuilt = bench::pg_rebuild(conninfo);
    CHECK(rebuilt.events == events);
    CHECK(rebuilt.registrations == 40);
}
