// Every command of API.md's `POST /v1/commands` table, read from a body of
// the documented shape.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/parse.hpp>

#include "events/json.h"

using namespace regledger;

namespace {

const actor clerk_sy{account_id("clerk-sy-1"), role::clerk, institution_id("LN-SY")};

command_envelope parse_ok(std::string_view text, const actor& issuer = clerk_sy) {
    auto r = json::parse_command_text(text, issuer);
    if (!r) FAIL("refused: " << r.error().message << " at \"" << r.error().field << "\"");
    return std::move(r).value();
}

template <typename C>
C parse_as(std::string_view text) {
    const command_envelope env = parse_ok(text);
    const C* c = std::get_if<C>(&env.body);
    REQUIRE(c != nullptr);
    return *c;
}

calendar_date date(std::string_view text) { return *calendar_date::parse(text); }

const std::string hash_a(64, 'a');
const std::string hash_b(64, 'b');

// One body per command a client may send, in API.md's shape, with every field
// written in the form to_json writes it.
struct example {
    std::string_view type;
    std::string_view body;
};

constexpr example examples[] = {
    {"OpenAccount", R"({"command_id": "c-001", "type": "OpenAccount", "account_id": "acct-a",
        "name": "辽宁省数据中心", "uscc": "91350100M000100Y43", "subject_type": "public_institution",
        "region_code": "210000"})"},
    {"VerifyAccount", R"({"command_id": "c-002", "type": "VerifyAccount", "account_id": "acct-a"})"},
    {"SubmitApplication", R"({"command_id": "c-003", "type": "SubmitApplication",
        "application_id": "app-0001", "kind": "initial", "registration_id": "LN-2026-0001",
        "institution_id": "LN",
        "applicants": [{"name": "辽宁省数据中心", "uscc": "91350100M000100Y43", "role": "lead"},
                       {"name": "沈阳市大数据管理局", "uscc": "11210100MB0000000X", "role": "joint"}],
        "record": {"object_type": "resource", "data_name": "辽宁省企业登记信息",
                   "summary": "全省市场主体登记基础信息，按日更新。", "industry_codes": ["72", "94"],
                   "coverage_regions": ["210000", "210100"],
                   "coverage_time": {"start": "2020-01-01", "end": "2025-12-31"},
                   "update_frequency": "daily", "data_scale": "1.2 亿条", "security_level": "二级",
                   "access_method": "authorized_operation"},
        "materials": [{"name": "登记申请表.pdf",
                       "sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}]})"},
    {"RequestSupplement", R"({"command_id": "c-004", "type": "RequestSupplement", "application_id": "app-0001",
        "items": ["数据来源说明", "安全评估报告"], "note": "请一次性补正上述材料"})"},
    {"ResubmitMaterials", R"({"command_id": "c-005", "type": "ResubmitMaterials", "application_id": "app-0001",
        "materials": [{"name": "数据来源说明.pdf",
                       "sha256": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}]})"},
    {"AcceptApplication", R"({"command_id": "c-006", "type": "AcceptApplication", "expected_version": 3,
        "application_id": "app-0001"})"},
    {"RejectApplication", R"({"command_id": "c-007", "type": "RejectApplication", "application_id": "app-0001",
        "reason": "申请材料与登记对象不符"})"},
    {"WithdrawApplication", R"({"command_id": "c-008", "type": "WithdrawApplication",
        "application_id": "app-0001"})"},
    {"PassReview", R"({"command_id": "c-009", "type": "PassReview", "application_id": "app-0001"})"},
    {"FailReview", R"({"command_id": "c-010", "type": "FailReview", "application_id": "app-0001",
        "reason": "数据内容摘要不完整"})"},
    {"ExplainReviewDelay", R"({"command_id": "c-011", "type": "ExplainReviewDelay", "application_id": "app-0001",
        "reason": "需征求行业主管部门意见"})"},
    {"FileObjection", R"({"command_id": "c-012", "type": "FileObjection", "application_id": "app-0001",
        "objection_id": "obj-1", "objector": {"name": "张三", "id_number": "210102199001011234"},
        "grounds": "数据覆盖范围与实际不符",
        "evidence": [{"name": "证据.pdf",
                      "sha256": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}]})"},
    {"UpholdObjection", R"({"command_id": "c-013", "type": "UpholdObjection", "application_id": "app-0001",
        "objection_id": "obj-1", "reason": "异议成立"})"},
    {"DismissObjection", R"({"command_id": "c-014", "type": "DismissObjection", "application_id": "app-0001",
        "objection_id": "obj-1", "reason": "异议理由不成立"})"},
    {"RevokeRegistration", R"({"command_id": "c-015", "type": "RevokeRegistration",
        "registration_id": "LN-2026-0001", "grounds": "false_materials",
        "announcement": "经核查，该登记提供虚假材料，予以撤销。"})"},
    {"AnnulRevocation", R"({"command_id": "c-016", "type": "AnnulRevocation", "registration_id": "LN-2026-0001",
        "reason": "撤销依据不足，予以纠正"})"},
};

const example* example_for(std::string_view type) {
    for (const auto& e : examples) {
        if (e.type == type) return &e;
    }
    return nullptr;
}

}  // namespace

TEST_CASE("every command a client may send has an example that parses back to the same JSON") {
    std::set<std::string_view> covered;
    // Walk the command variant itself, so a new command needs an example here.
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (([&] {
             const command alternative(std::in_place_index<I>);
             if (is_timeout_command(alternative)) return;
             const std::string_view type = type_name_of(alternative);
             CAPTURE(type);
             const example* e = example_for(type);
             REQUIRE_MESSAGE(e != nullptr, "no JSON example for " << type);
             const command_envelope env = parse_ok(e->body);
             CHECK(env.body.index() == I);
             CHECK(env.issued_by == clerk_sy);

             boost::json::object written = json::to_json(env.body).as_object();
             written["command_id"] = env.command_id.value();
             written["type"] = type;
             if (env.expected_version) written["expected_version"] = env.expected_version->value();
             CHECK(boost::json::value(written) == boost::json::parse(e->body));
             covered.insert(type);
         }()),
         ...);
    }(std::make_index_sequence<std::variant_size_v<command>>{});
    CHECK(covered.size() == std::size(examples));
}

TEST_CASE("OpenAccount: a subject opens its real-name account") {
    const auto c = parse_as<open_account>(example_for("OpenAccount")->body);
    CHECK(c.account_id == account_id("acct-a"));
    CHECK(c.name == "辽宁省数据中心");
    CHECK(c.uscc == "91350100M000100Y43");
    CHECK(c.subject_type == subject_type::public_institution);
    CHECK(c.region_code == "210000");
}

TEST_CASE("VerifyAccount") {
    CHECK(parse_as<verify_account>(example_for("VerifyAccount")->body).account_id == account_id("acct-a"));
}

TEST_CASE("SubmitApplication: a joint initial application with a full record") {
    const command_envelope env = parse_ok(example_for("SubmitApplication")->body);
    CHECK(env.command_id == command_id("c-003"));
    CHECK_FALSE(env.expected_version.has_value());
    CHECK_FALSE(env.correlation_id.has_value());
    const auto& c = std::get<submit_application>(env.body);
    CHECK(c.application_id == application_id("app-0001"));
    CHECK(c.kind == application_kind::initial);
    CHECK(c.registration_id == registration_id("LN-2026-0001"));
    CHECK(c.institution_id == institution_id("LN"));
    REQUIRE(c.applicants.size() == 2);
    CHECK(c.applicants[0] == applicant{"辽宁省数据中心", "91350100M000100Y43", applicant_role::lead});
    CHECK(c.applicants[1] == applicant{"沈阳市大数据管理局", "11210100MB0000000X", applicant_role::joint});
    REQUIRE(c.record.has_value());
    const registration_record& r = *c.record;
    CHECK(r.object_type == object_type::resource);
    CHECK(r.data_name == "辽宁省企业登记信息");
    CHECK(r.industry_codes == std::vector<std::string>{"72", "94"});
    CHECK(r.coverage_regions == std::vector<std::string>{"210000", "210100"});
    CHECK(r.coverage_time == date_range{date("2020-01-01"), date("2025-12-31")});
    CHECK(r.update_frequency == "daily");
    CHECK(r.data_scale == "1.2 亿条");
    CHECK(r.security_level == "二级");
    CHECK(r.access_method == access_method::authorized_operation);
    CHECK_FALSE(r.product_form.has_value());
    CHECK_FALSE(r.authorization.has_value());
    CHECK(c.materials == std::vector<material>{material{"登记申请表.pdf", hash_a}});
}

TEST_CASE("SubmitApplication: a product under authorized operation") {
    const auto c = parse_as<submit_application>(R"({"command_id": "c-020", "type": "SubmitApplication",
        "application_id": "app-0002", "kind": "initial", "registration_id": "LN-2026-0002",
        "institution_id": "LN-SY",
        "applicants": [{"name": "沈阳数据运营有限公司", "uscc": "91210100MA0000000A", "role": "lead"}],
        "record": {"object_type": "product", "data_name": "企业信用画像接口", "summary": "按统一社会信用代码查询",
                   "industry_codes": ["72"], "coverage_regions": ["210100"], "product_form": "api",
                   "authorization": {"agreement_ref": "SY-SQ-2026-007", "operation_start": "2026-01-01",
                                     "operation_end": "2028-06-30"}},
        "materials": []})");
    REQUIRE(c.record.has_value());
    CHECK(c.record->object_type == object_type::product);
    CHECK(c.record->product_form == product_form::api);
    REQUIRE(c.record->authorization.has_value());
    CHECK(*c.record->authorization ==
          regledger::authorization{"SY-SQ-2026-007", date("2026-01-01"), date("2028-06-30")});
    CHECK_FALSE(c.record->coverage_time.has_value());
    CHECK(c.materials.empty());
}

TEST_CASE("SubmitApplication: a deregistration has no record, null means absent too") {
    constexpr std::string_view without = R"({"command_id": "c-021", "type": "SubmitApplication",
        "application_id": "app-0003", "kind": "deregistration", "registration_id": "LN-2026-0001",
        "institution_id": "LN", "applicants": [{"name": "辽宁省数据中心", "uscc": "91350100M000100Y43",
        "role": "lead"}], "materials": []})";
    const auto c = parse_as<submit_application>(without);
    CHECK(c.kind == application_kind::deregistration);
    CHECK_FALSE(c.record.has_value());

    const auto with_null = parse_as<submit_application>(R"({"command_id": "c-021", "type": "SubmitApplication",
        "application_id": "app-0003", "kind": "deregistration", "registration_id": "LN-2026-0001",
        "institution_id": "LN", "applicants": [{"name": "辽宁省数据中心", "uscc": "91350100M000100Y43",
        "role": "lead"}], "record": null, "materials": []})");
    CHECK(with_null == c);
}

TEST_CASE("RequestSupplement") {
    const auto c = parse_as<request_supplement>(example_for("RequestSupplement")->body);
    CHECK(c.items == std::vector<std::string>{"数据来源说明", "安全评估报告"});
    CHECK(c.note == "请一次性补正上述材料");
}

TEST_CASE("ResubmitMaterials: with and without a corrected record") {
    const auto without = parse_as<resubmit_materials>(example_for("ResubmitMaterials")->body);
    CHECK_FALSE(without.record.has_value());
    CHECK(without.materials == std::vector<material>{material{"数据来源说明.pdf", hash_b}});

    const auto with = parse_as<resubmit_materials>(R"({"command_id": "c-022", "type": "ResubmitMaterials",
        "application_id": "app-0001",
        "record": {"object_type": "resource", "data_name": "辽宁省企业登记信息（修订）", "summary": "补充说明",
                   "industry_codes": ["72"], "coverage_regions": ["210000"]},
        "materials": []})");
    REQUIRE(with.record.has_value());
    CHECK(with.record->data_name == "辽宁省企业登记信息（修订）");
    CHECK_FALSE(with.record->update_frequency.has_value());
    CHECK_FALSE(with.record->access_method.has_value());
}

TEST_CASE("AcceptApplication: with an expected version") {
    const command_envelope env = parse_ok(example_for("AcceptApplication")->body);
    REQUIRE(env.expected_version.has_value());
    CHECK(*env.expected_version == stream_version(3));
    CHECK(std::get<accept_application>(env.body).application_id == application_id("app-0001"));
}

TEST_CASE("RejectApplication, FailReview, ExplainReviewDelay carry a reason") {
    CHECK(parse_as<reject_application>(example_for("RejectApplication")->body).reason == "申请材料与登记对象不符");
    CHECK(parse_as<fail_review>(example_for("FailReview")->body).reason == "数据内容摘要不完整");
    CHECK(parse_as<explain_review_delay>(example_for("ExplainReviewDelay")->body).reason ==
          "需征求行业主管部门意见");
}

TEST_CASE("WithdrawApplication and PassReview name the application") {
    CHECK(parse_as<withdraw_application>(example_for("WithdrawApplication")->body).application_id ==
          application_id("app-0001"));
    CHECK(parse_as<pass_review>(example_for("PassReview")->body).application_id == application_id("app-0001"));
}

TEST_CASE("FileObjection: a real-name objection with evidence") {
    const actor anyone{account_id("anonymous"), role::public_, std::nullopt};
    const command_envelope env = parse_ok(example_for("FileObjection")->body, anyone);
    CHECK(env.issued_by == anyone);
    const auto& c = std::get<file_objection>(env.body);
    CHECK(c.objection_id == objection_id("obj-1"));
    CHECK(c.objector == objector{"张三", "210102199001011234"});
    CHECK(c.grounds == "数据覆盖范围与实际不符");
    CHECK(c.evidence == std::vector<material>{material{"证据.pdf", hash_b}});
}

TEST_CASE("UpholdObjection and DismissObjection") {
    const auto upheld = parse_as<uphold_objection>(example_for("UpholdObjection")->body);
    CHECK(upheld.objection_id == objection_id("obj-1"));
    CHECK(upheld.reason == "异议成立");
    const auto dismissed = parse_as<dismiss_objection>(example_for("DismissObjection")->body);
    CHECK(dismissed.objection_id == objection_id("obj-1"));
    CHECK(dismissed.reason == "异议理由不成立");
}

TEST_CASE("RevokeRegistration and AnnulRevocation") {
    const auto revoked = parse_as<revoke_registration>(example_for("RevokeRegistration")->body);
    CHECK(revoked.registration_id == registration_id("LN-2026-0001"));
    CHECK(revoked.grounds == revocation_grounds::false_materials);
    CHECK(revoked.announcement == "经核查，该登记提供虚假材料，予以撤销。");
    const auto annulled = parse_as<annul_revocation>(example_for("AnnulRevocation")->body);
    CHECK(annulled.reason == "撤销依据不足，予以纠正");
}

TEST_CASE("the envelope: correlation id, expected version null, issuer") {
    const command_envelope env = parse_ok(R"({"command_id": "c-030", "type": "PassReview",
        "correlation_id": "review-2026-10", "expected_version": null, "application_id": "app-0001"})");
    CHECK(env.command_id == command_id("c-030"));
    REQUIRE(env.correlation_id.has_value());
    CHECK(*env.correlation_id == correlation_id("review-2026-10"));
    CHECK_FALSE(env.expected_version.has_value());
    CHECK(env.issued_by == clerk_sy);
}

TEST_CASE("shape only: domain rules are left to the engine") {
    // An invalid credit code, an industry code outside GB/T 4754, an empty
    // name and no applicant at all are the engine's to refuse, with VALIDATION.
    const auto c = parse_as<submit_application>(R"({"command_id": "c-031", "type": "SubmitApplication",
        "application_id": "app-0004", "kind": "initial", "registration_id": "LN-2026-0004",
        "institution_id": "LN", "applicants": [],
        "record": {"object_type": "resource", "data_name": "", "summary": "", "industry_codes": ["999"],
                   "coverage_regions": ["12345"]},
        "materials": [{"name": "x", "sha256": "not a hash"}]})");
    CHECK(c.applicants.empty());
    CHECK(c.record->industry_codes == std::vector<std::string>{"999"});
    CHECK(c.materials[0].sha256 == "not a hash");
}
