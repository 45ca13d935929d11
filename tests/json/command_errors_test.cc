// Bad command bodies: each is MALFORMED, with a JSON pointer to what is wrong.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <variant>

#include <boost/json/parse.hpp>

#include "events/json.h"

using namespace regledger;

namespace {

const actor subject_a{account_id("acct-a"), role::subject, std::nullopt};

rejection refused(std::string_view text) {
    auto r = json::parse_command_text(text, subject_a);
    if (r) FAIL("accepted: " << text);
    return r.error();
}

void check_refused(std::string_view text, std::string_view field, std::string_view message) {
    const rejection r = refused(text);
    CHECK(r.code == errc::malformed);
    CHECK(r.field == field);
    CHECK(r.message == message);
}

// A valid SubmitApplication with `extra` spliced into the record, and the
// applicants replaced by `applicants`.
std::string submission(std::string_view record_fields, std::string_view applicants) {
    std::string body = R"({"command_id": "c-100", "type": "SubmitApplication", "application_id": "app-0001",
        "kind": "initial", "registration_id": "LN-2026-0001", "institution_id": "LN", "applicants": )";
    body += applicants;
    body += R"(, "record": {"object_type": "resource", "summary": "全省市场主体登记基础信息",
        "industry_codes": ["72"], "coverage_regions": ["210000"])";
    body += record_fields;
    body += R"(}, "materials": []})";
    return body;
}

constexpr std::string_view lead = R"([{"name": "辽宁省数据中心", "uscc": "91350100M000100Y43", "role": "lead"}])";

}  // namespace

TEST_CASE("the submission helper builds a body that parses") {
    CHECK(json::parse_command_text(submission(R"(, "data_name": "辽宁省企业登记信息")", lead), subject_a).has_value());
}

TEST_CASE("text that is not JSON is MALFORMED about the whole body") {
    for (std::string_view text : {R"({"type": "PassReview",)", "", "{'type': 'PassReview'}", "\xff\xfe{}",
                                  R"({"type": "PassReview"} trailing)"}) {
        CAPTURE(text);
        const rejection r = refused(text);
        CHECK(r.code == errc::malformed);
        CHECK(r.field == "");
        CHECK(r.message.starts_with("not valid JSON: "));
    }
}

TEST_CASE("a body that is not an object") {
    check_refused("[1, 2]", "", "expected a command object, got an array");
    check_refused(R"("PassReview")", "", "expected a command object, got a string");
    check_refused("null", "", "expected a command object, got null");
    const auto r = json::parse_command(boost::json::value(42), subject_a);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == reject(errc::malformed, "expected a command object, got an integer", ""));
}

TEST_CASE("the type: missing, not a string, unknown") {
    check_refused(R"({"command_id": "c-1", "application_id": "app-0001"})", "/type", "missing required field");
    check_refused(R"({"command_id": "c-1", "type": 7, "application_id": "app-0001"})", "/type",
                  "expected a string, got an integer");
    check_refused(R"({"command_id": "c-1", "type": "ApproveEverything"})", "/type",
                  "unknown command type \"ApproveEverything\"");
    // Type names are exact: neither the snake_case name nor another case.
    check_refused(R"({"command_id": "c-1", "type": "pass_review", "application_id": "a"})", "/type",
                  "unknown command type \"pass_review\"");
    check_refused(R"({"command_id": "c-1", "type": "passreview", "application_id": "a"})", "/type",
                  "unknown command type \"passreview\"");
    // An event's name is not a command's.
    check_refused(R"({"command_id": "c-1", "type": "ReviewPassed", "application_id": "a"})", "/type",
                  "unknown command type \"ReviewPassed\"");
}

TEST_CASE("timeout commands are the scheduler's: a client cannot send one") {
    int timeouts = 0;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (([&] {
             const command alternative(std::in_place_index<I>);
             if (!is_timeout_command(alternative)) return;
             ++timeouts;
             // Give it every field it has, so only its type can be refused.
             boost::json::object body = json::to_json(alternative).as_object();
             body["command_id"] = "c-timeout";
             body["type"] = type_name_of(alternative);
             const auto r = json::parse_command(body, actor{account_id("scheduler"), role::system, std::nullopt});
             REQUIRE_FALSE(r.has_value());
             CHECK(r.error().field == "/type");
             CHECK(r.error().message == "unknown command type \"" + std::string(type_name_of(alternative)) + "\"");
         }()),
         ...);
    }(std::make_index_sequence<std::variant_size_v<command>>{});
    CHECK(timeouts == 5);
}

TEST_CASE("the command id: required, a string") {
    check_refused(R"({"type": "PassReview", "application_id": "app-0001"})", "/command_id", "missing required field");
    check_refused(R"({"command_id": 12, "type": "PassReview", "application_id": "app-0001"})", "/command_id",
                  "expected a string, got an integer");
    check_refused(R"({"command_id": null, "type": "PassReview", "application_id": "app-0001"})", "/command_id",
                  "expected a string, got null");
}

TEST_CASE("the expected version: an unsigned integer, nothing else") {
    constexpr std::string_view body_head = R"({"command_id": "c-1", "type": "PassReview", "application_id": "a",
        "expected_version": )";
    check_refused(std::string(body_head) + R"("7"})", "/expected_version", "expected an unsigned integer, got a string");
    check_refused(std::string(body_head) + "7.0}", "/expected_version",
                  "expected an unsigned integer, got a number with a fraction or exponent");
    check_refused(std::string(body_head) + "-1}", "/expected_version",
                  "expected an unsigned integer, got a negative one");
    check_refused(std::string(body_head) + "true}", "/expected_version", "expected an unsigned integer, got a boolean");
    const auto big = json::parse_command_text(std::string(body_head) + "18446744073709551615}", subject_a);
    REQUIRE(big.has_value());
    CHECK(big.value().expected_version == stream_version(18446744073709551615ULL));
}

TEST_CASE("the correlation id: a string when present") {
    check_refused(R"({"command_id": "c-1", "type": "PassReview", "application_id": "a", "correlation_id": ["x"]})",
                  "/correlation_id", "expected a string, got an array");
}

TEST_CASE("an unknown field, at any depth, is named by its pointer") {
    check_refused(R"({"command_id": "c-1", "type": "PassReview", "application_id": "a", "comment": "ok"})",
                  "/comment", "unknown field");
    // A field of another command is unknown to this one.
    check_refused(R"({"command_id": "c-1", "type": "PassReview", "application_id": "a", "reason": "ok"})",
                  "/reason", "unknown field");
    check_refused(submission(R"(, "data_name": "x", "colour": "red")", lead), "/record/colour", "unknown field");
    check_refused(submission(R"(, "data_name": "x")",
                             R"([{"name": "辽宁省数据中心", "uscc": "91350100M000100Y43", "role": "lead"},
                                 {"name": "沈阳市大数据管理局", "uscc": "11210100MB0000000X", "role": "joint",
                                  "nickname": "沈阳"}])"),
                  "/applicants/1/nickname", "unknown field");
    check_refused(submission(R"(, "data_name": "x", "coverage_time": {"start": "2020-01-01", "end": "2025-12-31",
                                 "step": "P1D"})",
                             lead),
                  "/record/coverage_time/step", "unknown field");
}

TEST_CASE("an unknown key is escaped in the pointer (RFC 6901)") {
    check_refused(R"({"command_id": "c-1", "type": "PassReview", "application_id": "a", "a/b": 1})", "/a~1b",
                  "unknown field");
    check_refused(R"({"command_id": "c-1", "type": "PassReview", "application_id": "a", "x~y": 1})", "/x~0y",
                  "unknown field");
    check_refused(R"({"command_id": "c-1", "type": "PassReview", "application_id": "a", "": 1})", "/",
                  "unknown field");
}

TEST_CASE("a missing required field, at any depth") {
    check_refused(R"({"command_id": "c-1", "type": "AcceptApplication"})", "/application_id", "missing required field");
    check_refused(R"({"command_id": "c-1", "type": "RequestSupplement", "application_id": "a", "note": "n"})",
                  "/items", "missing required field");
    check_refused(submission("", lead), "/record/data_name", "missing required field");
    check_refused(submission(R"(, "data_name": "x")", R"([{"name": "辽宁省数据中心", "role": "lead"}])"),
                  "/applicants/0/uscc", "missing required field");
    check_refused(submission(R"(, "data_name": "x", "coverage_time": {"start": "2020-01-01"})", lead),
                  "/record/coverage_time/end", "missing required field");
    check_refused(R"({"command_id": "c-1", "type": "FileObjection", "application_id": "a", "objection_id": "o",
                      "objector": {"name": "张三"}, "grounds": "g", "evidence": []})",
                  "/objector/id_number", "missing required field");
    // null is not a value for a required field.
    check_refused(R"({"command_id": "c-1", "type": "RejectApplication", "application_id": "a", "reason": null})",
                  "/reason", "expected a string, got null");
}

TEST_CASE("a wrong JSON type, at any depth") {
    check_refused(submission(R"(, "data_name": "x", "industry_codes": [62])", lead), "/record/industry_codes/0",
                  "expected a string, got an integer");
    check_refused(submission(R"(, "data_name": "x", "industry_codes": "72")", lead), "/record/industry_codes",
                  "expected an array, got a string");
    check_refused(submission(R"(, "data_name": 42)", lead), "/record/data_name", "expected a string, got an integer");
    check_refused(submission(R"(, "data_name": "x")", R"({"name": "辽宁省数据中心"})"), "/applicants",
                  "expected an array, got an object");
    check_refused(submission(R"(, "data_name": "x")", R"(["辽宁省数据中心"])"), "/applicants/0",
                  "expected an object, got a string");
    check_refused(R"({"command_id": "c-1", "type": "RequestSupplement", "application_id": "a",
                      "items": ["数据来源说明", false], "note": "n"})",
                  "/items/1", "expected a string, got a boolean");
    check_refused(R"({"command_id": "c-1", "type": "ResubmitMaterials", "application_id": "a",
                      "record": "unchanged", "materials": []})",
                  "/record", "expected an object, got a string");
    check_refused(R"({"command_id": "c-1", "type": "VerifyAccount", "account_id": {"id": "acct-a"}})",
                  "/account_id", "expected a string, got an object");
}

TEST_CASE("an unparseable date") {
    check_refused(submission(R"(, "data_name": "x", "coverage_time": {"start": "2026-02-30", "end": "2026-12-31"})",
                             lead),
                  "/record/coverage_time/start", "not a date (YYYY-MM-DD): \"2026-02-30\"");
    check_refused(submission(R"(, "data_name": "x", "coverage_time": {"start": "2026-01-01", "end": 20261231})",
                             lead),
                  "/record/coverage_time/end", "expected a date string (YYYY-MM-DD), got an integer");
    check_refused(submission(R"(, "data_name": "x", "object_type": "product", "authorization":
                                 {"agreement_ref": "SY-SQ-2026-007", "operation_start": "2026-01-01",
                                  "operation_end": "2028/06/30"})",
                             lead),
                  "/record/authorization/operation_end", "not a date (YYYY-MM-DD): \"2028/06/30\"");
}

TEST_CASE("an unknown enumerator") {
    check_refused(R"({"command_id": "c-1", "type": "SubmitApplication", "application_id": "a", "kind": "first",
                      "registration_id": "r", "institution_id": "LN", "applicants": [], "materials": []})",
                  "/kind", "unknown value \"first\"; expected one of: initial, change, correction, deregistration, "
                           "renewal");
    check_refused(submission(R"(, "data_name": "x")",
                             R"([{"name": "辽宁省数据中心", "uscc": "91350100M000100Y43", "role": "lead"},
                                 {"name": "沈阳市大数据管理局", "uscc": "11210100MB0000000X", "role": "co-lead"}])"),
                  "/applicants/1/role", "unknown value \"co-lead\"; expected one of: lead, joint");
    check_refused(submission(R"(, "data_name": "x", "object_type": "service")", lead), "/record/object_type",
                  "unknown value \"service\"; expected one of: resource, product");
    check_refused(submission(R"(, "data_name": "x", "access_method": "Open")", lead), "/record/access_method",
                  "unknown value \"Open\"; expected one of: open, authorized_operation, apply");
    check_refused(R"({"command_id": "c-1", "type": "RevokeRegistration", "registration_id": "r",
                      "grounds": 1, "announcement": "a"})",
                  "/grounds", "expected a string, got an integer");
    check_refused(R"({"command_id": "c-1", "type": "OpenAccount", "account_id": "acct-a", "name": "n",
                      "uscc": "u", "subject_type": "government", "region_code": "210000"})",
                  "/subject_type",
                  "unknown value \"government\"; expected one of: party_government, public_institution, "
                  "public_utility, authorized_operator, other");
}

TEST_CASE("the first problem in document order is the one reported") {
    // Unknown fields are found before missing ones; the envelope before the body.
    check_refused(R"({"type": "AcceptApplication", "extra": 1})", "/command_id", "missing required field");
    check_refused(R"({"command_id": "c-1", "type": "AcceptApplication", "extra": 1})", "/extra", "unknown field");
}
