// The timers projection when one batch settles a deadline of one application
// and sets the same deadline for the next application of the stream: the
// row's key (due instant, stream, kind) stays, its value (the application)
// changes. The crash rounds reach this only by chance (a rebuild whose replay
// batch boundary falls between two such applications); here it is certain.
#include <future>

#include "projections/keys.h"
#include "tests/projections/ledger_fixture.h"

using namespace regledger;
using namespace regledger::testing;
using kind = projections::command_outcome::kind;

namespace {

// The application each pending review timer of `reg` would mark overdue.
std::vector<application_id> review_timer_applications(projections::read_model& reads, const registration_id& reg) {
    std::vector<application_id> out;
    for (const auto& [key, value] : reads.dump(projections::cf::timers)) {
        const auto cmd = projections::decode_timer_row(key, value);
        REQUIRE(cmd.has_value());
        if (const auto* r = std::get_if<mark_review_overdue>(&*cmd); r && r->registration_id == reg) {
            out.push_back(r->application_id);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("Timers: a review deadline settled for one application and set for the next in one batch names the next") {
    ledger_fixture f;
    f.make_valid("reg-1", "app-1");
    f.advance("2026-03-18T00:00:00+08:00");
    REQUIRE(f.reads().load_registration(registration_id("reg-1")).value().status == registration_status::valid);
    REQUIRE(f.clock().set(at("2026-03-20T09:00:00+08:00")).has_value());
    f.ok(later_application("chg-1", application_kind::change), subject("acct-a"));
    const auto accepted = f.ok(accept_application{application_id("chg-1")}, clerk("LN-SY"));
    REQUIRE(review_timer_applications(f.reads(), registration_id("reg-1")) ==
            std::vector<application_id>{application_id("chg-1")});

    // The same day: chg-1 withdrawn, chg-2 submitted and accepted, so chg-2's
    // review is due on the same day as chg-1's was.
    std::vector<command_envelope> next;
    for (auto [id, issuer, body] : std::vector<std::tuple<std::string, actor, command>>{
             {"withdraw-chg-1", subject("acct-a"), withdraw_application{application_id("chg-1")}},
             {"submit-chg-2", subject("acct-a"), later_application("chg-2", application_kind::change)},
             {"accept-chg-2", clerk("LN-SY"), accept_application{application_id("chg-2")}}}) {
        command_envelope env;
        env.command_id = command_id(id);
        env.issued_by = issuer;
        env.body = body;
        next.push_back(std::move(env));
    }

    SUBCASE("the writer commits the three commands in one batch") {
        projections::writer_options one_batch;
        one_batch.batch_commands_max = next.size();
        one_batch.batch_wait = std::chrono::seconds(60);
        f.reopen(one_batch);
        std::vector<std::future<projections::command_outcome>> outcomes;
        for (auto& env : next) {
            auto done = std::make_shared<std::promise<projections::command_outcome>>();
            outcomes.push_back(done->get_future());
            f.ledger().writes().submit(env, [done](projections::command_outcome o) { done->set_value(std::move(o)); });
        }
        for (auto& o : outcomes) REQUIRE(o.get().result_kind == kind::applied);
        REQUIRE(f.ledger().writes().metrics().last_batch_commands == next.size());
        f.reopen();
    }
    SUBCASE("the three commands one by one, and a rebuild whose replay batch starts after chg-1's acceptance") {
        for (auto& env : next) REQUIRE(f.ledger().writes().execute(env).result_kind == kind::applied);
        REQUIRE(review_timer_applications(f.reads(), registration_id("reg-1")) ==
                std::vector<application_id>{application_id("chg-2")});
        f.close();
        projections::rebuild_options o;
        o.data_dir = f.data_dir();
        o.read_batch_records = static_cast<std::size_t>(accepted.positions.at(0).offset.value()) + 1;
        const auto rebuilt = projections::rebuild(o);
        REQUIRE_MESSAGE(rebuilt.has_value(), (rebuilt ? std::string() : rebuilt.error()));
        f.open();
    }

    CHECK(review_timer_applications(f.reads(), registration_id("reg-1")) ==
          std::vector<application_id>{application_id("chg-2")});
    // When the deadline passes, chg-2 is the application marked overdue.
    f.advance("2026-05-01T00:00:00+08:00");
    const auto reg = f.reads().load_registration(registration_id("reg-1"));
    REQUIRE(reg.has_value());
    const application_state* chg2 = reg.value().find_application(application_id("chg-2"));
    REQUIRE(chg2 != nullptr);
    CHECK(chg2->status == application_status::accepted);
    CHECK(chg2->review_overdue);
}
