// Rebuild (projections/rebuild.h): the log is the source of truth. After a
// long history through every path of the procedure, written in batches of
// many commands, a rebuild gives back every column family byte for byte.
#include <algorithm>
#include <fstream>
#include <random>

#include "tests/projections/ledger_fixture.h"

using namespace regledger;
using namespace regledger::testing;
using kind = projections::command_outcome::kind;

namespace {

submit_application initial_for(std::string reg, std::string app, std::string institution = "LN-SY") {
    auto c = initial_application(std::move(app), std::move(institution));
    c.registration_id = registration_id(std::move(reg));
    return c;
}

submit_application later_for(std::string reg, std::string app, application_kind k) {
    auto c = later_application(std::move(app), k);
    c.registration_id = registration_id(std::move(reg));
    return c;
}

file_objection objection_on(std::string app, std::string id) {
    return file_objection{application_id(std::move(app)), objection_id(std::move(id)), {"张三", "110101199003074514"},
                          "权属争议", {{"合同.pdf", std::string(64, 'c')}}};
}

std::string morning_of(calendar_date d) { return d.to_string() + "T09:00:00+08:00"; }

// Every path of the procedure, on registrations of its own.
void scripted_history(ledger_fixture& f) {
    const auto sy = clerk("LN-SY");
    const auto dl = clerk("LN-DL");
    const auto a = subject("acct-a");
    // 2026-03-02: submissions at two institutions, one joint.
    for (const char* reg : {"ok", "obj-up", "obj-down", "sup", "rej", "wd", "fail", "rev", "exp", "ren-exp"}) {
        f.ok(initial_for(reg, fmt::format("{}-1", reg)), a);
    }
    auto joint = initial_for("dl", "dl-1", "LN-DL");
    joint.applicants = joint_ab();
    f.ok(joint, subject("acct-b"));
    f.ok(request_supplement{application_id("sup-1"), {"授权书"}, "请补充"}, sy);
    f.ok(reject_application{application_id("rej-1"), "材料不全"}, sy);
    f.ok(withdraw_application{application_id("wd-1")}, a);
    for (const char* app : {"ok-1", "obj-up-1", "obj-down-1", "fail-1", "rev-1", "exp-1", "ren-exp-1"}) {
        f.ok(accept_application{application_id(app)}, sy);
    }
    f.ok(accept_application{application_id("dl-1")}, dl);
    f.ok(fail_review{application_id("fail-1"), "数据来源不明"}, sy);
    for (const char* app : {"ok-1", "obj-up-1", "obj-down-1", "rev-1", "exp-1", "ren-exp-1"}) {
        f.ok(pass_review{application_id(app)}, sy);
    }
    // Rejected commands, remembered by id.
    f.run(accept_application{application_id("nope")}, sy, "refused-1");
    f.run(pass_review{application_id("ok-1")}, dl, "refused-2");

    f.advance("2026-03-04T10:00:00+08:00");
    f.ok(objection_on("obj-up-1", "o-1"), anyone());
    f.ok(objection_on("obj-up-1", "o-1"), anyone());  // the same objection again: a no-op
    f.ok(uphold_objection{application_id("obj-up-1"), objection_id("o-1"), "异议成立"}, sy);
    f.ok(objection_on("obj-down-1", "o-2"), anyone());
    f.ok(resubmit_materials{application_id("sup-1"), std::nullopt, materials("授权书.pdf")}, a);
    // A second initial application on the registration whose first was terminated.
    f.ok(initial_for("obj-up", "obj-up-2"), a);

    f.advance("2026-03-10T09:00:00+08:00");  // sup-1: acceptance overdue
    f.ok(accept_application{application_id("sup-1")}, sy);
    f.ok(pass_review{application_id("dl-1")}, dl);

    f.advance("2026-03-18T09:00:00+08:00");  // codes for ok, rev, exp, ren-exp; obj-down waits
    f.ok(dismiss_objection{application_id("obj-down-1"), objection_id("o-2"), "异议不成立"}, sy);
    f.ok(later_for("ok", "ok-chg", application_kind::change), a);
    f.ok(accept_application{application_id("ok-chg")}, sy);
    f.ok(pass_review{application_id("ok-chg")}, sy);
    f.ok(revoke_registration{registration_id("rev"), revocation_grounds::false_materials, "虚假材料"}, sy);

    const auto review_due = day(std::string(f.reads().application(application_id("sup-1"))->document.at("review_due").as_string()));
    f.advance(morning_of(review_due.plus_days(1)));  // sup-1: review overdue
    f.ok(explain_review_delay{application_id("sup-1"), "核验中"}, sy);
    f.ok(pass_review{application_id("sup-1")}, sy);
    f.ok(annul_revocation{registration_id("rev"), "撤销依据不足"}, clerk("LN"));
    f.ok(later_for("ok", "ok-cor", application_kind::correction), a);
    f.ok(accept_application{application_id("ok-cor")}, sy);
    f.ok(pass_review{application_id("ok-cor")}, sy);

    f.advance("2026-06-01T09:00:00+08:00");
    f.ok(revoke_registration{registration_id("sup"), revocation_grounds::other, "公告"}, sy);

    f.advance("2029-02-01T09:00:00+08:00");  // renewal windows
    f.ok(later_for("ok", "ok-ren", application_kind::renewal), a);
    f.ok(accept_application{application_id("ok-ren")}, sy);
    f.ok(pass_review{application_id("ok-ren")}, sy);
    f.ok(later_for("ren-exp", "ren-exp-ren", application_kind::renewal), a);

    f.advance("2029-04-01T09:00:00+08:00");  // exp expires; ren-exp waits for its renewal
    f.ok(reject_application{application_id("ren-exp-ren"), "逾期"}, sy);
    f.ok(later_for("ok", "ok-dereg", application_kind::deregistration), a);
    f.ok(accept_application{application_id("ok-dereg")}, sy);
    f.ok(pass_review{application_id("ok-dereg")}, sy);
    f.advance("2029-05-01T09:00:00+08:00");
}

// Random commands on a few registrations, sent in groups so that the writer
// batches several commands of one stream together.
void random_history(ledger_fixture& f, std::uint32_t seed) {
    std::mt19937 rng(seed);
    instant now = f.clock().now();
    for (int round = 0; round < 80; ++round) {
        std::vector<command_envelope> group;
        const int size = 1 + static_cast<int>(rng() % 12);
        for (int i = 0; i < size; ++i) {
            const int r = static_cast<int>(rng() % 8);
            const std::string reg = fmt::format("rnd-{}", r);
            const std::string app = fmt::format("rnd-{}-{}", r, rng() % 3);
            const application_id id(app);
            const auto sy = clerk(r % 2 == 0 ? "LN-SY" : "LN-DL");
            const auto a = subject("acct-a");
            command body;
            actor who = sy;
            // Weighted towards the commands that move the procedure on.
            switch (rng() % 21) {
                case 0: case 1: case 2: body = initial_for(reg, app, r % 2 == 0 ? "LN-SY" : "LN-DL"); who = a; break;
                case 3: case 4: case 5: case 6: body = accept_application{id}; break;
                case 7: case 8: case 9: case 10: body = pass_review{id}; break;
                case 11: body = request_supplement{id, {"材料"}, "补正"}; break;
                case 12: body = resubmit_materials{id, std::nullopt, materials("补.pdf")}; who = a; break;
                case 13: case 14: body = objection_on(app, fmt::format("o-{}", rng() % 2)); who = anyone(); break;
                case 15: body = dismiss_objection{id, objection_id(fmt::format("o-{}", rng() % 2)), "不成立"}; break;
                case 16: body = uphold_objection{id, objection_id(fmt::format("o-{}", rng() % 2)), "成立"}; break;
                case 17: body = later_for(reg, fmt::format("{}-chg-{}", reg, rng() % 4), application_kind::change); who = a; break;
                case 18: body = revoke_registration{registration_id(reg), revocation_grounds::other, "公告"}; break;
                case 19: body = annul_revocation{registration_id(reg), "纠正"}; who = clerk("LN"); break;
                default: body = withdraw_application{id}; who = a; break;
            }
            group.push_back(f.envelope(body, who));
        }
        for (const auto& o : f.run_all(std::move(group))) REQUIRE(o.result_kind != kind::unavailable);
        // An hour to three days later.
        now = now.plus_us(static_cast<std::int64_t>(1 + rng() % 72) * 3'600 * us_per_second);
        REQUIRE(f.clock().set(now).has_value());
        f.scheduler().fire_due();
    }
}

void check_rebuild_gives(ledger_fixture& f, const family_dump& before, std::size_t read_batch_records,
                         std::size_t settle_streams_per_batch) {
    CAPTURE(read_batch_records);
    CAPTURE(settle_streams_per_batch);
    f.close();
    projections::rebuild_options o;
    o.data_dir = f.data_dir();
    o.read_batch_records = read_batch_records;
    o.settle_streams_per_batch = settle_streams_per_batch;
    std::uint64_t last_progress = 0;
    o.progress = [&](std::uint64_t done, std::uint64_t total) {
        CHECK(done > last_progress);
        CHECK(done <= total);
        last_progress = done;
    };
    const auto report = projections::rebuild(o);
    REQUIRE_MESSAGE(report.has_value(), (report ? std::string() : report.error()));
    CHECK(report.value().records == before.at("log").size());
    CHECK(last_progress == before.at("log").size());
    CHECK(report.value().streams == before.at(std::string(projections::cf::streams)).size());
    CHECK_FALSE(std::filesystem::exists(f.data_dir().string() + ".rebuild"));
    CHECK_FALSE(std::filesystem::exists(f.data_dir().string() + ".old"));
    // The log's table files went in through a staging directory.
    CHECK_FALSE(std::filesystem::exists(f.data_dir().string() + ".rebuild.log"));
    f.open();
    const auto after = f.dump_all();
    for (const auto& [family, rows] : before) {
        CAPTURE(family);
        CHECK(after.at(family).size() == rows.size());
        CHECK(after.at(family) == rows);
    }
}

}  // namespace

TEST_CASE("Rebuild: a long history through every path rebuilds every family byte for byte") {
    ledger_fixture f;
    scripted_history(f);
    random_history(f, 20261130);
    // The scripted outcomes, as a sanity check of the history itself.
    auto status = [&](const char* reg) {
        return std::string(f.reads().registration(registration_id(reg))->document.at("status").as_string());
    };
    CHECK(status("ok") == "deregistered");
    CHECK(status("sup") == "revoked");
    CHECK(status("exp") == "deregistered");
    CHECK(status("rev") == "deregistered");  // annulled, valid again, then expired
    const auto rev_history = f.reads().history(stream_id("reg-rev")).value();
    CHECK(std::any_of(rev_history.begin(), rev_history.end(),
                      [](const event_record& r) { return std::holds_alternative<revocation_annulled>(r.event); }));
    CHECK(status("ren-exp") == "deregistered");
    CHECK(status("rej") == "not_registered");
    CHECK(status("obj-up") == "pending");
    CHECK(f.reads().registration(registration_id("ok"))->document.at("record_version").to_number<int>() == 3);

    const auto before = f.dump_all();
    REQUIRE(before.at("log").size() > 150);
    // Replayed in batches of every size: whole, splitting commands, one by
    // one; the streams' rows written at the end all at once, or a few at a
    // time by both of finish()'s threads (their status counts added up).
    REQUIRE(before.at(std::string(projections::cf::streams)).size() > 20);
    check_rebuild_gives(f, before, 8192, 4096);
    check_rebuild_gives(f, before, 7, 3);
    check_rebuild_gives(f, before, 1, 1);
    // The rebuilt ledger serves on: the kept outcomes answer repeated ids,
    // and the store verifies.
    const auto refused = f.run(accept_application{application_id("nope")}, clerk("LN-SY"), "refused-1");
    CHECK(refused.replayed);
    CHECK(refused.error.code == errc::not_found);
    projections::verify_store_options vo;
    vo.data_dir = f.data_dir();
    const auto verified = projections::verify_store(vo);
    CHECK_MESSAGE(verified.has_value(), (verified ? std::string() : verified.error().what));
}

TEST_CASE("Rebuild: a data directory with no events rebuilds to the same empty read models") {
    temp_dir dir;
    const auto data_dir = dir.path() / "data";
    const auto institutions = sample_institutions();
    projections::manual_clock clock(at("2026-03-02T09:00:00+08:00"));
    family_dump before;
    {
        auto l = open_ledger(data_dir, clock, institutions);
        REQUIRE(l.has_value());
        before = dump_families(l.value()->reads());
    }
    projections::rebuild_options o;
    o.data_dir = data_dir;
    const auto report = projections::rebuild(o);
    REQUIRE_MESSAGE(report.has_value(), (report ? std::string() : report.error()));
    CHECK(report.value().records == 0);
    CHECK(report.value().streams == 0);
    auto l = open_ledger(data_dir, clock, institutions);
    REQUIRE(l.has_value());
    CHECK(dump_families(l.value()->reads()) == before);
    CHECK(l.value()->log().end(partition_id(0)).value().value() == 0);
    // And it takes commands.
    command_envelope env;
    env.command_id = command_id("c-1");
    env.issued_by = anyone();
    env.body = open_account{account_id("acct-a"), "沈阳市公交集团", std::string(uscc_a), subject_type::public_utility,
                            "210100"};
    CHECK(l.value()->writes().execute(env).result_kind == kind::applied);
}

TEST_CASE("Rebuild: a path that is no data directory is refused with a message naming it") {
    temp_dir dir;
    SUBCASE("a regular file") {
        const auto file = dir.path() / "not-a-directory";
        std::ofstream(file) << "hello";
        projections::rebuild_options o;
        o.data_dir = file;
        const auto report = projections::rebuild(o);
        REQUIRE_FALSE(report.has_value());
        CHECK(report.error().find(file.string()) != std::string::npos);
        // Left as it was.
        std::ifstream in(file);
        std::string content;
        in >> content;
        CHECK(content == "hello");
    }
    SUBCASE("a directory that does not exist") {
        projections::rebuild_options o;
        o.data_dir = dir.path() / "missing";
        const auto report = projections::rebuild(o);
        REQUIRE_FALSE(report.has_value());
        CHECK(report.error().find("missing") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(dir.path() / "missing"));
    }
    SUBCASE("an empty directory") {
        std::filesystem::create_directories(dir.path() / "empty");
        projections::rebuild_options o;
        o.data_dir = dir.path() / "empty";
        const auto report = projections::rebuild(o);
        REQUIRE_FALSE(report.has_value());
        CHECK(report.error().find("empty") != std::string::npos);
        CHECK(std::filesystem::is_empty(dir.path() / "empty"));
    }
}

TEST_CASE("Rebuild: a directory a ledger has open is refused and left as it was") {
    ledger_fixture f;
    f.make_valid("reg-1", "app-1");
    const auto before = f.dump_all();
    projections::rebuild_options o;
    o.data_dir = f.data_dir();
    const auto report = projections::rebuild(o);
    REQUIRE_FALSE(report.has_value());
    CHECK(report.error().find(f.data_dir().string()) != std::string::npos);
    CHECK(f.dump_all() == before);
    // The ledger serves on.
    f.advance("2026-03-18T00:00:00+08:00");
    CHECK(f.reads().registration(registration_id("reg-1"))->document.at("status").as_string() == "valid");
}

TEST_CASE("Rebuild: a fresh store left over by an interrupted rebuild is replaced") {
    ledger_fixture f;
    f.make_valid("reg-1", "app-1");
    const auto before = f.dump_all();
    f.close();
    const std::filesystem::path leftover = f.data_dir().string() + ".rebuild";
    std::filesystem::create_directories(leftover);
    std::ofstream(leftover / "CURRENT") << "garbage";
    projections::rebuild_options o;
    o.data_dir = f.data_dir();
    const auto report = projections::rebuild(o);
    REQUIRE_MESSAGE(report.has_value(), (report ? std::string() : report.error()));
    CHECK_FALSE(std::filesystem::exists(leftover));
    f.open();
    CHECK(f.dump_all() == before);
}
