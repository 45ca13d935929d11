// The JSON that the API writes: described structs, enums, dates, instants,
// digests, and whole event records in the history shape of API.md.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "events/json.h"
#include "engine/envelope.h"
#include "engine/sha256.h"

using namespace regledger;

namespace {

std::set<std::string> keys_of(const boost::json::object& o) {
    std::set<std::string> keys;
    for (const auto& entry : o) keys.emplace(entry.key());
    return keys;
}

boost::json::value jstr(const std::string& s) { return boost::json::value(s); }

calendar_date date(std::string_view text) { return *calendar_date::parse(text); }

registration_record liaoning_record() {
    registration_record r;
    r.object_type = object_type::resource;
    r.data_name = "辽宁省企业登记信息";
    r.summary = "全省市场主体登记基础信息，按日更新。";
    r.industry_codes = {"72", "94"};
    r.coverage_regions = {"210000"};
    r.coverage_time = date_range{date("2020-01-01"), date("2025-12-31")};
    r.update_frequency = "daily";
    r.access_method = access_method::authorized_operation;
    return r;
}

event_record submitted_record() {
    event_record rec;
    rec.envelope.event_id = event_id("reg-LN-2026-0001/1");
    rec.envelope.stream_id = stream_id("reg-LN-2026-0001");
    rec.envelope.version = stream_version(1);
    rec.envelope.occurred_at = *instant::parse("2026-09-30T10:15:00+08:00");
    rec.envelope.actor = actor{account_id("acct-a"), role::subject, std::nullopt};
    rec.envelope.command_id = command_id("cmd-0001");
    rec.envelope.correlation_id = correlation_id("cmd-0001");
    rec.envelope.causation_id = causation_id("cmd-0001");
    rec.envelope.rule_set = rule_set_id("LN-2025");
    rec.envelope.calendar_version = digest(sha256::of("calendar"));
    rec.envelope.config_hash = digest(sha256::of("config"));
    rec.envelope.prev_hash = digest(sha256_digest{});
    rec.envelope.hash = digest(sha256::of("event one"));

    application_submitted e;
    e.application_id = application_id("app-0001");
    e.registration_id = registration_id("LN-2026-0001");
    e.kind = application_kind::initial;
    e.institution_id = institution_id("LN");
    e.submitted_by = account_id("acct-a");
    e.applicants = {applicant{"辽宁省数据中心", "91350100M000100Y43", applicant_role::lead},
                    applicant{"沈阳市大数据管理局", "11210100MB0000000X", applicant_role::joint}};
    e.record = liaoning_record();
    e.materials = {material{"登记申请表.pdf", std::string(64, 'a')}};
    e.acceptance_due = date("2026-10-10");
    e.calendar_provisional = false;
    rec.event = e;
    return rec;
}

}  // namespace

TEST_CASE("to_json: an enumerator is its name, a trailing underscore stripped") {
    CHECK(json::to_json(role::public_) == "public");
    CHECK(json::to_json(role::clerk) == "clerk");
    CHECK(json::to_json(subject_type::party_government) == "party_government");
    CHECK(json::to_json(application_status::supplement_requested) == "supplement_requested");
    CHECK(json::to_json(revocation_grounds::false_materials) == "false_materials");
}

TEST_CASE("to_json: an actor in public role without institution leaves the institution out") {
    const auto v = json::to_json(actor{account_id("anonymous"), role::public_, std::nullopt});
    REQUIRE(v.is_object());
    CHECK(keys_of(v.as_object()) == std::set<std::string>{"account", "role"});
    CHECK(v.at("account") == "anonymous");
    CHECK(v.at("role") == "public");

    const auto clerk = json::to_json(actor{account_id("clerk-sy-1"), role::clerk, institution_id("LN-SY")});
    CHECK(clerk.at("institution") == "LN-SY");
    CHECK(clerk.at("role") == "clerk");
}

TEST_CASE("to_json: dates, instants and digests have their text forms") {
    CHECK(json::to_json(date("2026-10-10")) == "2026-10-10");
    CHECK(json::to_json(*instant::parse("2026-10-10T16:00:00Z")) == "2026-10-11T00:00:00+08:00");
    CHECK(json::to_json(*instant::parse("2026-10-10T16:00:00.25Z")) == "2026-10-11T00:00:00.250000+08:00");
    CHECK(json::to_json(digest(sha256::of("abc"))) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(json::to_json(digest(sha256_digest{})) == jstr(std::string(64, '0')));
}

TEST_CASE("to_json: named types are their values, integers stay integers") {
    CHECK(json::to_json(registration_id("LN-2026-0001")) == "LN-2026-0001");
    const auto version = json::to_json(stream_version(7));
    CHECK(version.is_uint64());
    CHECK(version == 7);
    const auto offset = json::to_json(log_offset(-1));
    CHECK(offset.is_int64());
    CHECK(offset == -1);
    CHECK(json::to_json(true) == true);
}

TEST_CASE("to_json: a record writes present optionals and leaves absent ones out") {
    const auto v = json::to_json(liaoning_record());
    REQUIRE(v.is_object());
    CHECK(keys_of(v.as_object()) == std::set<std::string>{"object_type", "data_name", "summary", "industry_codes",
                                                          "coverage_regions", "coverage_time", "update_frequency",
                                                          "access_method"});
    CHECK(v.at("object_type") == "resource");
    CHECK(v.at("data_name") == "辽宁省企业登记信息");
    CHECK(v.at("industry_codes") == boost::json::array{"72", "94"});
    CHECK(v.at("coverage_time") == boost::json::object{{"start", "2020-01-01"}, {"end", "2025-12-31"}});
    CHECK(v.at("access_method") == "authorized_operation");

    registration_record product = liaoning_record();
    product.object_type = object_type::product;
    product.product_form = product_form::digital_object;
    product.authorization = regledger::authorization{"LN-SQ-2026-007", date("2026-01-01"), date("2028-06-30")};
    product.coverage_time.reset();
    const auto p = json::to_json(product);
    CHECK_FALSE(p.as_object().contains("coverage_time"));
    CHECK(p.at("product_form") == "digital_object");
    CHECK(p.at("authorization") == boost::json::object{{"agreement_ref", "LN-SQ-2026-007"},
                                                       {"operation_start", "2026-01-01"},
                                                       {"operation_end", "2028-06-30"}});
}

TEST_CASE("to_json: events carry their own fields only") {
    const auto issued = json::to_json(event(code_issued{application_id("app-0001"), "2100002026100000019", "LN-LOCAL-1",
                                                        date("2026-10-26"), date("2029-10-26"), date("2029-08-27")}));
    CHECK(issued == boost::json::parse(R"({"application_id": "app-0001", "code": "2100002026100000019",
        "scheme": "LN-LOCAL-1", "valid_from": "2026-10-26", "valid_until": "2029-10-26",
        "renewal_window_opens": "2029-08-27"})"));

    const auto expired = json::to_json(registration_deregistered{std::nullopt, deregistration_reason::expired});
    CHECK(expired == boost::json::parse(R"({"reason": "expired"})"));

    const auto accepted = json::to_json(application_accepted{application_id("app-0001"), date("2026-11-05"), true});
    CHECK(accepted == boost::json::parse(R"({"application_id": "app-0001", "review_due": "2026-11-05",
        "calendar_provisional": true})"));

    const auto annulled =
        json::to_json(revocation_annulled{institution_id("LN"), "证据不足", registration_status::not_registered});
    CHECK(annulled.at("restored_status") == "not_registered");
}

TEST_CASE("to_json: an event record has the history shape with every envelope field") {
    const auto v = json::to_json(submitted_record());
    REQUIRE(v.is_object());
    const auto& o = v.as_object();
    CHECK(keys_of(o) == std::set<std::string>{"type", "event_id", "stream", "version", "schema_version",
                                              "occurred_at", "actor", "command_id", "correlation_id",
                                              "causation_id", "rule_set", "calendar_version", "config_hash", "data",
                                              "hash", "prev_hash"});
    CHECK(o.at("type") == "ApplicationSubmitted");
    CHECK(o.at("stream") == "reg-LN-2026-0001");
    CHECK(o.at("event_id") == "reg-LN-2026-0001/1");
    CHECK(o.at("version") == 1);
    CHECK(o.at("schema_version") == current_schema_version);
    CHECK(o.at("occurred_at") == "2026-09-30T10:15:00+08:00");
    CHECK(o.at("actor") == boost::json::object{{"account", "acct-a"}, {"role", "subject"}});
    CHECK(o.at("rule_set") == "LN-2025");
    CHECK(o.at("calendar_version") == jstr(to_hex(sha256::of("calendar"))));
    CHECK(o.at("config_hash") == jstr(to_hex(sha256::of("config"))));
    CHECK(o.at("hash") == jstr(to_hex(sha256::of("event one"))));
    CHECK(o.at("prev_hash") == jstr(std::string(64, '0')));

    const auto& data = o.at("data").as_object();
    CHECK(data.at("kind") == "initial");
    CHECK(data.at("acceptance_due") == "2026-10-10");
    CHECK(data.at("calendar_provisional") == false);
    CHECK(data.at("applicants") == boost::json::parse(R"([
        {"name": "辽宁省数据中心", "uscc": "91350100M000100Y43", "role": "lead"},
        {"name": "沈阳市大数据管理局", "uscc": "11210100MB0000000X", "role": "joint"}])"));
    CHECK(data.at("materials").at(0).at("sha256") == jstr(std::string(64, 'a')));
    CHECK(data.at("record").at("coverage_regions") == boost::json::array{"210000"});

    // The chain links close the document.
    auto it = o.end();
    CHECK((--it)->key() == "prev_hash");
    CHECK((--it)->key() == "hash");
    CHECK((--it)->key() == "data");
    CHECK(o.begin()->key() == "type");
}

TEST_CASE("to_json: an event record by a public actor says \"public\"") {
    event_record rec = submitted_record();
    rec.envelope.actor = actor{account_id("objector-1"), role::public_, std::nullopt};
    rec.event = objection_filed{application_id("app-0001"), objection_id("obj-1"),
                                objector{"张三", "210102199001011234"}, "数据范围与实际不符",
                                {material{"证据.pdf", std::string(64, 'b')}}};
    const auto v = json::to_json(rec);
    CHECK(v.at("type") == "ObjectionFiled");
    CHECK(v.at("actor").at("role") == "public");
    CHECK(v.at("data").at("objector") == boost::json::object{{"name", "张三"}, {"id_number", "210102199001011234"}});
}

TEST_CASE("to_json: a log position and the error body") {
    CHECK(json::to_json(log_position{partition_id(0), log_offset(1234)}) ==
          boost::json::parse(R"({"partition": 0, "offset": 1234})"));

    CHECK(json::error_body(reject(errc::validation, "不是有效的行业代码", "/record/industry_codes/0")) ==
          boost::json::parse(R"({"error": {"code": "VALIDATION", "message": "不是有效的行业代码",
                                           "field": "/record/industry_codes/0"}})"));
    const auto whole = json::error_body(reject(errc::conflict, "expected version 3, stream is at 4"));
    CHECK(whole == boost::json::parse(R"({"error": {"code": "CONFLICT",
                                                     "message": "expected version 3, stream is at 4"}})"));
}

TEST_CASE("from_json: reads a described struct strictly, enumerators by their JSON names") {
    const auto a = json::from_json<actor>(boost::json::parse(R"({"account": "anonymous", "role": "public"})"));
    REQUIRE(a.has_value());
    CHECK(a.value() == actor{account_id("anonymous"), role::public_, std::nullopt});

    const auto cpp_name = json::from_json<actor>(boost::json::parse(R"({"account": "x", "role": "public_"})"));
    REQUIRE_FALSE(cpp_name.has_value());
    CHECK(cpp_name.error().field == "/role");
    CHECK(cpp_name.error().message ==
          "unknown value \"public_\"; expected one of: subject, clerk, auditor, supervisor, public, system");

    // What to_json writes, from_json reads back.
    const registration_record record = liaoning_record();
    const auto back = json::from_json<registration_record>(json::to_json(record));
    REQUIRE(back.has_value());
    CHECK(back.value() == record);
}

TEST_CASE("from_json: booleans, integers in range, instants and digests") {
    using boost::json::parse;
    CHECK(json::from_json<bool>(parse("true")).value() == true);
    CHECK(json::from_json<bool>(parse("1")).error().message == "expected a boolean, got an integer");

    CHECK(json::from_json<std::int32_t>(parse("-2147483648")).value() == -2147483648LL);
    CHECK(json::from_json<std::int32_t>(parse("2147483648")).error().message == "integer out of range");
    CHECK(json::from_json<std::int64_t>(parse("9223372036854775808")).error().message == "integer out of range");
    CHECK(json::from_json<std::uint16_t>(parse("65535")).value() == 65535);
    CHECK(json::from_json<std::uint16_t>(parse("65536")).error().message == "integer out of range");
    CHECK(json::from_json<log_offset>(parse("-1")).value() == log_offset(-1));

    CHECK(json::from_json<instant>(parse(R"("2026-10-10T16:00:00Z")")).value() ==
          *instant::parse("2026-10-11T00:00:00+08:00"));
    CHECK(json::from_json<instant>(parse(R"("2026-10-10 16:00:00")")).error().message ==
          "not an RFC 3339 time with offset: \"2026-10-10 16:00:00\"");

    const auto d = json::from_json<digest>(json::to_json(digest(sha256::of("abc"))));
    REQUIRE(d.has_value());
    CHECK(d.value() == digest(sha256::of("abc")));
    CHECK(json::from_json<digest>(parse(R"("abc")")).error().message == "not 64 hex digits");

    // Errors point into the document.
    const auto nested = json::from_json<std::vector<date_range>>(
        parse(R"([{"start": "2026-01-01", "end": "2026-12-31"}, {"start": "2026-13-01", "end": "2026-12-31"}])"));
    REQUIRE_FALSE(nested.has_value());
    CHECK(nested.error() == reject(errc::malformed, "not a date (YYYY-MM-DD): \"2026-13-01\"", "/1/start"));
}

TEST_CASE("to_json: an enum value outside its enumerators is written as its number") {
    CHECK(json::to_json(static_cast<role>(42)) == 42);
}

TEST_CASE("append_json: the same text as serialize(to_json), escapes included") {
    auto same = [](const auto& v) {
        std::string text;
        json::append_json(text, v);
        CHECK(text == boost::json::serialize(json::to_json(v)));
    };
    const event_record rec = submitted_record();
    same(rec.event);
    same(rec.envelope);
    same(liaoning_record());
    same(registration_record{});
    same(std::get<application_submitted>(rec.event).applicants);
    same(std::vector<std::string>{});
    same(std::optional<calendar_date>{});
    same(std::optional<calendar_date>{date("2026-02-28")});
    same(*instant::parse("2026-09-30T10:15:00+08:00"));
    same(sha256::of("calendar"));
    same(stream_version(18'446'744'073'709'551'615ULL));
    same(std::int64_t{-9'223'372'036'854'775'807LL - 1});
    same(0);
    same(true);
    same(role::public_);
    std::string every_byte;
    for (int c = 1; c < 0x80; ++c) every_byte.push_back(static_cast<char>(c));
    every_byte += "辽宁省\"数据\"\\中心";
    same(every_byte);
    same(std::string(1, '\0'));
}

TEST_CASE("append_json: object_writer writes what an object with the same members serializes to") {
    std::string text;
    json::object_writer w(text);
    w.put("id", application_id("app-1"));
    w.put_string("status", "open");
    w.put_null("open_application");
    w.put("applicants", std::get<application_submitted>(submitted_record().event).applicants);
    w.key("ids") += "[]";
    w.close();
    boost::json::object o;
    o["id"] = "app-1";
    o["status"] = "open";
    o["open_application"] = nullptr;
    o["applicants"] = json::to_json(std::get<application_submitted>(submitted_record().event).applicants);
    o["ids"] = boost::json::array();
    CHECK(text == boost::json::serialize(o));
}
