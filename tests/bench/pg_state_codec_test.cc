// The JSON of the PostgreSQL baseline's rows (bench/pg_state_codec.h): every
// state and every event of the benchmark workload comes back equal from its
// encoding, and rows that are not such JSON are refused.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "bench/pg_state_codec.h"
#include "bench/workload.h"
#include "engine/decide.h"

using namespace regledger;

namespace {

// What the workload's commands did to the streams, and how much of the state
// they exercised (so that the round trip is known to have seen it).
struct fold_report {
    std::uint64_t commands = 0;
    std::uint64_t states_checked = 0;
    std::uint64_t events_checked = 0;
    std::uint64_t with_code = 0;
    std::uint64_t with_objections = 0;
    std::uint64_t with_revocation = 0;
    std::uint64_t with_renewal_window = 0;
    std::uint64_t joint_applications = 0;
};

void check_round_trip(const registration_state& s, fold_report& report) {
    const std::string text = bench::encode_state(s);
    auto back = bench::decode_registration_state(text);
    REQUIRE_MESSAGE(back.has_value(), back.error().message << " at " << back.error().field);
    CHECK_MESSAGE(back.value() == s, text);
    ++report.states_checked;
    if (s.code) ++report.with_code;
    if (s.revocation) ++report.with_revocation;
    if (s.renewal_window_opens) ++report.with_renewal_window;
    for (const application_state& a : s.applications) {
        if (!a.objections.empty()) ++report.with_objections;
        if (a.applicants.size() > 1) ++report.joint_applications;
    }
}

void check_round_trip(const account_state& s, fold_report& report) {
    const std::string text = bench::encode_state(s);
    auto back = bench::decode_account_state(text);
    REQUIRE_MESSAGE(back.has_value(), back.error().message << " at " << back.error().field);
    CHECK_MESSAGE(back.value() == s, text);
    ++report.states_checked;
}

// Folds every command of a workload of `registrations` registrations with
// decide() and evolve(), as the ledger's writer routes them, checking the
// round trip of each event and of each state a command leaves.
fold_report fold_workload(std::size_t registrations) {
    bench::workload_options options;
    options.registrations = registrations;
    bench::workload w(options);
    std::map<std::string, registration_state> regs;
    std::map<std::string, account_state> accounts;
    std::map<std::string, std::string> registration_of_application;
    std::map<std::pair<std::string, int>, std::uint32_t> codes_issued;
    fold_report report;

    while (auto t = w.next_tick()) {
        for (const command_envelope& cmd : t->commands) {
            ++report.commands;
            decide_context ctx;
            ctx.now = t->at;
            ctx.rules = &bench::workload::rules();
            ctx.institutions = &bench::workload::institutions();
            ctx.issuer = cmd.issued_by;
            ctx.next_code_sequence = [&](const institution_id& inst, int year) {
                return ++codes_issued[{inst.value(), year}];
            };
            if (cmd.issued_by.role == role::subject) ctx.issuer_account = &accounts[cmd.issued_by.account.value()];

            const command_target where = target_of(cmd.body);
            std::string stream;
            if (const auto* s = std::get_if<stream_id>(&where)) {
                stream = s->value();
            } else {
                const auto it = registration_of_application.find(std::get<application_id>(where).value());
                REQUIRE(it != registration_of_application.end());
                stream = "reg-" + it->second;
            }

            event_list events;
            if (stream.starts_with("reg-")) {
                registration_state& s = regs[stream.substr(4)];
                auto decided = decide(s, cmd.body, ctx);
                REQUIRE_MESSAGE(decided.has_value(), type_name_of(cmd.body) << ": " << decided.error().message);
                events = std::move(decided).value();
                for (const event& e : events) {
                    if (const auto* submitted = std::get_if<application_submitted>(&e)) {
                        registration_of_application[submitted->application_id.value()] =
                            submitted->registration_id.value();
                    }
                    s = evolve(std::move(s), e);
                }
                check_round_trip(s, report);
            } else {
                REQUIRE(stream.starts_with("acct-"));
                account_state& s = accounts[stream.substr(5)];
                auto decided = decide(s, cmd.body, ctx);
                REQUIRE_MESSAGE(decided.has_value(), type_name_of(cmd.body) << ": " << decided.error().message);
                events = std::move(decided).value();
                for (const event& e : events) s = evolve(std::move(s), e);
                check_round_trip(s, report);
            }

            for (const event& e : events) {
                auto back = bench::decode_event(type_name_of(e), bench::encode_event(e));
                REQUIRE_MESSAGE(back.has_value(), type_name_of(e) << ": " << back.error().message);
                CHECK(back.value() == e);
                ++report.events_checked;
            }
        }
    }
    return report;
}

// A registration with every optional member set, nested ones included.
registration_state everything_set() {
    registration_state s;
    s.id = registration_id("LN-2025-0001");
    s.version = stream_version(42);
    s.status = registration_status::revoked;
    s.institution_id = institution_id("LN-DL");
    s.applicants = {{"大连市数据局", "11210200MB0000000X", applicant_role::lead},
                    {"大连市交通局", "11210200MB0000001X", applicant_role::joint}};
    registration_record record;
    record.object_type = object_type::product;
    record.data_name = "公交线路实时数据接口";
    record.summary = "全市公交线路与到站预测";
    record.industry_codes = {"54", "64"};
    record.coverage_regions = {"210200"};
    record.coverage_time = date_range{calendar_date::from_ymd(2020, 1, 1), calendar_date::from_ymd(2025, 12, 31)};
    record.update_frequency = "实时";
    record.data_scale = "2 TB";
    record.security_level = "一般";
    record.access_method = access_method::authorized_operation;
    record.product_form = product_form::api;
    record.authorization = authorization{"DL-AUTH-7", calendar_date::from_ymd(2025, 1, 1),
                                         calendar_date::from_ymd(2027, 12, 31)};
    s.record = record;
    s.record_version = 3;
    s.code = "LN-DL-2025-000017";
    s.code_scheme = "LN-LOCAL-1";
    s.valid_from = calendar_date::from_ymd(2025, 4, 1);
    s.valid_until = calendar_date::from_ymd(2028, 3, 31);
    s.renewal_window_opens = calendar_date::from_ymd(2028, 1, 31);
    s.renewal_window_notified = true;
    s.validity_expired = true;
    s.awaiting_renewal_outcome = true;
    s.revocation = revocation_state{institution_id("LN-DL"), revocation_grounds::tampering, "公告第3号",
                                    institution_id("LN")};
    application_state a;
    a.id = application_id("app-1");
    a.kind = application_kind::change;
    a.status = application_status::in_publicity;
    a.institution_id = institution_id("LN-DL");
    a.submitted_by = account_id("acct-dl");
    a.applicants = s.applicants;
    a.record = record;
    a.materials = {{"申请表.pdf", std::string(64, 'a')}};
    a.acceptance_due = calendar_date::from_ymd(2025, 3, 10);
    a.review_due = calendar_date::from_ymd(2025, 4, 7);
    a.publicity_start = calendar_date::from_ymd(2025, 4, 8);
    a.publicity_end = calendar_date::from_ymd(2025, 4, 15);
    a.calendar_provisional = true;
    a.acceptance_overdue = true;
    a.review_overdue = true;
    a.review_delay_explanations = 2;
    a.publicity_ended = true;
    a.objections = {objection_state{objection_id("obj-1"), objector{"张三", "210202199001011234"}, "数据来源不实",
                                    {{"证据.pdf", std::string(64, 'b')}}, false, true}};
    s.applications = {a};
    return s;
}

}  // namespace

// 3000 registrations: the workload revokes 0.3 % of the valid ones, and
// fewer would leave the revocation out.
TEST_CASE("pg state codec: every state and event of 3000 registrations' workload survives a round trip") {
    const fold_report r = fold_workload(3000);
    MESSAGE(r.commands << " commands, " << r.states_checked << " states, " << r.events_checked
                       << " events; states with a code " << r.with_code << ", objections " << r.with_objections
                       << ", a revocation " << r.with_revocation << ", a renewal window " << r.with_renewal_window
                       << "; joint applications " << r.joint_applications);
    CHECK(r.states_checked == r.commands);
    CHECK(r.events_checked >= r.commands);
    // The workload reached the parts of the state worth checking.
    CHECK(r.with_code > 0);
    CHECK(r.with_objections > 0);
    CHECK(r.with_renewal_window > 0);
    CHECK(r.with_revocation > 0);
    CHECK(r.joint_applications > 0);
}

TEST_CASE("pg state codec: a state with every optional member set survives a round trip") {
    const registration_state s = everything_set();
    auto back = bench::decode_registration_state(bench::encode_state(s));
    REQUIRE(back.has_value());
    CHECK(back.value() == s);

    account_state a;
    a.id = account_id("acct-dl");
    a.version = stream_version(2);
    a.name = "大连市数据局";
    a.uscc = "11210200MB0000000X";
    a.subject_type = subject_type::party_government;
    a.region_code = "210200";
    a.verified = true;
    a.verified_by = institution_id("LN-DL");
    auto account_back = bench::decode_account_state(bench::encode_state(a));
    REQUIRE(account_back.has_value());
    CHECK(account_back.value() == a);

    SUBCASE("and the text jsonb gives back, keys reordered and spaced") {
        // jsonb keeps no key order and writes ", " and ": ".
        std::string text = bench::encode_state(s);
        boost::json::object o = boost::json::parse(text).as_object();
        boost::json::object reordered;
        for (auto it = o.end(); it != o.begin();) {
            --it;
            reordered[it->key()] = it->value();
        }
        auto again = bench::registration_state_from_json(reordered);
        REQUIRE(again.has_value());
        CHECK(again.value() == s);
    }
}

TEST_CASE("pg state codec: rows that are not a state are refused") {
    const std::string good = bench::encode_state(everything_set());

    SUBCASE("not JSON") {
        auto r = bench::decode_registration_state(good.substr(0, good.size() / 2));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::malformed);
    }
    SUBCASE("a member missing") {
        boost::json::object o = boost::json::parse(good).as_object();
        o.erase("version");
        auto r = bench::registration_state_from_json(o);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::malformed);
        CHECK(r.error().field == "/version");
    }
    SUBCASE("a member of the wrong type, deep inside") {
        boost::json::value v = boost::json::parse(good);
        v.at("applications").at(0).at("objections").at(0).at("open") = "no";
        auto r = bench::registration_state_from_json(v);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().field == "/applications/0/objections/0/open");
    }
    SUBCASE("a key the state does not have") {
        boost::json::object o = boost::json::parse(good).as_object();
        o["owner"] = "someone";
        auto r = bench::registration_state_from_json(o);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().field == "/owner");
    }
    SUBCASE("an unknown status") {
        boost::json::object o = boost::json::parse(good).as_object();
        o["status"] = "archived";
        auto r = bench::registration_state_from_json(o);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().field == "/status");
    }
    SUBCASE("an account that is an array") {
        auto r = bench::decode_account_state("[1, 2]");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::malformed);
    }
    SUBCASE("an event of an unknown type, or without its fields") {
        auto unknown = bench::decode_event("RegistrationArchived", "{}");
        REQUIRE_FALSE(unknown.has_value());
        CHECK(unknown.error().code == errc::malformed);
        auto incomplete = bench::decode_event("ApplicationAccepted", "{}");
        REQUIRE_FALSE(incomplete.has_value());
        CHECK(incomplete.error().code == errc::malformed);
    }
}
