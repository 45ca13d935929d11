// The writer (projections/writer.h): concurrency, group commit with the
// batch's own events laid over the stored state, idempotency inside a batch,
// back-pressure, and that a refused command leaves every read model as it was.
#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "events/codec.h"
#include "events/log_verify.h"
#include "tests/projections/ledger_fixture.h"

using namespace regledger;
using namespace regledger::testing;
using kind = projections::command_outcome::kind;

namespace {

// Options whose batches close only when batch_commands_max commands are
// queued (or the writer stops): a test decides exactly what shares a batch.
projections::writer_options batches_of(std::size_t commands) {
    projections::writer_options o;
    o.batch_commands_max = commands;
    o.batch_wait = std::chrono::minutes(10);
    return o;
}

std::vector<std::uint64_t> versions_of(const std::vector<event_record>& history) {
    std::vector<std::uint64_t> out;
    for (const auto& r : history) out.push_back(r.envelope.version.value());
    return out;
}

std::vector<std::uint64_t> one_to(std::uint64_t n) {
    std::vector<std::uint64_t> out;
    for (std::uint64_t v = 1; v <= n; ++v) out.push_back(v);
    return out;
}

// A random command on registration `reg` (its applications are app-<reg>-k).
command_envelope random_command(std::mt19937& rng, int reg, const std::string& id) {
    const std::string reg_name = fmt::format("c-{}", reg);
    const application_id app(fmt::format("app-{}-{}", reg, rng() % 3));
    const auto sy = clerk("LN-SY");
    const auto a = subject("acct-a");
    command_envelope env;
    env.command_id = command_id(id);
    switch (rng() % 8) {
        case 0:
        case 1: {
            auto c = initial_application(app.value());
            c.registration_id = registration_id(reg_name);
            env.body = c;
            env.issued_by = a;
            break;
        }
        case 2: env.body = accept_application{app}; env.issued_by = sy; break;
        case 3: env.body = request_supplement{app, {"材料清单"}, "请补正"}; env.issued_by = sy; break;
        case 4: env.body = resubmit_materials{app, std::nullopt, materials("补正材料.pdf")}; env.issued_by = a; break;
        case 5: env.body = reject_application{app, "不符合要求"}; env.issued_by = sy; break;
        case 6: env.body = withdraw_application{app}; env.issued_by = a; break;
        default: env.body = pass_review{app}; env.issued_by = sy; break;
    }
    return env;
}

}  // namespace

TEST_CASE("Writer: concurrent submitters leave every stream contiguous and every hash chain intact") {
    ledger_fixture f;
    constexpr int threads = 8;
    constexpr int per_thread = 200;
    constexpr int registrations = 50;
    const auto log_end_before = f.ledger().log().end(partition_id(0)).value().value();

    std::vector<std::vector<projections::command_outcome>> outcomes(threads);
    {
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&f, &outcomes, t] {
                std::mt19937 rng(1000 + t);
                for (int j = 0; j < per_thread; ++j) {
                    const int reg = static_cast<int>(rng() % registrations);
                    outcomes[t].push_back(
                        f.ledger().writes().execute(random_command(rng, reg, fmt::format("t{}-{}", t, j))));
                }
            });
        }
        for (auto& w : workers) w.join();
    }

    // Every command got an answer of its own; none was lost or doubled.
    std::map<stream_id, std::vector<std::pair<std::uint64_t, std::uint64_t>>> ranges;
    std::map<std::int64_t, event_record> acknowledged;
    std::size_t applied = 0;
    std::size_t appended = 0;
    for (const auto& per : outcomes) {
        REQUIRE(per.size() == per_thread);
        for (const auto& o : per) {
            CHECK(o.result_kind != kind::unavailable);
            CHECK_FALSE(o.replayed);
            if (o.result_kind != kind::applied) continue;
            ++applied;
            REQUIRE(o.events.size() == o.positions.size());
            if (o.events.empty()) continue;
            appended += o.events.size();
            const std::uint64_t from = o.version.value() + 1 - o.events.size();
            ranges[o.stream].emplace_back(from, o.version.value());
            for (std::size_t i = 0; i < o.events.size(); ++i) {
                CHECK(o.events[i].envelope.version.value() == from + i);
                CHECK(acknowledged.emplace(o.positions[i].offset.value(), o.events[i]).second);
            }
        }
    }
    CHECK(applied > 100);  // the random walk does get somewhere

    // The log verifies, and holds exactly the acknowledged events at the
    // positions their commands were told.
    const auto summary = events::verify_log(f.ledger().log(), {});
    REQUIRE_MESSAGE(summary.has_value(), (summary ? std::string() : summary.error().what));
    const auto log_end = f.ledger().log().end(partition_id(0)).value().value();
    CHECK(static_cast<std::size_t>(log_end - log_end_before) == appended);
    const auto records = f.ledger().log().read({partition_id(0), log_offset(log_end_before)}, appended + 1);
    REQUIRE(records.has_value());
    REQUIRE(records.value().size() == appended);
    for (const auto& r : records.value()) {
        const auto decoded = events::decode(r.value);
        REQUIRE(decoded.has_value());
        const auto it = acknowledged.find(r.position.offset.value());
        REQUIRE(it != acknowledged.end());
        CHECK(decoded.value() == it->second);
    }

    // Per stream: versions 1..n in the history, the commands' ranges tile
    // them exactly, and the head and the document agree.
    for (int reg = 0; reg < registrations; ++reg) {
        const registration_id id(fmt::format("c-{}", reg));
        const stream_id stream = registration_stream(id);
        CAPTURE(stream.value());
        const auto history = f.reads().history(stream);
        REQUIRE(history.has_value());
        const auto n = history.value().size();
        CHECK(versions_of(history.value()) == one_to(n));
        auto tiles = ranges[stream];
        std::sort(tiles.begin(), tiles.end());
        std::uint64_t next = 1;
        for (const auto& [from, to] : tiles) {
            CHECK(from == next);
            next = to + 1;
        }
        CHECK(next == n + 1);
        if (n == 0) {
            CHECK_FALSE(f.reads().registration(id));
            continue;
        }
        const auto head = f.reads().head_of(stream);
        REQUIRE(head);
        CHECK(head->version.value() == n);
        CHECK(head->hash == history.value().back().envelope.hash);
        const auto doc = f.reads().registration(id);
        REQUIRE(doc);
        CHECK(doc->document.at("version").to_number<std::uint64_t>() == n);
        CHECK(doc->position.offset.value() == log_end);
    }
}

TEST_CASE("Writer: a submit and an accept of the same new application in one batch both apply") {
    ledger_fixture f;
    f.reopen(batches_of(2));
    const auto batches_before = f.ledger().writes().metrics().batches;
    const auto outcomes = f.run_all({f.envelope(initial_application(), subject("acct-a")),
                                     f.envelope(accept_application{application_id("app-1")}, clerk("LN-SY"))});
    const auto metrics = f.ledger().writes().metrics();
    CHECK(metrics.batches == batches_before + 1);
    CHECK(metrics.last_batch_commands == 2);

    const auto& submitted = outcomes[0];
    const auto& accepted = outcomes[1];
    REQUIRE_MESSAGE(submitted.result_kind == kind::applied, submitted.error.message);
    REQUIRE_MESSAGE(accepted.result_kind == kind::applied, accepted.error.message);
    CHECK(submitted.version == stream_version(1));
    CHECK(accepted.version == stream_version(2));
    REQUIRE(accepted.events.size() == 1);
    CHECK(std::holds_alternative<application_accepted>(accepted.events[0].event));
    CHECK(accepted.events[0].envelope.prev_hash == submitted.events[0].envelope.hash);
    CHECK(accepted.positions[0].offset.value() == submitted.positions[0].offset.value() + 1);

    const auto app = f.reads().application(application_id("app-1"));
    REQUIRE(app);
    CHECK(app->document.at("status").as_string() == "accepted");
    CHECK(f.reads().registration(registration_id("reg-1"))->document.at("version").to_number<int>() == 2);
    CHECK(events::verify_log(f.ledger().log(), {}).has_value());
}

TEST_CASE("Writer: an account opened and verified in a batch may submit in the same batch") {
    ledger_fixture f;
    f.reopen(batches_of(3));
    auto c = initial_application("app-c");
    c.registration_id = registration_id("reg-c");
    c.applicants = {{"北京数据运营公司", std::string(uscc_b), applicant_role::lead}};
    const auto outcomes = f.run_all(
        {f.envelope(open_account{account_id("acct-c"), "北京数据运营公司", std::string(uscc_b),
                                 subject_type::authorized_operator, "210100"},
                    anyone()),
         f.envelope(verify_account{account_id("acct-c")}, clerk("LN-SY")), f.envelope(c, subject("acct-c"))});
    CHECK(f.ledger().writes().metrics().last_batch_commands == 3);
    for (const auto& o : outcomes) CHECK_MESSAGE(o.result_kind == kind::applied, o.error.message);
    CHECK(f.reads().account(account_id("acct-c"))->document.at("verified").as_bool());
    CHECK(f.reads().registration(registration_id("reg-c"))->document.at("status").as_string() == "pending");
}

TEST_CASE("Writer: the same command id twice in one batch applies once and replays the outcome") {
    ledger_fixture f;
    f.reopen(batches_of(2));
    const auto end_before = f.ledger().log().end(partition_id(0)).value();

    SUBCASE("applied") {
        const auto env = f.envelope(initial_application(), subject("acct-a"), "dup-1");
        const auto outcomes = f.run_all({env, env});
        CHECK(f.ledger().writes().metrics().last_batch_commands == 2);
        REQUIRE(outcomes[0].result_kind == kind::applied);
        REQUIRE(outcomes[1].result_kind == kind::applied);
        CHECK_FALSE(outcomes[0].replayed);
        CHECK(outcomes[1].replayed);
        CHECK(outcomes[1].version == outcomes[0].version);
        CHECK(outcomes[1].events == outcomes[0].events);
        CHECK(outcomes[1].positions == outcomes[0].positions);
        CHECK(f.ledger().log().end(partition_id(0)).value().value() == end_before.value() + 1);
        CHECK(f.reads().history(stream_id("reg-reg-1")).value().size() == 1);
        const auto stored = f.reads().outcome_of(command_id("dup-1"));
        REQUIRE(stored);
        CHECK(stored->ok);
        CHECK(stored->from_version == 1);
        CHECK(stored->to_version == 1);
    }
    SUBCASE("rejected") {
        const auto env = f.envelope(accept_application{application_id("app-404")}, clerk("LN-SY"), "dup-2");
        const auto outcomes = f.run_all({env, env});
        REQUIRE(outcomes[0].result_kind == kind::rejected);
        REQUIRE(outcomes[1].result_kind == kind::rejected);
        CHECK_FALSE(outcomes[0].replayed);
        CHECK(outcomes[1].replayed);
        CHECK(outcomes[1].error == outcomes[0].error);
        CHECK(f.ledger().log().end(partition_id(0)).value() == end_before);
    }
}

TEST_CASE("Writer: a full queue answers UNAVAILABLE at once and writes nothing for it") {
    ledger_fixture f;
    auto options = batches_of(1000);
    options.queue_commands_max = 1;
    f.reopen(options);
    const auto end_before = f.ledger().log().end(partition_id(0)).value();

    // The first command waits in the queue for its batch to close.
    std::promise<projections::command_outcome> first;
    auto first_done = first.get_future();
    f.ledger().writes().submit(f.envelope(initial_application(), subject("acct-a"), "queued-1"),
                               [&first](projections::command_outcome o) { first.set_value(std::move(o)); });

    bool answered = false;
    std::thread::id answered_on;
    projections::command_outcome second;
    f.ledger().writes().submit(f.envelope(accept_application{application_id("app-1")}, clerk("LN-SY"), "refused-1"),
                               [&](projections::command_outcome o) {
                                   answered = true;
                                   answered_on = std::this_thread::get_id();
                                   second = std::move(o);
                               });
    // Answered before submit() returned, on the caller's thread.
    REQUIRE(answered);
    CHECK(answered_on == std::this_thread::get_id());
    CHECK(second.result_kind == kind::unavailable);
    CHECK(second.error.code == errc::unavailable);
    CHECK(second.error.message.find("full") != std::string::npos);
    CHECK(f.ledger().writes().metrics().queue_depth == 1);

    // Stopping the writer finishes what was queued.
    f.ledger().close();
    const auto o = first_done.get();
    CHECK(o.result_kind == kind::applied);
    CHECK(f.ledger().log().end(partition_id(0)).value().value() == end_before.value() + 1);
    CHECK_FALSE(f.reads().outcome_of(command_id("refused-1")));

    // The refused command was not remembered: a retry applies it.
    f.reopen();
    const auto retried = f.run(accept_application{application_id("app-1")}, clerk("LN-SY"), "refused-1");
    CHECK(retried.result_kind == kind::applied);
    CHECK_FALSE(retried.replayed);
}

TEST_CASE("Writer: after stop every submit is UNAVAILABLE and nothing is written") {
    ledger_fixture f;
    f.ok(initial_application(), subject("acct-a"));
    const auto before = f.dump_all();
    f.ledger().writes().stop();
    const auto o = f.run(accept_application{application_id("app-1")}, clerk("LN-SY"), "late-1");
    CHECK(o.result_kind == kind::unavailable);
    CHECK(o.error.code == errc::unavailable);
    CHECK(o.error.message.find("not running") != std::string::npos);
    CHECK_FALSE(o.replayed);
    CHECK(f.dump_all() == before);
    // Stopping twice is harmless.
    f.ledger().writes().stop();
    CHECK(f.run(accept_application{application_id("app-1")}, clerk("LN-SY")).result_kind == kind::unavailable);
}

TEST_CASE("Writer: refused commands change no read model, only the remembered outcome") {
    ledger_fixture f;
    // reg-1 valid with a change open, reg-2 valid, reg-3 submitted.
    f.make_valid("reg-1", "app-1");
    f.make_valid("reg-2", "app-2");
    f.advance("2026-03-18T00:00:00+08:00");
    f.ok(later_application("chg-1", application_kind::change), subject("acct-a"));
    auto third = initial_application("app-3");
    third.registration_id = registration_id("reg-3");
    f.ok(third, subject("acct-a"));
    auto renewal = later_application("ren-2", application_kind::renewal);
    renewal.registration_id = registration_id("reg-2");
    const auto before = f.dump_all();
    const auto end_before = f.ledger().log().end(partition_id(0)).value();

    struct refusal {
        command body;
        actor issuer;
        errc code;
        std::optional<stream_version> expected = std::nullopt;
    };
    auto invalid_record = initial_application("app-9");
    invalid_record.registration_id = registration_id("reg-9");
    invalid_record.record->industry_codes = {"999"};
    const std::vector<refusal> refusals{
        {accept_application{application_id("app-404")}, clerk("LN-SY"), errc::not_found},
        {accept_application{application_id("app-3")}, clerk("LN-DL"), errc::forbidden},
        {accept_application{application_id("app-3")}, subject("acct-a"), errc::forbidden},
        {pass_review{application_id("app-3")}, clerk("LN-SY"), errc::invalid_state},
        {accept_application{application_id("app-3")}, clerk("LN-SY"), errc::conflict, stream_version(9)},
        {invalid_record, subject("acct-a"), errc::validation},
        {initial_application("app-10"), subject("acct-a"), errc::conflict},  // reg-1 has chg-1 open
        {later_application("ren-1", application_kind::renewal), subject("acct-a"), errc::conflict},
        {renewal, subject("acct-a"), errc::renewal_window_closed},
        {revoke_registration{registration_id("reg-3"), revocation_grounds::other, "公告"}, clerk("LN-SY"),
         errc::invalid_state},
        {annul_revocation{registration_id("reg-1"), "x"}, clerk("LN-SY"), errc::forbidden},
        {file_objection{application_id("app-3"), objection_id("o-1"), {"张三", "110101199003074514"}, "异议",
                        {{"e.pdf", std::string(64, 'e')}}},
         anyone(), errc::invalid_state},
        {withdraw_application{application_id("app-3")}, subject("acct-b"), errc::forbidden},
    };
    std::set<std::string> remembered;
    for (std::size_t i = 0; i < refusals.size(); ++i) {
        CAPTURE(i);
        auto env = f.envelope(refusals[i].body, refusals[i].issuer, fmt::format("refused-{}", i));
        env.expected_version = refusals[i].expected;
        const auto o = f.ledger().writes().execute(env);
        REQUIRE(o.result_kind == kind::rejected);
        CHECK_MESSAGE(o.error.code == refusals[i].code, api_code(o.error.code), ": ", o.error.message);
        remembered.insert(env.command_id.value());
    }
    // A command id the API would never accept is refused and not remembered.
    const auto bad_id = f.run(accept_application{application_id("app-3")}, clerk("LN-SY"), "bad id!");
    CHECK(bad_id.result_kind == kind::rejected);
    CHECK(bad_id.error.field == "/command_id");

    const auto after = f.dump_all();
    CHECK(f.ledger().log().end(partition_id(0)).value() == end_before);
    for (const auto& [family, rows] : before) {
        CAPTURE(family);
        if (family == projections::cf::commands) continue;
        CHECK(after.at(family) == rows);
    }
    // The commands family gained exactly the refused ids, as refusals.
    std::set<std::string> gained;
    const auto& old_commands = before.at(std::string(projections::cf::commands));
    for (const auto& [id, value] : after.at(std::string(projections::cf::commands))) {
        if (std::find_if(old_commands.begin(), old_commands.end(), [&](const auto& r) { return r.first == id; }) !=
            old_commands.end()) {
            continue;
        }
        gained.insert(id);
        const auto outcome = projections::decode_outcome(value);
        REQUIRE(outcome);
        CHECK_FALSE(outcome->ok);
    }
    CHECK(gained == remembered);
}

TEST_CASE("Writer: an unknown application is NOT_FOUND, but the role is checked first (FORBIDDEN)") {
    ledger_fixture f;
    const application_id missing("app-404");
    const auto objection = file_objection{missing, objection_id("o-1"), {"张三", "110101199003074514"}, "异议",
                                          {{"e.pdf", std::string(64, 'e')}}};
    SUBCASE("a role that may do it learns the application does not exist") {
        CHECK(f.run(accept_application{missing}, clerk("LN-SY")).error.code == errc::not_found);
        CHECK(f.run(pass_review{missing}, clerk("LN-DL")).error.code == errc::not_found);
        CHECK(f.run(withdraw_application{missing}, subject("acct-a")).error.code == errc::not_found);
        CHECK(f.run(objection, anyone()).error.code == errc::not_found);
        CHECK(f.run(revoke_registration{registration_id("reg-404"), revocation_grounds::other, "公告"}, clerk("LN-SY"))
                  .error.code == errc::not_found);
    }
    SUBCASE("a role that may not do it is FORBIDDEN, whether or not the application exists") {
        CHECK(f.run(accept_application{missing}, subject("acct-a")).error.code == errc::forbidden);
        CHECK(f.run(pass_review{missing}, anyone()).error.code == errc::forbidden);
        CHECK(f.run(withdraw_application{missing}, clerk("LN-SY")).error.code == errc::forbidden);
        CHECK(f.run(accept_application{missing}, auditor()).error.code == errc::forbidden);
        CHECK(f.run(revoke_registration{registration_id("reg-404"), revocation_grounds::other, "公告"}, subject("acct-a"))
                  .error.code == errc::forbidden);
        f.ok(initial_application(), subject("acct-a"));
        CHECK(f.run(accept_application{application_id("app-1")}, subject("acct-a")).error.code == errc::forbidden);
        CHECK(f.run(accept_application{application_id("app-1")}, anyone()).error.code == errc::forbidden);
        // A clerk of another institution may not touch it either.
        CHECK(f.run(accept_application{application_id("app-1")}, clerk("LN-DL")).error.code == errc::forbidden);
    }
    CHECK_FALSE(f.reads().registration(registration_id("reg-404")));
    CHECK_FALSE(f.reads().application(missing));
}

TEST_CASE("Writer: an application id already used by another registration is refused (CONFLICT)") {
    ledger_fixture f;
    f.ok(initial_application("app-1"), subject("acct-a"));
    auto other = initial_application("app-1");
    other.registration_id = registration_id("reg-2");
    const auto before = f.dump_all();

    SUBCASE("in a later batch") {
        const auto o = f.run(other, subject("acct-a"));
        REQUIRE(o.result_kind == kind::rejected);
        CHECK(o.error.code == errc::conflict);
    }
    SUBCASE("in the same batch as its first use") {
        f.reopen(batches_of(2));
        auto first = initial_application("app-7");
        first.registration_id = registration_id("reg-7");
        auto second = initial_application("app-7");
        second.registration_id = registration_id("reg-8");
        const auto outcomes = f.run_all({f.envelope(first, subject("acct-a")), f.envelope(second, subject("acct-a"))});
        CHECK(outcomes[0].result_kind == kind::applied);
        REQUIRE(outcomes[1].result_kind == kind::rejected);
        CHECK(outcomes[1].error.code == errc::conflict);
        CHECK_FALSE(f.reads().registration(registration_id("reg-8")));
        CHECK(f.reads().registration_of(application_id("app-7")) == registration_id("reg-7"));
    }
    // The first registration keeps its application: commands on app-1 still reach reg-1.
    CHECK(f.reads().registration_of(application_id("app-1")) == registration_id("reg-1"));
    f.reopen();
    f.ok(accept_application{application_id("app-1")}, clerk("LN-SY"));
    CHECK(f.reads().registration(registration_id("reg-1"))->document.at("open_application").at("status").as_string() ==
          "accepted");
    CHECK_FALSE(f.reads().registration(registration_id("reg-2")));
}

TEST_CASE("Writer: expected versions count the batch's own earlier events") {
    ledger_fixture f;
    f.reopen(batches_of(3));
    auto at_version = [&](command body, actor who, std::uint64_t expected) {
        auto env = f.envelope(body, who);
        env.expected_version = stream_version(expected);
        return env;
    };
    const auto outcomes = f.run_all({at_version(initial_application(), subject("acct-a"), 0),
                                     at_version(accept_application{application_id("app-1")}, clerk("LN-SY"), 1),
                                     at_version(pass_review{application_id("app-1")}, clerk("LN-SY"), 1)});
    CHECK(f.ledger().writes().metrics().last_batch_commands == 3);
    CHECK(outcomes[0].result_kind == kind::applied);
    CHECK(outcomes[1].result_kind == kind::applied);
    REQUIRE(outcomes[2].result_kind == kind::rejected);
    CHECK(outcomes[2].error.code == errc::conflict);
    CHECK(outcomes[2].error.field == "/expected_version");
    CHECK(f.reads().registration(registration_id("reg-1"))->document.at("version").to_number<int>() == 2);
}

TEST_CASE("Writer: a command id used again for another command returns the first outcome and applies nothing") {
    ledger_fixture f;
    const auto first = f.ok(initial_application(), subject("acct-a"), "same-id");
    const auto before = f.dump_all();
    const auto other = f.run(initial_application("app-2", "LN-DL"), subject("acct-a"), "same-id");
    CHECK(other.result_kind == kind::applied);
    CHECK(other.replayed);
    CHECK(other.stream == first.stream);
    CHECK(other.events == first.events);
    CHECK(f.dump_all() == before);
    CHECK_FALSE(f.reads().application(application_id("app-2")));
}
