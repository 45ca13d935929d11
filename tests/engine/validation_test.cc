// Validation of what a subject submits (DOMAIN.md): each failure is a typed
// VALIDATION rejection naming the field with a JSON pointer, and changes
// nothing.
#include "engine/validate.h"
#include "tests/engine/domain_harness.h"

using namespace regledger;
using namespace regledger::testing;

namespace {

// Validates a variation of a good initial application.
rejection invalid_submission(const std::function<void(submit_application&)>& spoil) {
    auto c = initial_application();
    spoil(c);
    world w;
    return w.refused(c, subject("acct-a"), at("2026-03-02T09:00:00+08:00"), errc::validation);
}

}  // namespace

TEST_CASE("第10条: applicants — at least one, valid credit codes, exactly one lead") {
    CHECK(invalid_submission([](auto& c) { c.applicants.clear(); }).field == "/applicants");
    CHECK(invalid_submission([](auto& c) { c.applicants[0].uscc = "91350100M000100Y44"; }).field ==
          "/applicants/0/uscc");
    CHECK(invalid_submission([](auto& c) { c.applicants[0].name = ""; }).field == "/applicants/0/name");
    CHECK(invalid_submission([](auto& c) {
              c.applicants = joint_ab();
              c.applicants[1].role = applicant_role::lead;
          }).field == "/applicants");
    CHECK(invalid_submission([](auto& c) {
              c.applicants = joint_ab();
              c.applicants[0].role = applicant_role::joint;
          }).field == "/applicants");
    CHECK(invalid_submission([](auto& c) {
              c.applicants = joint_ab();
              c.applicants[1].uscc = c.applicants[0].uscc;
          }).field == "/applicants/1/uscc");
}

TEST_CASE("第15条: the record — names, summary, industry divisions and coverage regions") {
    CHECK(invalid_submission([](auto& c) { c.record.reset(); }).field == "/record");
    CHECK(invalid_submission([](auto& c) { c.record->data_name = ""; }).field == "/record/data_name");
    CHECK(invalid_submission([](auto& c) {
              c.record->data_name.clear();
              for (int i = 0; i < 201; ++i) c.record->data_name += "数";
          }).field == "/record/data_name");
    CHECK(invalid_submission([](auto& c) { c.record->summary = std::string(2001, 's'); }).field == "/record/summary");
    CHECK(invalid_submission([](auto& c) { c.record->summary = "\xff\xfe"; }).field == "/record/summary");
    CHECK(invalid_submission([](auto& c) { c.record->industry_codes.clear(); }).field == "/record/industry_codes");
    CHECK(invalid_submission([](auto& c) { c.record->industry_codes = {"54", "98"}; }).field ==
          "/record/industry_codes/1");
    CHECK(invalid_submission([](auto& c) { c.record->industry_codes = {"5"}; }).field == "/record/industry_codes/0");
    CHECK(invalid_submission([](auto& c) { c.record->industry_codes = {"54", "54"}; }).field ==
          "/record/industry_codes/1");
    CHECK(invalid_submission([](auto& c) { c.record->coverage_regions = {"210199"}; }).field ==
          "/record/coverage_regions/0");
    CHECK(invalid_submission([](auto& c) { c.record->coverage_regions.clear(); }).field == "/record/coverage_regions");
    CHECK(invalid_submission([](auto& c) {
              c.record->coverage_time = date_range{day("2026-02-01"), day("2026-01-01")};
          }).field == "/record/coverage_time/end");
    CHECK(invalid_submission([](auto& c) { c.record->update_frequency = ""; }).field == "/record/update_frequency");
}

TEST_CASE("第15条: coverage may be a Liaoning code, a province code or the whole country") {
    world w;
    auto c = initial_application();
    c.record->coverage_regions = {"210100", "210102", "110000", "000000"};
    w.ok(c, subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
}

TEST_CASE("第8、13条: a product names its form, under authorization its agreement and period") {
    auto product = [](submit_application& c) {
        c.record->object_type = object_type::product;
        c.record->product_form = product_form::dataset;
    };
    CHECK(invalid_submission([&](auto& c) {
              product(c);
              c.record->product_form.reset();
          }).field == "/record/product_form");
    CHECK(invalid_submission([&](auto& c) { c.record->product_form = product_form::api; }).field ==
          "/record/product_form");
    CHECK(invalid_submission([&](auto& c) {
              product(c);
              c.record->access_method = access_method::authorized_operation;
          }).field == "/record/authorization");
    CHECK(invalid_submission([&](auto& c) {
              product(c);
              c.record->authorization = authorization{"", day("2026-01-01"), day("2027-01-01")};
          }).field == "/record/authorization/agreement_ref");
    CHECK(invalid_submission([&](auto& c) {
              product(c);
              c.record->authorization = authorization{"A-1", day("2027-01-01"), day("2026-01-01")};
          }).field == "/record/authorization/operation_end");
    CHECK(invalid_submission([&](auto& c) {
              product(c);
              c.record->authorization = authorization{"A-1", day("2025-01-01"), day("2026-01-01")};
          }).field == "/record/authorization/operation_end");
}

TEST_CASE("第10条: materials are named with their SHA-256, which the ledger keeps (存证)") {
    CHECK(invalid_submission([](auto& c) { c.materials.clear(); }).field == "/materials");
    CHECK(invalid_submission([](auto& c) { c.materials[0].sha256 = "abc"; }).field == "/materials/0/sha256");
    CHECK(invalid_submission([](auto& c) { c.materials[0].sha256 = std::string(64, 'A'); }).field ==
          "/materials/0/sha256");
    CHECK(invalid_submission([](auto& c) { c.materials[0].name = ""; }).field == "/materials/0/name");
}

TEST_CASE("API.md: ids match [A-Za-z0-9._-]{1,64}, deregistration and renewal carry no record") {
    CHECK(invalid_submission([](auto& c) { c.application_id = application_id("a b"); }).field == "/application_id");
    CHECK(invalid_submission([](auto& c) { c.registration_id = registration_id(std::string(65, 'r')); }).field ==
          "/registration_id");
    CHECK(invalid_submission([](auto& c) { c.institution_id = institution_id("LN-NOPE"); }).field ==
          "/institution_id");
    CHECK(invalid_submission([](auto& c) { c.kind = application_kind::renewal; }).field == "/record");
    CHECK(is_valid_client_id("app-2026.01_x"));
    CHECK_FALSE(is_valid_client_id(""));
    CHECK_FALSE(is_valid_client_id("timer:reg-1"));
    CHECK(validate_command_id(command_id("cmd-1")) == std::nullopt);
    CHECK(validate_command_id(command_id("命令"))->field == "/command_id");
}

TEST_CASE("第19条: an objection is real-name, with grounds and evidence") {
    world w;
    w.make_valid();
    const file_objection good{application_id("app-1"), objection_id("obj-1"), {"张三", "110101199003074514"},
                              "理由", {{"e.pdf", std::string(64, 'a')}}};
    auto check_field = [&](const std::function<void(file_objection&)>& spoil, std::string_view field) {
        auto c = good;
        spoil(c);
        CHECK(w.refused(c, anyone(), at("2026-04-01T09:00:00+08:00"), errc::validation).field == field);
    };
    check_field([](auto& c) { c.objector.name = ""; }, "/objector/name");
    check_field([](auto& c) { c.objector.id_number = "110101199003074515"; }, "/objector/id_number");
    check_field([](auto& c) { c.grounds = ""; }, "/grounds");
    check_field([](auto& c) { c.evidence.clear(); }, "/evidence");
    check_field([](auto& c) { c.objection_id = objection_id(""); }, "/objection_id");
}

TEST_CASE("Clerk inputs: reasons, supplement items and announcements are required and bounded") {
    world w;
    w.ok(initial_application(), subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
    const auto sy = clerk("LN-SY");
    const auto now = at("2026-03-03T09:00:00+08:00");
    CHECK(w.refused(reject_application{application_id("app-1"), ""}, sy, now, errc::validation).field == "/reason");
    CHECK(w.refused(request_supplement{application_id("app-1"), {}, ""}, sy, now, errc::validation).field == "/items");
    CHECK(w.refused(request_supplement{application_id("app-1"), {""}, ""}, sy, now, errc::validation).field ==
          "/items/0");
    CHECK(w.refused(request_supplement{application_id("app-1"), {"x"}, std::string(2001, 'n')}, sy, now,
                    errc::validation)
              .field == "/note");
    CHECK(w.refused(revoke_registration{registration_id("reg-1"), revocation_grounds::other, ""}, sy, now,
                    errc::validation)
              .field == "/announcement");
}

TEST_CASE("Accounts: name, credit code and region are checked") {
    const auto dirs = sample_institutions();
    decide_context ctx;
    ctx.now = at("2026-03-02T09:00:00+08:00");
    ctx.rules = &rules::rule_set::ln_2025();
    ctx.institutions = &dirs;
    ctx.issuer = anyone();
    auto field_of = [&](open_account c) { return decide(account_state{}, c, ctx).error().field; };
    const open_account good{account_id("acct-x"), "主体", std::string(uscc_a), subject_type::other, "210100"};
    auto c = good;
    c.uscc = "91350100M000100Y4";
    CHECK(field_of(c) == "/uscc");
    c = good;
    c.region_code = "000000";
    CHECK(field_of(c) == "/region_code");
    c = good;
    c.name = "";
    CHECK(field_of(c) == "/name");
    c = good;
    c.account_id = account_id("bad id");
    CHECK(field_of(c) == "/account_id");
}

TEST_CASE("UTF-8 and resident ID helpers") {
    CHECK(utf8_length("辽宁") == 2u);
    CHECK(utf8_length("abc") == 3u);
    CHECK(utf8_length("\xe8\xbe") == std::nullopt);        // truncated
    CHECK(utf8_length("\xc0\xaf") == std::nullopt);        // overlong
    CHECK(utf8_length("\xed\xa0\x80") == std::nullopt);    // surrogate
    CHECK(utf8_length("\xf4\x90\x80\x80") == std::nullopt);  // past U+10FFFF
    CHECK(is_valid_resident_id("110101199003074514"));
    CHECK(is_valid_resident_id("11010519491231002X"));
    CHECK_FALSE(is_valid_resident_id("110101199003074515"));
    CHECK_FALSE(is_valid_resident_id("11010119900307451"));
}

TEST_CASE("Institutions from the configuration are checked at start") {
    std::vector<institution> list{
        {institution_id("LN"), "辽宁省数据中心", institution_level::provincial, "210000", std::nullopt},
        {institution_id("LN-SY"), "沈阳", institution_level::municipal, "210100", institution_id("LN")},
    };
    CHECK(institution_directory::make(list).has_value());
    auto spoiled = list;
    spoiled[1].parent = institution_id("LN-X");
    CHECK(institution_directory::make(spoiled).error().field == "/institutions/1/parent");
    spoiled = list;
    spoiled[1].region_code = "999999";
    CHECK(institution_directory::make(spoiled).error().field == "/institutions/1/region_code");
    spoiled = list;
    spoiled[1].id = institution_id("LN");
    CHECK(institution_directory::make(spoiled).error().field == "/institutions/1/id");
    spoiled = list;
    spoiled[1].parent.reset();
    CHECK(institution_directory::make(spoiled).error().field == "/institutions/1/parent");
}
