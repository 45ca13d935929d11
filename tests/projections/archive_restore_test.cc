// Backup and restore (第14条 定期备份; events/archive.h): a ledger with a
// history and signed checkpoints is exported, verified offline with the
// pinned key (another pinned key is refused, naming both), and imported into
// a new data directory as `regledger import` does it (the log restored, then
// projections::rebuild). The restored ledger holds every read-model row the
// original held, answers the queries exactly as the original did, opens
// with ledger::open_embedded and takes a further command whose event chains
// onto the restored history.
#include <rocksdb/write_batch.h>

#include "events/archive.h"
#include "events/embedded_log.h"
#include "projections/keys.h"
#include "projections/verify.h"
#include "tests/projections/ledger_fixture.h"

using namespace regledger;
using namespace regledger::testing;

namespace {

using keys = test_keys;

file_objection objection_on(std::string app, std::string id) {
    return file_objection{application_id(std::move(app)), objection_id(std::move(id)), {"张三", "110101199003074514"},
                          "权属争议", {{"合同.pdf", std::string(64, 'c')}}};
}

// Every row of every family of a closed data directory.
family_dump rows_of(const std::filesystem::path& data_dir) {
    auto store = open_raw_store(data_dir);
    family_dump out;
    for (auto family : projections::ledger::embedded_families()) {
        auto& rows = out[std::string(family)];
        std::unique_ptr<rocksdb::Iterator> it(store->db().NewIterator(rocksdb::ReadOptions(), store->cf(family)));
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
            rows.emplace_back(it->key().ToString(), it->value().ToString());
        }
    }
    return out;
}

// The archive of a closed data directory, as `regledger export` writes it.
std::filesystem::path export_ledger(const std::filesystem::path& data_dir, const std::filesystem::path& file,
                                    const events::verify_key& key) {
    events::store_options o;
    o.dir = data_dir;
    o.create_if_missing = false;
    o.read_only = true;
    auto store = events::rocks_store::open(o, projections::ledger::embedded_families());
    REQUIRE(store.has_value());
    auto log = events::embedded_log::open(*store.value());
    REQUIRE(log.has_value());
    events::export_options e;
    e.source = "embedded " + data_dir.string();
    e.created_at = at("2026-03-18T12:00:00+08:00");
    e.public_key = &key;
    e.rule_set = rules::rule_set::ln_2025().id;
    e.calendar_version = rules::rule_set::ln_2025().calendar->version();
    const auto report = events::write_archive(*log.value(), file, e);
    REQUIRE_MESSAGE(report.has_value(), (report ? std::string() : report.error().what));
    return file;
}

}  // namespace

TEST_CASE("Archive restore: a signed ledger exported, verified and imported answers every query as the original") {
    keys k;
    ledger_fixture f;
    projections::writer_options wo;
    wo.signing_key = &*k.signing;
    wo.checkpoint_events_max = 4;
    f.reopen(wo);
    const auto sy = clerk("LN-SY");
    f.make_valid("reg-1", "app-1");
    f.make_valid("reg-2", "app-2");
    auto pending = initial_application("app-3");
    pending.registration_id = registration_id("reg-3");
    f.ok(pending, subject("acct-a"));
    f.ok(objection_on("app-2", "o-1"), anyone());
    f.ok(dismiss_objection{application_id("app-2"), objection_id("o-1"), "异议不成立"}, sy);
    // A rejection leaves nothing in the log: the archive cannot hold it.
    CHECK(f.run(accept_application{application_id("nope")}, sy, "refused-1").result_kind ==
          projections::command_outcome::kind::rejected);
    f.advance("2026-03-18T00:00:00+08:00");
    f.ok(later_application("chg-1", application_kind::change), subject("acct-a"));
    f.ok(accept_application{application_id("chg-1")}, sy);
    f.close();
    const auto original = rows_of(f.data_dir());
    const auto log_size = original.at("log").size();
    REQUIRE(log_size > 20);

    const auto file = export_ledger(f.data_dir(), f.dir() / "ledger.archive", *k.verifying);
    auto archive = events::archive_log::open(file);
    REQUIRE_MESSAGE(archive.has_value(), (archive ? std::string() : archive.error().what));
    CHECK(archive.value()->header().records == log_size);
    CHECK(archive.value()->header().config_hashes == std::vector<digest>{digest{}});
    CHECK(archive.value()->header().calendar_versions ==
          std::vector<digest>{rules::rule_set::ln_2025().calendar->version()});

    // Verified with the pinned key: every checkpoint's signature.
    {
        events::archive_verify_options o;
        o.pinned_key = &*k.verifying;
        const auto report = events::verify_archive(*archive.value(), o);
        REQUIRE_MESSAGE(report.has_value(), (report ? std::string() : report.error().what));
        CHECK(report.value().summary.records == log_size);
        CHECK(report.value().summary.checkpoints >= 4);
        CHECK(report.value().summary.signatures_checked == report.value().summary.checkpoints);
        CHECK(report.value().key == events::key_origin::pinned);
    }
    // Another pinned key: refused, naming both.
    {
        keys other;
        events::archive_verify_options o;
        o.pinned_key = &*other.verifying;
        const auto report = events::verify_archive(*archive.value(), o);
        REQUIRE_FALSE(report.has_value());
        CHECK(report.error().code == events::archive_errc::key_mismatch);
        CHECK(report.error().what.find(k.verifying->id()) != std::string::npos);
        CHECK(report.error().what.find(other.verifying->id()) != std::string::npos);
    }

    // Imported as `regledger import` does it.
    const auto restored_dir = f.dir() / "restored";
    const auto restored = events::restore_log(*archive.value(), restored_dir, {});
    REQUIRE_MESSAGE(restored.has_value(), (restored ? std::string() : restored.error().what));
    CHECK(restored.value().records == log_size);
    projections::rebuild_options ro;
    ro.data_dir = restored_dir;
    const auto rebuilt = projections::rebuild(ro);
    REQUIRE_MESSAGE(rebuilt.has_value(), (rebuilt ? std::string() : rebuilt.error()));
    CHECK(rebuilt.value().records == log_size);

    SUBCASE("every row of every family is the original's, but for the rejected command's outcome") {
        auto expected = original;
        auto& commands = expected.at(std::string(projections::cf::commands));
        const auto refused = std::find_if(commands.begin(), commands.end(),
                                          [](const auto& row) { return row.first == "refused-1"; });
        REQUIRE(refused != commands.end());
        commands.erase(refused);
        const auto after = rows_of(restored_dir);
        for (const auto& [family, rows] : expected) {
            CAPTURE(family);
            CHECK(after.at(family).size() == rows.size());
            CHECK(after.at(family) == rows);
        }
    }

    SUBCASE("the queries answer as the original's, and the restored ledger takes a further command") {
        projections::manual_clock clock(f.clock().now());
        {
            auto before = open_ledger(f.data_dir(), clock, f.institutions());
            REQUIRE_MESSAGE(before.has_value(), (before ? std::string() : before.error().message));
            auto after = open_ledger(restored_dir, clock, f.institutions());
            REQUIRE_MESSAGE(after.has_value(), (after ? std::string() : after.error().message));
            const auto& a = before.value()->reads();
            const auto& b = after.value()->reads();
            for (const char* reg : {"reg-1", "reg-2", "reg-3"}) {
                CAPTURE(reg);
                const auto x = a.registration(registration_id(reg));
                const auto y = b.registration(registration_id(reg));
                REQUIRE(x.has_value());
                REQUIRE(y.has_value());
                CHECK(x->document == y->document);
                CHECK(x->position == y->position);
                const auto hx = a.history(registration_stream(registration_id(reg)));
                const auto hy = b.history(registration_stream(registration_id(reg)));
                REQUIRE(hx.has_value());
                REQUIRE(hy.has_value());
                CHECK(hx.value() == hy.value());
                const auto as_of = at("2026-03-10T00:00:00+08:00");
                CHECK(a.registration_as_of(registration_id(reg), as_of).value()->document ==
                      b.registration_as_of(registration_id(reg), as_of).value()->document);
            }
            const auto code = a.registration(registration_id("reg-1"))->document.at("code").as_string();
            CHECK(a.by_code(std::string_view(code))->document == b.by_code(std::string_view(code))->document);
            CHECK(a.list({}).value().document == b.list({}).value().document);
            projections::list_filter valid;
            valid.status = registration_status::valid;
            CHECK(a.list(valid).value().document == b.list(valid).value().document);
            CHECK(a.list(valid).value().document.at("items").as_array().size() == 2);
            CHECK(a.application(application_id("chg-1"))->document == b.application(application_id("chg-1"))->document);
            CHECK(a.account(account_id("acct-a"))->document == b.account(account_id("acct-a"))->document);
            CHECK(a.publicity().document == b.publicity().document);
            CHECK(a.events_after({partition_id(0), log_offset(0)}, 1000).value().document ==
                  b.events_after({partition_id(0), log_offset(0)}, 1000).value().document);
            // What the archive does not hold: the rejection's outcome.
            CHECK(a.outcome_of(command_id("refused-1")).has_value());
            CHECK_FALSE(b.outcome_of(command_id("refused-1")).has_value());
        }

        auto l = open_ledger(restored_dir, clock, f.institutions(), wo);
        REQUIRE_MESSAGE(l.has_value(), (l ? std::string() : l.error().message));
        const auto stream = registration_stream(registration_id("reg-1"));
        const auto head = l.value()->reads().head_of(stream);
        REQUIRE(head.has_value());
        const auto outcome = l.value()->writes().execute(f.envelope(pass_review{application_id("chg-1")}, sy));
        REQUIRE_MESSAGE(outcome.result_kind == projections::command_outcome::kind::applied, outcome.error.message);
        REQUIRE_FALSE(outcome.events.empty());
        const auto& first = outcome.events.front().envelope;
        CHECK(first.stream_id == stream);
        CHECK(first.version.value() == head->version.value() + 1);
        CHECK(first.prev_hash == head->hash);
        CHECK(outcome.positions.front().offset == log_offset(static_cast<std::int64_t>(log_size)));
        l.value().reset();

        projections::verify_store_options vo;
        vo.data_dir = restored_dir;
        vo.public_key = &*k.verifying;
        const auto verified = projections::verify_store(vo);
        REQUIRE_MESSAGE(verified.has_value(), (verified ? std::string() : verified.error().what));
        CHECK(verified.value().records > log_size);
    }
}

TEST_CASE("Archive restore: a ledger without checkpoints round-trips, and an existing data directory is not a target") {
    keys k;
    ledger_fixture f;
    f.close();
    const auto file = export_ledger(f.data_dir(), f.dir() / "seeded.archive", *k.verifying);
    auto archive = events::archive_log::open(file);
    REQUIRE(archive.has_value());
    CHECK(archive.value()->header().records == 4);  // the seeded accounts
    const auto report = events::verify_archive(*archive.value(), {});
    REQUIRE(report.has_value());
    CHECK(report.value().summary.checkpoints == 0);
    CHECK(report.value().key == events::key_origin::archive);

    const auto refused = events::restore_log(*archive.value(), f.data_dir(), {});
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == events::archive_errc::exists);
    CHECK(refused.error().what.find(f.data_dir().string()) != std::string::npos);
}
