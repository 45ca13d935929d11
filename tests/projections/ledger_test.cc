// The embedded ledger end to end: commands through the writer, queries on the
// read models, timers through the scheduler, restarts.
#include "tests/projections/ledger_fixture.h"

using namespace regledger;
using namespace regledger::testing;
using kind = projections::command_outcome::kind;

TEST_CASE("Ledger: a registration through the whole procedure, with queries on the way") {
    ledger_fixture f;
    const auto submitted = f.ok(initial_application(), subject("acct-a"));
    CHECK(submitted.stream == stream_id("reg-reg-1"));
    CHECK(submitted.version == stream_version(1));
    REQUIRE(submitted.positions.size() == 1);
    CHECK(submitted.events[0].envelope.prev_hash == digest{});

    auto doc = f.reads().registration(registration_id("reg-1"));
    REQUIRE(doc);
    CHECK(doc->document.at("status").as_string() == "pending");
    CHECK(doc->document.at("open_application").at("acceptance_due").as_string() == "2026-03-05");
    CHECK(doc->position.offset.value() == submitted.positions[0].offset.value() + 1);

    const auto accepted = f.ok(accept_application{application_id("app-1")}, clerk("LN-SY"));
    CHECK(accepted.events[0].envelope.prev_hash == submitted.events[0].envelope.hash);
    f.ok(pass_review{application_id("app-1")}, clerk("LN-SY"));
    CHECK(f.reads().publicity().document.at("items").as_array().size() == 1);

    const auto fired = f.advance("2026-03-18T00:00:00+08:00");
    CHECK(fired.applied == 1);  // PublicityEnded + CodeIssued, one command
    doc = f.reads().registration(registration_id("reg-1"));
    CHECK(doc->document.at("status").as_string() == "valid");
    const std::string code(doc->document.at("code").as_string());
    CHECK(f.reads().publicity().document.at("items").as_array().empty());
    const auto by_code = f.reads().by_code(code);
    REQUIRE(by_code);
    CHECK(by_code->document.at("status").as_string() == "valid");
    CHECK(by_code->document.at("subjects").as_array().at(0).as_string() == "沈阳市公交集团");
}

TEST_CASE("Ledger: a repeated command id returns the first outcome, also after a restart") {
    ledger_fixture f;
    const auto first = f.ok(initial_application(), subject("acct-a"), "c-1");
    const auto again = f.run(initial_application(), subject("acct-a"), "c-1");
    CHECK(again.result_kind == kind::applied);
    CHECK(again.replayed);
    CHECK(again.version == first.version);
    REQUIRE(again.events.size() == 1);
    CHECK(again.events[0] == first.events[0]);
    const auto refused = f.run(accept_application{application_id("app-404")}, clerk("LN-SY"), "c-2");
    CHECK(refused.result_kind == kind::rejected);
    CHECK(refused.error.code == errc::not_found);
    f.reopen();
    const auto after_restart = f.run(initial_application(), subject("acct-a"), "c-1");
    CHECK(after_restart.replayed);
    CHECK(after_restart.events == first.events);
    const auto refused_again = f.run(accept_application{application_id("app-404")}, clerk("LN-SY"), "c-2");
    CHECK(refused_again.replayed);
    CHECK(refused_again.error == refused.error);
}

TEST_CASE("Ledger: history rows name the embedded log's records, and a missing record is an error") {
    ledger_fixture f;
    const auto submitted = f.ok(initial_application(), subject("acct-a"));
    const auto accepted = f.ok(accept_application{application_id("app-1")}, clerk("LN-SY"));
    const stream_id stream("reg-reg-1");
    auto& store = f.reads().store();
    // The row is the record's key in the log family (8 bytes), not a copy.
    std::string row;
    REQUIRE(store.db()
                .Get(rocksdb::ReadOptions(), store.cf(projections::cf::history),
                     projections::history_key(stream, stream_version(2)), &row)
                .ok());
    const std::int64_t offset = accepted.positions.at(0).offset.value();
    CHECK(row == events::embedded_log::key_of(offset));
    const auto in_log = f.ledger().log().read({partition_id(0), log_offset(offset)}, 1);
    REQUIRE(in_log.has_value());
    REQUIRE(in_log.value().size() == 1);
    CHECK(f.reads().stored_event(stream, stream_version(2)) == in_log.value()[0].value);
    const auto history = f.reads().history(stream);
    REQUIRE(history.has_value());
    REQUIRE(history.value().size() == 2);
    CHECK(history.value()[0] == submitted.events.at(0));
    CHECK(history.value()[1] == accepted.events.at(0));

    // A log record gone from under its history row: an error, not a shorter
    // history.
    REQUIRE(store.db()
                .Delete(rocksdb::WriteOptions(), store.cf(events::embedded_log::column_family),
                        events::embedded_log::key_of(offset))
                .ok());
    CHECK_FALSE(f.reads().stored_event(stream, stream_version(2)).has_value());
    const auto broken = f.reads().history(stream);
    REQUIRE_FALSE(broken.has_value());
    CHECK(broken.error() == make_error_code(events::store_errc::corruption));
}

TEST_CASE("Ledger: expected version is checked") {
    ledger_fixture f;
    f.ok(initial_application(), subject("acct-a"));
    command_envelope env;
    env.command_id = command_id("v-1");
    env.issued_by = clerk("LN-SY");
    env.body = accept_application{application_id("app-1")};
    env.expected_version = stream_version(7);
    const auto o = f.ledger().writes().execute(env);
    CHECK(o.result_kind == kind::rejected);
    CHECK(o.error.code == errc::conflict);
    env.command_id = command_id("v-2");
    env.expected_version = stream_version(1);
    CHECK(f.ledger().writes().execute(env).result_kind == kind::applied);
}

TEST_CASE("Rebuild: the rebuilt store answers every query exactly as the live one did") {
    ledger_fixture f;
    f.make_valid("reg-1", "app-1");
    f.make_valid("reg-2", "app-2");
    f.advance("2026-03-18T00:00:00+08:00");
    auto c = initial_application("app-3");
    c.registration_id = registration_id("reg-3");
    f.ok(c, subject("acct-a"));
    f.run(accept_application{application_id("app-404")}, clerk("LN-SY"), "rejected-1");
    f.ok(later_application("chg-1", application_kind::change), subject("acct-a"));

    std::map<std::string_view, std::vector<std::pair<std::string, std::string>>> before;
    for (auto family : projections::ledger::embedded_families()) before[family] = f.reads().dump(family);
    f.close();
    projections::rebuild_options o;
    o.data_dir = f.data_dir();
    const auto report = projections::rebuild(o);
    REQUIRE_MESSAGE(report.has_value(), (report ? std::string() : report.error()));
    CHECK(report.value().records == before["log"].size());
    CHECK(report.value().outcomes_kept == 1);
    f.open();
    for (auto family : projections::ledger::embedded_families()) {
        CAPTURE(family);
        CHECK(f.reads().dump(family) == before[family]);
    }
    CHECK(f.run(accept_application{application_id("app-404")}, clerk("LN-SY"), "rejected-1").replayed);
}

TEST_CASE("Verify: a consistent store passes, a changed read-model row or log record is named") {
    ledger_fixture f;
    f.make_valid("reg-1", "app-1");
    f.advance("2026-03-18T00:00:00+08:00");
    projections::verify_store_options o;
    o.data_dir = f.data_dir();
    SUBCASE("beside the running ledger, consistent") {
        const auto report = projections::verify_store(o);
        REQUIRE_MESSAGE(report.has_value(), (report ? std::string() : report.error().what + " " + report.error().family + " " + report.error().key));
        CHECK(report.value().records > 0);
        CHECK(report.value().rows_compared > report.value().records);
    }
    SUBCASE("a directory document changed behind the ledger's back") {
        f.close();
        {
            events::store_options so;
            so.dir = f.data_dir();
            auto store = events::rocks_store::open(so, projections::ledger::embedded_families());
            REQUIRE(store.has_value());
            rocksdb::WriteBatch b;
            b.Put(store.value()->cf(projections::cf::directory), "reg-1", "{\"status\":\"valid\"}");
            REQUIRE(store.value()->write(b).has_value());
        }
        const auto report = projections::verify_store(o);
        REQUIRE_FALSE(report.has_value());
        CHECK(report.error().family == "directory");
        CHECK(report.error().key == "reg-1");
    }
    SUBCASE("a flipped byte in a log record") {
        f.close();
        {
            events::store_options so;
            so.dir = f.data_dir();
            auto store = events::rocks_store::open(so, projections::ledger::embedded_families());
            REQUIRE(store.has_value());
            std::string value;
            auto& db = store.value()->db();
            auto* log_cf = store.value()->cf(events::embedded_log::column_family);
            REQUIRE(db.Get(rocksdb::ReadOptions(), log_cf, events::embedded_log::key_of(5), &value).ok());
            value[value.size() / 2] = static_cast<char>(value[value.size() / 2] ^ 0x01);
            rocksdb::WriteBatch b;
            b.Put(log_cf, events::embedded_log::key_of(5), value);
            REQUIRE(store.value()->write(b).has_value());
        }
        const auto report = projections::verify_store(o);
        REQUIRE_FALSE(report.has_value());
        REQUIRE(report.error().position.has_value());
        CHECK(report.error().position->offset.value() == 5);
    }
}
