// The deadline scheduler (projections/scheduler.h) with the manual clock, and
// once with the system clock and its own thread.
#include <chrono>
#include <set>
#include <thread>

#include "engine/rules/calendar.h"
#include "events/codec.h"
#include "tests/projections/ledger_fixture.h"

using namespace regledger;
using namespace regledger::testing;
using kind = projections::command_outcome::kind;

namespace {

// A row of the `timers` family, readable: "due instant | stream | kind".
std::set<std::string> timer_rows(projections::read_model& reads) {
    std::set<std::string> out;
    for (const auto& [key, value] : reads.dump(projections::cf::timers)) {
        REQUIRE(key.size() > 8 + 1 + 1 + 1);
        const instant due = instant::from_unix_us(projections::get_i64(key, 0));
        const std::string stream = key.substr(9, key.size() - 9 - 2);
        const auto k = static_cast<timer_kind>(static_cast<std::uint8_t>(key.back()));
        out.insert(fmt::format("{} {} {}", due.to_string(), stream, timer_kind_name(k)));
    }
    return out;
}

std::string row(std::string_view due, std::string_view stream, std::string_view kind_name) {
    return fmt::format("{} {} {}", due, stream, kind_name);
}

submit_application initial_for(std::string reg, std::string app) {
    auto c = initial_application(std::move(app));
    c.registration_id = registration_id(std::move(reg));
    return c;
}

// The event types of a stream, in order.
std::vector<std::string> types_of(projections::read_model& reads, std::string_view reg) {
    std::vector<std::string> out;
    const auto history = reads.history(registration_stream(registration_id(std::string(reg))));
    REQUIRE(history.has_value());
    for (const auto& r : history.value()) out.emplace_back(type_name_of(r.event));
    return out;
}

std::size_t count_of(const std::vector<std::string>& types, std::string_view type) {
    return static_cast<std::size_t>(std::count(types.begin(), types.end(), type));
}

}  // namespace

TEST_CASE("Scheduler: advance returns once everything due has fired and been applied") {
    ledger_fixture f;
    std::vector<command_envelope> submits;
    for (int i = 0; i < 30; ++i) {
        submits.push_back(f.envelope(initial_for(fmt::format("reg-{}", i), fmt::format("app-{}", i)), subject("acct-a")));
    }
    for (const auto& o : f.run_all(std::move(submits))) REQUIRE(o.result_kind == kind::applied);
    // Due at the end of 2026-03-05: nothing yet a microsecond before.
    CHECK(f.advance("2026-03-05T23:59:59.999999+08:00").fired == 0);
    CHECK_FALSE(f.reads().application(application_id("app-0"))->document.at("acceptance_overdue").as_bool());

    const auto report = f.advance("2026-03-06T00:00:00+08:00");
    CHECK(report.fired == 30);
    CHECK(report.applied == 30);
    CHECK(report.unavailable == 0);
    // Visible at once: no waiting for anything after advance() returned.
    for (int i = 0; i < 30; ++i) {
        CAPTURE(i);
        const auto app = f.reads().application(application_id(fmt::format("app-{}", i)));
        REQUIRE(app);
        CHECK(app->document.at("acceptance_overdue").as_bool());
        CHECK(app->document.at("status").as_string() == "submitted");  // a flag, not a state change
        const auto history = f.reads().history(stream_id(fmt::format("reg-reg-{}", i))).value();
        REQUIRE(history.size() == 2);
        CHECK(history[1].envelope.actor.role == role::system);
        CHECK(history[1].envelope.occurred_at == at("2026-03-06T00:00:00+08:00"));
    }
    CHECK(timer_rows(f.reads()).empty());
}

TEST_CASE("Scheduler: one advance over years fires the renewal window and then the validity expiry, in order") {
    ledger_fixture f;
    f.make_valid("reg-1", "app-1");
    f.advance("2026-03-18T09:00:00+08:00");  // reg-1: valid until 2029-03-18
    f.ok(initial_for("reg-2", "app-2"), subject("acct-a"));
    f.ok(accept_application{application_id("app-2")}, clerk("LN-SY"));
    f.ok(pass_review{application_id("app-2")}, clerk("LN-SY"));
    f.advance("2026-04-02T09:00:00+08:00");  // reg-2: valid until 2029-04-02
    REQUIRE(f.reads().registration(registration_id("reg-2"))->document.at("valid_until").as_string() == "2029-04-02");
    CHECK(timer_rows(f.reads()) == std::set<std::string>{
                                       row("2029-01-17T00:00:00+08:00", "reg-reg-1", "renewal_window"),
                                       row("2029-02-01T00:00:00+08:00", "reg-reg-2", "renewal_window"),
                                       row("2029-03-19T00:00:00+08:00", "reg-reg-1", "validity"),
                                       row("2029-04-03T00:00:00+08:00", "reg-reg-2", "validity"),
                                   });
    const auto end_before = f.ledger().log().end(partition_id(0)).value().value();

    const auto report = f.advance("2030-01-01T00:00:00+08:00");
    CHECK(report.fired == 4);
    CHECK(report.applied == 4);
    for (const char* reg : {"reg-1", "reg-2"}) {
        CAPTURE(reg);
        const auto doc = f.reads().registration(registration_id(reg))->document;
        CHECK(doc.at("status").as_string() == "deregistered");
    }
    // In the log, in the order the deadlines fell.
    const auto records = f.ledger().log().read({partition_id(0), log_offset(end_before)}, 100).value();
    std::vector<std::string> fired;
    for (const auto& r : records) {
        const auto rec = events::decode(r.value).value();
        fired.push_back(fmt::format("{} {}", rec.envelope.stream_id.value(), type_name_of(rec.event)));
        CHECK(rec.envelope.occurred_at == at("2030-01-01T00:00:00+08:00"));
    }
    CHECK(fired == std::vector<std::string>{
                       "reg-reg-1 RenewalWindowOpened",
                       "reg-reg-2 RenewalWindowOpened",
                       "reg-reg-1 ValidityExpired",
                       "reg-reg-1 RegistrationDeregistered",
                       "reg-reg-2 ValidityExpired",
                       "reg-reg-2 RegistrationDeregistered",
                   });
    CHECK(timer_rows(f.reads()).empty());
    CHECK(f.advance("2031-01-01T00:00:00+08:00").fired == 0);
}

TEST_CASE("Scheduler: a clock moved backwards is refused, fires nothing and changes nothing") {
    ledger_fixture f;
    f.ok(initial_application(), subject("acct-a"));
    f.advance("2026-03-04T09:00:00+08:00");
    const auto before = f.dump_all();

    const auto moved = f.clock().set(at("2026-03-01T09:00:00+08:00"));
    REQUIRE_FALSE(moved.has_value());
    CHECK(moved.error().code == errc::invalid_state);
    CHECK(f.clock().now() == at("2026-03-04T09:00:00+08:00"));
    CHECK(f.scheduler().fire_due().fired == 0);
    CHECK(f.dump_all() == before);
    // The same instant again is allowed and changes nothing either.
    CHECK(f.advance("2026-03-04T09:00:00+08:00").fired == 0);
    CHECK(f.dump_all() == before);

    // Forward again: the timer fires once, as it would have.
    CHECK(f.advance("2026-03-06T00:00:00+08:00").applied == 1);
    CHECK(count_of(types_of(f.reads(), "reg-1"), "AcceptanceOverdue") == 1);
}

TEST_CASE("Scheduler: firing the same due timers twice applies them once") {
    ledger_fixture f;
    for (int i = 0; i < 3; ++i) f.ok(initial_for(fmt::format("reg-{}", i), fmt::format("app-{}", i)), subject("acct-a"));
    REQUIRE(f.clock().set(at("2026-03-06T09:00:00+08:00")).has_value());

    SUBCASE("one after the other") {
        const auto first = f.scheduler().fire_due();
        const auto second = f.scheduler().fire_due();
        CHECK(first.applied == 3);
        CHECK(second.applied == 0);
    }
    SUBCASE("from two threads at once") {
        projections::fire_report a, b;
        std::thread other([&] { a = f.scheduler().fire_due(); });
        b = f.scheduler().fire_due();
        other.join();
        CHECK(a.applied + b.applied == 3);
    }
    for (int i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(count_of(types_of(f.reads(), fmt::format("reg-{}", i)), "AcceptanceOverdue") == 1);
    }

    // The timeout command again, after the fact: with its own id the first
    // outcome comes back; with any other id decide() finds nothing to do.
    const auto end_before = f.ledger().log().end(partition_id(0)).value();
    const calendar_date due = day("2026-03-05");
    const command timeout = mark_acceptance_overdue{registration_id("reg-0"), application_id("app-0"), due};
    const auto id = timer_command_id(stream_id("reg-reg-0"), timer_kind::acceptance, rules::deadline_instant(due));
    const auto again = f.run(timeout, scheduler(), id.value());
    CHECK(again.result_kind == kind::applied);
    CHECK(again.replayed);
    REQUIRE(again.events.size() == 1);
    CHECK(std::holds_alternative<acceptance_overdue>(again.events[0].event));
    const auto late = f.run(timeout, scheduler(), id.value() + ":late");
    CHECK(late.result_kind == kind::applied);
    CHECK(late.events.empty());
    CHECK(f.ledger().log().end(partition_id(0)).value() == end_before);
}

TEST_CASE("Scheduler: timers that fell due while the ledger was closed fire exactly once after reopening") {
    ledger_fixture f;
    f.make_valid("reg-1", "app-1");  // publicity ends with 2026-03-16
    f.ok(initial_for("reg-2", "app-2"), subject("acct-a"));
    f.close();
    REQUIRE(f.clock().set(at("2026-03-20T09:00:00+08:00")).has_value());
    f.open();
    // Opening applies the log; it fires nothing by itself.
    CHECK(f.reads().registration(registration_id("reg-1"))->document.at("status").as_string() == "pending");

    const auto report = f.scheduler().fire_due();
    CHECK(report.applied == 2);
    CHECK(f.reads().registration(registration_id("reg-1"))->document.at("status").as_string() == "valid");
    CHECK(f.reads().application(application_id("app-2"))->document.at("acceptance_overdue").as_bool());
    f.reopen();
    CHECK(f.scheduler().fire_due().fired == 0);
    CHECK(f.advance("2026-03-21T09:00:00+08:00").fired == 0);
    CHECK(count_of(types_of(f.reads(), "reg-1"), "CodeIssued") == 1);
    CHECK(count_of(types_of(f.reads(), "reg-1"), "PublicityEnded") == 1);
    CHECK(count_of(types_of(f.reads(), "reg-2"), "AcceptanceOverdue") == 1);
}

TEST_CASE("Scheduler: a timer row exists while its deadline is pending and goes when it is settled") {
    ledger_fixture f;
    const auto sy = clerk("LN-SY");
    CHECK(timer_rows(f.reads()).empty());

    f.ok(initial_application(), subject("acct-a"));
    CHECK(timer_rows(f.reads()) == std::set{row("2026-03-06T00:00:00+08:00", "reg-reg-1", "acceptance")});
    // A supplement request stops the acceptance clock; resubmission restarts it (第16条).
    f.ok(request_supplement{application_id("app-1"), {"授权书"}, "请补充"}, sy);
    CHECK(timer_rows(f.reads()).empty());
    REQUIRE(f.clock().set(at("2026-03-04T09:00:00+08:00")).has_value());
    f.ok(resubmit_materials{application_id("app-1"), std::nullopt, materials("授权书.pdf")}, subject("acct-a"));
    CHECK(timer_rows(f.reads()) == std::set{row("2026-03-10T00:00:00+08:00", "reg-reg-1", "acceptance")});

    f.ok(accept_application{application_id("app-1")}, sy);
    const auto review_due = day(std::string(f.reads().application(application_id("app-1"))->document.at("review_due").as_string()));
    CHECK(timer_rows(f.reads()) ==
          std::set{row(rules::deadline_instant(review_due).to_string(), "reg-reg-1", "review")});
    f.ok(pass_review{application_id("app-1")}, sy);
    CHECK(timer_rows(f.reads()) == std::set{row("2026-03-19T00:00:00+08:00", "reg-reg-1", "publicity")});

    f.advance("2026-03-19T09:00:00+08:00");
    CHECK(timer_rows(f.reads()) == std::set{row("2029-01-18T00:00:00+08:00", "reg-reg-1", "renewal_window"),
                                            row("2029-03-20T00:00:00+08:00", "reg-reg-1", "validity")});
    // A change application adds its own row beside the validity's.
    f.ok(later_application("chg-1", application_kind::change), subject("acct-a"));
    CHECK(timer_rows(f.reads()).size() == 3);
    f.ok(withdraw_application{application_id("chg-1")}, subject("acct-a"));
    CHECK(timer_rows(f.reads()).size() == 2);

    // Revoked: nothing pending; annulled: the validity's rows come back.
    f.ok(revoke_registration{registration_id("reg-1"), revocation_grounds::other, "公告"}, sy);
    CHECK(timer_rows(f.reads()).empty());
    f.ok(annul_revocation{registration_id("reg-1"), "撤销依据不足"}, clerk("LN"));
    CHECK(timer_rows(f.reads()).size() == 2);

    f.advance("2029-02-01T09:00:00+08:00");
    CHECK(timer_rows(f.reads()) == std::set{row("2029-03-20T00:00:00+08:00", "reg-reg-1", "validity")});
    // A renewal granted moves both deadlines three years on.
    auto renewal = later_application("ren-1", application_kind::renewal);
    f.ok(renewal, subject("acct-a"));
    f.ok(accept_application{application_id("ren-1")}, sy);
    f.ok(pass_review{application_id("ren-1")}, sy);
    CHECK(timer_rows(f.reads()) == std::set{row("2032-01-19T00:00:00+08:00", "reg-reg-1", "renewal_window"),
                                            row("2032-03-20T00:00:00+08:00", "reg-reg-1", "validity")});
    // Deregistered: nothing left.
    f.ok(later_application("dereg-1", application_kind::deregistration), subject("acct-a"));
    f.ok(accept_application{application_id("dereg-1")}, sy);
    f.ok(pass_review{application_id("dereg-1")}, sy);
    f.advance("2029-03-01T09:00:00+08:00");
    CHECK(f.reads().registration(registration_id("reg-1"))->document.at("status").as_string() == "deregistered");
    CHECK(timer_rows(f.reads()).empty());

    // Scheduler::next_due follows the rows.
    CHECK_FALSE(f.scheduler().next_due());
    f.ok(initial_for("reg-2", "app-2"), subject("acct-a"));
    REQUIRE(f.scheduler().next_due());
    CHECK(f.scheduler().next_due()->to_string() == "2029-03-07T00:00:00+08:00");
}

TEST_CASE("Scheduler: with the system clock its thread fires a timer due in the past without being asked") {
    temp_dir dir;
    const auto institutions = sample_institutions();
    const auto data_dir = dir.path() / "data";
    projections::system_clock system;
    // An application submitted sixty days ago: its acceptance deadline has passed.
    projections::manual_clock earlier(system.now().plus_us(-60 * us_per_day));
    {
        auto l = open_ledger(data_dir, earlier, institutions);
        REQUIRE(l.has_value());
        auto run = [&](const command& c, const actor& who, std::string id) {
            command_envelope env;
            env.command_id = command_id(std::move(id));
            env.issued_by = who;
            env.body = c;
            const auto o = l.value()->writes().execute(env);
            REQUIRE_MESSAGE(o.result_kind == kind::applied, o.error.message);
        };
        run(open_account{account_id("acct-a"), "沈阳市公交集团", std::string(uscc_a), subject_type::public_utility,
                         "210100"},
            anyone(), "c-1");
        run(verify_account{account_id("acct-a")}, clerk("LN-SY"), "c-2");
        run(initial_application(), subject("acct-a"), "c-3");
    }
    auto l = open_ledger(data_dir, system, institutions);
    REQUIRE(l.has_value());
    auto& ledger = *l.value();
    projections::scheduler_options options;
    options.poll_interval = std::chrono::milliseconds(20);
    projections::scheduler thread(ledger.writes(), ledger.reads(), system, options);
    REQUIRE(thread.next_due());
    CHECK(*thread.next_due() < system.now());

    auto overdue = [&] {
        return ledger.reads().application(application_id("app-1"))->document.at("acceptance_overdue").as_bool();
    };
    CHECK_FALSE(overdue());
    thread.start();
    // Bounded wait on the condition itself.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!overdue() && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    thread.stop();
    REQUIRE(overdue());
    const auto history = ledger.reads().history(stream_id("reg-reg-1")).value();
    REQUIRE(history.size() == 2);
    CHECK(std::holds_alternative<acceptance_overdue>(history[1].event));
    CHECK(history[1].envelope.actor.role == role::system);
    CHECK_FALSE(thread.next_due());
}

TEST_CASE("Scheduler: with the writer stopped, due timers are reported unavailable and fire later") {
    ledger_fixture f;
    f.ok(initial_application(), subject("acct-a"));
    const auto rows = timer_rows(f.reads());
    REQUIRE(rows.size() == 1);
    f.ledger().writes().stop();
    const auto report = f.advance("2026-03-06T09:00:00+08:00");
    CHECK(report.fired == 1);
    CHECK(report.unavailable == 1);
    CHECK(report.applied == 0);
    CHECK(timer_rows(f.reads()) == rows);
    f.reopen();
    CHECK(f.scheduler().fire_due().applied == 1);
    CHECK(timer_rows(f.reads()).empty());
    CHECK(count_of(types_of(f.reads(), "reg-1"), "AcceptanceOverdue") == 1);
}
