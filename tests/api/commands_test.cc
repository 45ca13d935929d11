// POST /v1/commands over HTTP: every command type of API.md with the events
// it appends, and every error code with its one shape.
#include "tests/api/server_fixture.h"

using namespace regledger::api_testing;
using strings = std::vector<std::string>;

namespace {

// The types of a registration's events, oldest first, as the auditor reads them.
strings history_types(server_fixture& f, std::string_view registration) {
    const auto r = f.get(fmt::format("/v1/registrations/{}/history", registration), tokens::auditor);
    REQUIRE_MESSAGE(r.status == 200, describe(r));
    strings out;
    const auto body = r.obj();
    for (const auto& e : body.at("events").as_array()) out.emplace_back(e.at("type").as_string());
    return out;
}

strings tail(const strings& all, std::size_t n) {
    REQUIRE(all.size() >= n);
    return strings(all.end() - static_cast<std::ptrdiff_t>(n), all.end());
}

const value& event_data(const object& body, std::size_t i) { return body.at("events").as_array().at(i).at("data"); }

}  // namespace

TEST_CASE("Commands: every command type of API.md succeeds over HTTP with its events") {
    server_fixture f;

    // OpenAccount is public: no token.
    auto opened = f.ok(command("OpenAccount", "c-open-a",
                               {{"account_id", "acct-a"},
                                {"name", name_a},
                                {"uscc", uscc_a},
                                {"subject_type", "public_utility"},
                                {"region_code", "210100"}}));
    CHECK(event_types(opened) == strings{"AccountOpened"});
    CHECK(opened.at("stream").as_string() == "acct-acct-a");
    CHECK(opened.at("version").to_number<std::int64_t>() == 1);
    CHECK(opened.at("position").at("partition").is_int64());
    CHECK(opened.at("position").at("offset").is_int64());
    {
        const auto& e = opened.at("events").as_array().at(0).as_object();
        CHECK(e.at("version").to_number<std::int64_t>() == 1);
        CHECK(e.at("occurred_at").as_string() == "2026-03-02T09:00:00+08:00");
        CHECK(e.at("data").at("uscc").as_string() == uscc_a);
    }
    CHECK(event_types(f.ok(command("VerifyAccount", "c-verify-a", {{"account_id", "acct-a"}}), tokens::clerk_sy)) ==
          strings{"AccountVerified"});
    f.ok(command("OpenAccount", "c-open-b",
                 {{"account_id", "acct-b"},
                  {"name", name_b},
                  {"uscc", uscc_b},
                  {"subject_type", "authorized_operator"},
                  {"region_code", "210100"}}));
    f.ok(command("VerifyAccount", "c-verify-b", {{"account_id", "acct-b"}}), tokens::clerk_sy);

    // The initial application, through supplement, acceptance, a late review
    // with its explanation, review, publicity with an objection, and the code.
    auto submitted = f.ok(submit("c-submit-1", "app-1", "reg-1", {.applicants = applicants_ab()}), tokens::subject_a);
    CHECK(event_types(submitted) == strings{"ApplicationSubmitted"});
    CHECK(submitted.at("stream").as_string() == "reg-reg-1");
    CHECK(event_data(submitted, 0).at("acceptance_due").as_string() == "2026-03-05");

    CHECK(event_types(f.ok(on_application("RequestSupplement", "c-supp-1", "app-1",
                                          {{"items", array{"数据样例"}}, {"note", "请补充数据样例"}}),
                           tokens::clerk_sy)) == strings{"SupplementRequested"});
    f.advance("2026-03-03T09:00:00+08:00");
    // Any applicant of a joint application may act on it (第10条).
    auto resubmitted = f.ok(on_application("ResubmitMaterials", "c-resubmit-1", "app-1",
                                           {{"materials", sample_materials("数据样例.csv", 'b')}}),
                            tokens::subject_b);
    CHECK(event_types(resubmitted) == strings{"MaterialsResubmitted"});
    CHECK(event_data(resubmitted, 0).at("acceptance_due").as_string() == "2026-03-06");

    auto accepted = f.ok(on_application("AcceptApplication", "c-accept-1", "app-1"), tokens::clerk_sy);
    CHECK(event_types(accepted) == strings{"ApplicationAccepted"});
    const std::string review_due(event_data(accepted, 0).at("review_due").as_string());
    const auto fired = f.advance(deadline_passed(review_due));
    CHECK(fired.at("commands_applied").to_number<std::int64_t>() >= 1);
    CHECK(tail(history_types(f, "reg-1"), 1) == strings{"ReviewOverdue"});
    CHECK(event_types(f.ok(on_application("ExplainReviewDelay", "c-explain-1", "app-1",
                                          {{"reason", "材料涉及多个部门，需会商"}}),
                           tokens::clerk_sy)) == strings{"ReviewDelayExplained"});

    auto passed = f.ok(on_application("PassReview", "c-pass-1", "app-1"), tokens::clerk_sy);
    CHECK(event_types(passed) == strings{"ReviewPassed", "PublicityStarted"});
    const std::string publicity_end(event_data(passed, 1).at("publicity_end").as_string());

    // FileObjection is public too.
    CHECK(event_types(f.ok(objection("c-object-1", "app-1", "obj-1"))) == strings{"ObjectionFiled"});
    CHECK(event_types(f.ok(on_application("DismissObjection", "c-dismiss-1", "app-1",
                                          {{"objection_id", "obj-1"}, {"reason", "已脱敏"}}),
                           tokens::clerk_sy)) == strings{"ObjectionDismissed"});
    f.advance(deadline_passed(publicity_end));
    CHECK(tail(history_types(f, "reg-1"), 2) == strings{"PublicityEnded", "CodeIssued"});
    auto reg = f.get("/v1/registrations/reg-1", tokens::auditor).obj();
    CHECK(reg.at("status").as_string() == "valid");
    CHECK(reg.at("code").as_string().size() == 19);

    // A change: publicity ends with an objection open; dismissing it completes.
    const auto change_end = f.to_publicity("reg-1", "app-2",
                                           {.kind = "change", .applicants = applicants_ab(),
                                            .record = sample_record("沈阳市公共交通客流数据（第二版）")});
    f.ok(objection("c-object-2", "app-2", "obj-2"));
    f.advance(deadline_passed(change_end));
    CHECK(tail(history_types(f, "reg-1"), 1) == strings{"PublicityEnded"});
    CHECK(event_types(f.ok(on_application("DismissObjection", "c-dismiss-2", "app-2",
                                          {{"objection_id", "obj-2"}, {"reason", "理由不成立"}}),
                           tokens::clerk_sy)) == strings{"ObjectionDismissed", "RegistrationChanged"});

    // A correction terminated by an upheld objection.
    f.to_publicity("reg-1", "app-3", {.kind = "correction", .applicants = applicants_ab()});
    f.ok(objection("c-object-3", "app-3", "obj-3"));
    CHECK(event_types(f.ok(on_application("UpholdObjection", "c-uphold-3", "app-3",
                                          {{"objection_id", "obj-3"}, {"reason", "异议成立"}}),
                           tokens::clerk_sy)) == strings{"ObjectionUpheld", "ApplicationTerminated"});

    // Rejected, withdrawn, failed.
    f.ok(submit("c-submit-4", "app-4", "reg-1", {.kind = "correction"}), tokens::subject_a);
    CHECK(event_types(f.ok(on_application("RejectApplication", "c-reject-4", "app-4", {{"reason", "材料不全"}}),
                           tokens::clerk_sy)) == strings{"ApplicationRejected"});
    f.ok(submit("c-submit-5", "app-5", "reg-1", {.kind = "change"}), tokens::subject_a);
    CHECK(event_types(f.ok(on_application("WithdrawApplication", "c-withdraw-5", "app-5"), tokens::subject_a)) ==
          strings{"ApplicationWithdrawn"});
    f.ok(submit("c-submit-6", "app-6", "reg-1", {.kind = "change"}), tokens::subject_a);
    f.ok(on_application("AcceptApplication", "c-accept-6", "app-6"), tokens::clerk_sy);
    CHECK(event_types(f.ok(on_application("FailReview", "c-fail-6", "app-6", {{"reason", "格式不符"}}),
                           tokens::clerk_sy)) == strings{"ReviewFailed"});

    // A municipal revocation is filed with the province, which annuls it (第23条).
    CHECK(event_types(f.ok(command("RevokeRegistration", "c-revoke",
                                   {{"registration_id", "reg-1"},
                                    {"grounds", "false_materials"},
                                    {"announcement", "经查材料不实，撤销登记"}}),
                           tokens::clerk_sy)) == strings{"RegistrationRevoked", "RevocationFiled"});
    CHECK(event_types(f.ok(command("AnnulRevocation", "c-annul",
                                   {{"registration_id", "reg-1"}, {"reason", "撤销依据不足"}}),
                           tokens::clerk_ln)) == strings{"RevocationAnnulled"});
    CHECK(f.get("/v1/registrations/reg-1", tokens::auditor).obj().at("status").as_string() == "valid");

    // Renewal inside its window: no publicity (DOMAIN.md [decision]).
    reg = f.get("/v1/registrations/reg-1", tokens::auditor).obj();
    const std::string window_opens(reg.at("renewal_window_opens").as_string());
    const std::string valid_until(reg.at("valid_until").as_string());
    f.advance(deadline_passed(window_opens));
    CHECK(tail(history_types(f, "reg-1"), 1) == strings{"RenewalWindowOpened"});
    f.ok(submit("c-submit-7", "app-7", "reg-1", {.kind = "renewal"}), tokens::subject_a);
    f.ok(on_application("AcceptApplication", "c-accept-7", "app-7"), tokens::clerk_sy);
    auto renewed = f.ok(on_application("PassReview", "c-pass-7", "app-7"), tokens::clerk_sy);
    CHECK(event_types(renewed) == strings{"ReviewPassed", "RenewalGranted"});
    CHECK(event_data(renewed, 1).at("valid_until").as_string() > valid_until);

    // Deregistration, completed when its publicity ends.
    const auto dereg_end = f.to_publicity("reg-1", "app-8", {.kind = "deregistration"});
    f.advance(deadline_passed(dereg_end));
    CHECK(tail(history_types(f, "reg-1"), 2) == strings{"PublicityEnded", "RegistrationDeregistered"});
    CHECK(f.get("/v1/registrations/reg-1", tokens::auditor).obj().at("status").as_string() == "deregistered");
}

TEST_CASE("Commands: MALFORMED for what is not a well-formed command") {
    server_fixture f;
    const auto post_text = [&](std::string text, std::optional<std::string_view> token = tokens::clerk_sy) {
        return f.request(http::verb::post, "/v1/commands", std::move(text), token);
    };
    SUBCASE("not JSON") { check_error(post_text("{\"command_id\": \"c-1\", "), 400, "MALFORMED"); }
    SUBCASE("not an object") { check_error(post_text("[1, 2, 3]"), 400, "MALFORMED"); }
    SUBCASE("a wrong type") {
        check_error(f.run(command("AcceptApplication", "c-1", {{"application_id", 7}}), tokens::clerk_sy), 400,
                    "MALFORMED", "/application_id");
        check_error(f.run(submit("c-2", "app-1", "reg-1", {.applicants = {object{{"name", name_a},
                                                                                  {"uscc", uscc_a},
                                                                                  {"role", "boss"}}}}),
                          tokens::subject_a),
                    400, "MALFORMED", "/applicants/0/role");
        auto cmd = submit("c-3", "app-1", "reg-1");
        cmd["record"].as_object()["industry_codes"] = array{54};
        check_error(f.run(cmd, tokens::subject_a), 400, "MALFORMED", "/record/industry_codes/0");
        check_error(f.run(object{{"command_id", "c-4"}, {"type", "AcceptApplication"}, {"application_id", "a"},
                                 {"expected_version", "7"}},
                          tokens::clerk_sy),
                    400, "MALFORMED", "/expected_version");
    }
    SUBCASE("an unknown field") {
        check_error(f.run(command("AcceptApplication", "c-1", {{"application_id", "app-1"}, {"colour", "red"}}),
                          tokens::clerk_sy),
                    400, "MALFORMED", "/colour");
        auto cmd = submit("c-2", "app-1", "reg-1");
        cmd["record"].as_object()["secret"] = true;
        check_error(f.run(cmd, tokens::subject_a), 400, "MALFORMED", "/record/secret");
    }
    SUBCASE("a missing field") {
        check_error(f.run(command("AcceptApplication", "c-1"), tokens::clerk_sy), 400, "MALFORMED",
                    "/application_id");
        check_error(f.run(object{{"type", "AcceptApplication"}, {"application_id", "app-1"}}, tokens::clerk_sy), 400,
                    "MALFORMED", "/command_id");
    }
    SUBCASE("an unknown command type") {
        check_error(f.run(command("LaunchRocket", "c-1"), tokens::clerk_sy), 400, "MALFORMED", "/type");
    }
    SUBCASE("a timeout command is the scheduler's, not a client's") {
        for (const auto& [type, fields] :
             std::vector<std::pair<std::string, object>>{
                 {"MarkAcceptanceOverdue",
                  {{"registration_id", "reg-1"}, {"application_id", "app-1"}, {"acceptance_due", "2026-03-05"}}},
                 {"MarkReviewOverdue",
                  {{"registration_id", "reg-1"}, {"application_id", "app-1"}, {"review_due", "2026-03-30"}}},
                 {"EndPublicity",
                  {{"registration_id", "reg-1"}, {"application_id", "app-1"}, {"publicity_end", "2026-03-16"}}},
                 {"OpenRenewalWindow", {{"registration_id", "reg-1"}, {"renewal_window_opens", "2029-01-15"}}},
                 {"ExpireValidity", {{"registration_id", "reg-1"}, {"valid_until", "2029-03-16"}}},
             }) {
            INFO(type);
            check_error(f.run(command(type, "c-timeout", fields), tokens::auditor), 400, "MALFORMED", "/type");
            check_error(f.run(command(type, "c-timeout", fields)), 400, "MALFORMED", "/type");
        }
    }
    // Nothing of the above reached the log.
    CHECK(f.get("/v1/events", tokens::auditor).obj().at("events").as_array().empty());
}

TEST_CASE("Commands: VALIDATION names the offending field with a JSON pointer") {
    server_fixture f;
    f.seed_accounts();
    const auto refused = [&](object cmd, std::string_view field, std::string_view token = tokens::subject_a) {
        check_error(f.run(cmd, token), 400, "VALIDATION", field);
    };
    SUBCASE("record") {
        auto cmd = submit("c-1", "app-1", "reg-1");
        cmd["record"].as_object()["industry_codes"] = array{"54", "99"};
        refused(cmd, "/record/industry_codes/1");
        cmd = submit("c-2", "app-1", "reg-1");
        cmd["record"].as_object()["coverage_regions"] = array{"123456"};
        refused(cmd, "/record/coverage_regions/0");
        cmd = submit("c-3", "app-1", "reg-1");
        cmd["record"].as_object()["data_name"] = "";
        refused(cmd, "/record/data_name");
        cmd = submit("c-4", "app-1", "reg-1");
        cmd["record"].as_object()["coverage_time"] = object{{"start", "2026-01-01"}, {"end", "2025-01-01"}};
        refused(cmd, "/record/coverage_time/end");
        cmd = submit("c-5", "app-1", "reg-1");
        cmd["record"].as_object()["object_type"] = "product";
        refused(cmd, "/record/product_form");
    }
    SUBCASE("applicants and materials") {
        refused(submit("c-1", "app-1", "reg-1",
                       {.applicants = {object{{"name", name_a}, {"uscc", "91350100M000100Y44"}, {"role", "lead"}}}}),
                "/applicants/0/uscc");
        refused(submit("c-2", "app-1", "reg-1",
                       {.applicants = {object{{"name", name_a}, {"uscc", uscc_a}, {"role", "lead"}},
                                       object{{"name", name_b}, {"uscc", uscc_b}, {"role", "lead"}}}}),
                "/applicants");
        refused(submit("c-3", "app-1", "reg-1",
                       {.materials = {object{{"name", "申请表.pdf"}, {"sha256", "not-a-digest"}}}}),
                "/materials/0/sha256");
        refused(submit("c-4", "app-1", "reg-1", {.materials = array{}}), "/materials");
    }
    SUBCASE("ids and references") {
        refused(submit("c-1", "app 1", "reg-1"), "/application_id");
        refused(submit("bad id!", "app-1", "reg-1"), "/command_id");
        refused(submit("c-2", "app-1", "reg-1", {.institution = "LN-XX"}), "/institution_id");
        refused(command("OpenAccount", "c-3",
                        {{"account_id", "acct-c"},
                         {"name", "某单位"},
                         {"uscc", "123"},
                         {"subject_type", "other"},
                         {"region_code", "210100"}}),
                "/uscc");
        refused(on_application("RequestSupplement", "c-4", "app-1", {{"items", array{}}, {"note", ""}}), "/items",
                tokens::clerk_sy);
    }
    CHECK(f.get("/v1/registrations/reg-1", tokens::auditor).status == 404);
}

TEST_CASE("Commands: UNAUTHENTICATED without a token where one is needed, or with a bad one") {
    server_fixture f;
    f.seed_accounts();
    f.ok(submit("c-submit", "app-1", "reg-1"), tokens::subject_a);
    const auto accept = on_application("AcceptApplication", "c-accept", "app-1");

    SUBCASE("no token on a protected route") {
        const auto r = f.get("/v1/registrations/reg-1");
        check_error(r, 401, "UNAUTHENTICATED");
        CHECK(r.header(http::field::www_authenticate) == "Bearer");
        check_error(f.get("/v1/registrations"), 401, "UNAUTHENTICATED");
        check_error(f.get("/v1/events"), 401, "UNAUTHENTICATED");
        check_error(f.get("/v1/stats"), 401, "UNAUTHENTICATED");
    }
    SUBCASE("no token on a command that is not public") {
        check_error(f.run(accept), 401, "UNAUTHENTICATED");
        check_error(f.run(submit("c-submit-2", "app-2", "reg-2")), 401, "UNAUTHENTICATED");
    }
    SUBCASE("an unknown token") {
        check_error(f.run(accept, "t-clerk-xx"), 401, "UNAUTHENTICATED");
        check_error(f.get("/v1/registrations/reg-1", "t-nobody-1"), 401, "UNAUTHENTICATED");
        // Even on a public route and with a public command, a token sent must be valid.
        check_error(f.get("/v1/public/publicity", "t-nobody-1"), 401, "UNAUTHENTICATED");
        check_error(f.run(command("OpenAccount", "c-open-c",
                                  {{"account_id", "acct-c"},
                                   {"name", "某单位"},
                                   {"uscc", uscc_a},
                                   {"subject_type", "other"},
                                   {"region_code", "210100"}}),
                          "t-nobody-1"),
                    401, "UNAUTHENTICATED");
    }
    SUBCASE("a malformed Authorization header") {
        for (const std::string_view header : {"Basic dDpjbGVyaw==", "Bearer", "bearer t-clerk-sy", "t-clerk-sy",
                                         "Bearer  t-clerk-sy", ""}) {
            INFO("Authorization: ", header);
            http::request<http::string_body> req{http::verb::get, "/v1/registrations/reg-1", 11};
            req.set(http::field::host, "127.0.0.1");
            req.set(http::field::authorization, header);
            req.keep_alive(false);
            client c(f.port());
            const auto r = c.exchange(req);
            REQUIRE(r.has_value());
            check_error(*r, 401, "UNAUTHENTICATED");
        }
    }
    // None of them was applied.
    CHECK(f.get("/v1/applications/app-1", tokens::auditor).obj().at("status").as_string() == "submitted");
}

TEST_CASE("Commands: FORBIDDEN for a role or an institution that may not act") {
    server_fixture f;
    f.seed_accounts();
    f.ok(submit("c-submit", "app-1", "reg-1"), tokens::subject_a);
    const auto accept = [](std::string_view id) { return on_application("AcceptApplication", id, "app-1"); };

    check_error(f.run(accept("c-1"), tokens::subject_a), 403, "FORBIDDEN");
    check_error(f.run(accept("c-2"), tokens::auditor), 403, "FORBIDDEN");
    check_error(f.run(accept("c-3"), tokens::supervisor), 403, "FORBIDDEN");
    // Another city's clerk, and the provincial clerk, do not act for LN-SY.
    check_error(f.run(accept("c-4"), tokens::clerk_dl), 403, "FORBIDDEN");
    check_error(f.run(accept("c-5"), tokens::clerk_ln), 403, "FORBIDDEN");
    // A subject that is not an applicant.
    check_error(f.run(on_application("WithdrawApplication", "c-6", "app-1"), tokens::subject_b), 403, "FORBIDDEN");
    check_error(f.run(submit("c-7", "app-2", "reg-2"), tokens::clerk_sy), 403, "FORBIDDEN");
    check_error(f.run(command("VerifyAccount", "c-8", {{"account_id", "acct-a"}}), tokens::auditor), 403,
                "FORBIDDEN");
    CHECK(f.get("/v1/applications/app-1", tokens::auditor).obj().at("status").as_string() == "submitted");
}

TEST_CASE("Commands: NOT_FOUND, INVALID_STATE, CONFLICT and RENEWAL_WINDOW_CLOSED") {
    server_fixture f;
    f.seed_accounts();

    SUBCASE("NOT_FOUND") {
        check_error(f.run(on_application("AcceptApplication", "c-1", "app-none"), tokens::clerk_sy), 404,
                    "NOT_FOUND");
        check_error(f.run(command("VerifyAccount", "c-2", {{"account_id", "acct-none"}}), tokens::clerk_sy), 404,
                    "NOT_FOUND");
        check_error(f.run(submit("c-3", "app-1", "reg-none", {.kind = "change"}), tokens::subject_a), 404,
                    "NOT_FOUND");
        check_error(f.run(objection("c-4", "app-none", "obj-1")), 404, "NOT_FOUND");
    }
    SUBCASE("INVALID_STATE") {
        f.ok(submit("c-submit", "app-1", "reg-1"), tokens::subject_a);
        f.ok(on_application("RequestSupplement", "c-supp", "app-1", {{"items", array{"样例"}}, {"note", ""}}),
             tokens::clerk_sy);
        // 一次性告知 (第16条): no second request before the subject resubmits.
        check_error(f.run(on_application("RequestSupplement", "c-supp-2", "app-1",
                                         {{"items", array{"更多"}}, {"note", ""}}),
                          tokens::clerk_sy),
                    409, "INVALID_STATE");
        f.ok(on_application("WithdrawApplication", "c-withdraw", "app-1"), tokens::subject_a);
        check_error(f.run(on_application("AcceptApplication", "c-accept", "app-1"), tokens::clerk_sy), 409,
                    "INVALID_STATE");
        check_error(f.run(command("VerifyAccount", "c-verify-again", {{"account_id", "acct-a"}}), tokens::clerk_sy),
                    409, "INVALID_STATE");
    }
    SUBCASE("CONFLICT: expected version") {
        f.ok(submit("c-submit", "app-1", "reg-1"), tokens::subject_a);
        auto accept = on_application("AcceptApplication", "c-accept", "app-1");
        accept["expected_version"] = 5;
        check_error(f.run(accept, tokens::clerk_sy), 409, "CONFLICT");
        accept["command_id"] = "c-accept-2";
        accept["expected_version"] = 1;
        CHECK(f.ok(accept, tokens::clerk_sy).at("version").to_number<std::int64_t>() == 2);
    }
    SUBCASE("CONFLICT: another application is open") {
        f.make_valid("reg-1", "app-1");
        f.ok(submit("c-change", "app-2", "reg-1", {.kind = "change"}), tokens::subject_a);
        check_error(f.run(submit("c-correct", "app-3", "reg-1", {.kind = "correction"}), tokens::subject_a), 409,
                    "CONFLICT");
    }
    SUBCASE("CONFLICT: an account opened twice") {
        check_error(f.run(command("OpenAccount", "c-open-again",
                                  {{"account_id", "acct-a"},
                                   {"name", name_a},
                                   {"uscc", uscc_a},
                                   {"subject_type", "public_utility"},
                                   {"region_code", "210100"}})),
                    409, "CONFLICT");
    }
    SUBCASE("RENEWAL_WINDOW_CLOSED") {
        f.make_valid("reg-1", "app-1");
        check_error(f.run(submit("c-renew", "app-2", "reg-1", {.kind = "renewal"}), tokens::subject_a), 409,
                    "RENEWAL_WINDOW_CLOSED");
        CHECK(f.get("/v1/registrations/reg-1", tokens::auditor).obj().at("open_application").is_null());
    }
}
