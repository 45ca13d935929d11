// Who may read what (DOMAIN.md "Roles"; 第9、18、24条): everything but the
// public fields is confidential, and no route shows it to a role that may not
// see it.
#include "tests/api/server_fixture.h"

using namespace regledger::api_testing;

namespace {

// Every key of a JSON document, at any depth.
void collect_keys(const value& v, std::set<std::string>& out) {
    if (const auto* o = v.if_object()) {
        for (const auto& [k, child] : *o) {
            out.emplace(k);
            collect_keys(child, out);
        }
    } else if (const auto* a = v.if_array()) {
        for (const auto& child : *a) collect_keys(child, out);
    }
}

void check_keys_within(const response& r, const std::set<std::string>& allowed) {
    INFO(describe(r));
    std::set<std::string> keys;
    collect_keys(r.json(), keys);
    for (const auto& k : keys) CHECK_MESSAGE(allowed.contains(k), "a key beyond the public fields: ", k);
}

// Text that only confidential fields hold in the world below.
const std::vector<std::string>& confidential_text() {
    static const std::vector<std::string> text{
        std::string(uscc_a), std::string(uscc_b), std::string(resident_id),
        std::string(64, 'a'),  // materials' digests
        std::string(64, 'e'),  // evidence digest
        "该数据包含未脱敏的个人信息",  // objection grounds
        "请补充数据样例",              // supplement note
        "张三",                        // the objector
        "acct-a", "acct-b", "clerk-sy-1", "LN-SY",
        "daily",  // the record's update frequency
    };
    return text;
}

void check_no_confidential_text(const response& r) {
    for (const auto& t : confidential_text()) CHECK_MESSAGE(r.body.find(t) == std::string::npos, "leaks ", t, ": ", r.body);
}

// acct-a holds reg-1 (LN-SY, valid, with a change in publicity and an objection
// open against it); acct-b holds reg-2 (LN-DL, in publicity).
struct world {
    server_fixture f;
    std::string code;

    world() {
        f.seed_accounts();
        code = f.make_valid("reg-1", "app-1");
        f.ok(submit("app-c-submit", "app-c", "reg-1", {.kind = "change", .record = sample_record("客流数据（第二版）")}),
             tokens::subject_a);
        f.ok(on_application("RequestSupplement", "app-c-supp", "app-c",
                            {{"items", array{"数据样例"}}, {"note", "请补充数据样例"}}),
             tokens::clerk_sy);
        f.ok(on_application("ResubmitMaterials", "app-c-resubmit", "app-c",
                            {{"materials", sample_materials("数据样例.csv")}}),
             tokens::subject_a);
        f.ok(on_application("AcceptApplication", "app-c-accept", "app-c"), tokens::clerk_sy);
        f.ok(on_application("PassReview", "app-c-pass", "app-c"), tokens::clerk_sy);
        f.ok(objection("app-c-object", "app-c", "obj-1"));
        f.ok(submit("app-2-submit", "app-2", "reg-2", {.institution = "LN-DL", .applicants = applicants_b()}),
             tokens::subject_b);
        f.ok(on_application("AcceptApplication", "app-2-accept", "app-2"), tokens::clerk_dl);
        f.ok(on_application("PassReview", "app-2-pass", "app-2"), tokens::clerk_dl);
    }
};

const std::vector<std::string> reg1_routes{"/v1/registrations/reg-1", "/v1/registrations/reg-1/history",
                                           "/v1/applications/app-c", "/v1/applications/app-1"};

}  // namespace

TEST_CASE("第9、24条: a subject reads its own registrations only, without an objector's identity number") {
    world w;
    for (const auto& route : reg1_routes) {
        INFO(route);
        check_error(w.f.get(route, tokens::subject_b), 403, "FORBIDDEN");
        const auto own = w.f.get(route, tokens::subject_a);
        REQUIRE(own.status == 200);
        CHECK_MESSAGE(own.body.find(resident_id) == std::string::npos, "the objector's id_number leaks: ", own.body);
    }
    // The subject does see the objection, and its own record in full.
    const auto doc = w.f.get("/v1/registrations/reg-1", tokens::subject_a).obj();
    const auto& objections = doc.at("open_application").at("objections").as_array();
    REQUIRE(objections.size() == 1);
    CHECK(objections[0].at("objector").at("name").as_string() == "张三");
    CHECK_FALSE(objections[0].at("objector").as_object().contains("id_number"));
    CHECK(doc.at("record").at("update_frequency").as_string() == "daily");
    const auto history = w.f.get("/v1/registrations/reg-1/history", tokens::subject_a).obj();
    bool saw_objection = false;
    for (const auto& e : history.at("events").as_array()) {
        if (e.at("type").as_string() != "ObjectionFiled") continue;
        saw_objection = true;
        CHECK_FALSE(e.at("data").at("objector").as_object().contains("id_number"));
    }
    CHECK(saw_objection);
    // As it stood earlier, the same cut applies.
    const auto then = w.f.get("/v1/registrations/reg-1?as_of=2030-01-01T00:00:00%2B08:00", tokens::subject_a);
    REQUIRE(then.status == 200);
    CHECK(then.body.find(resident_id) == std::string::npos);
    // And acct-b reads its own.
    CHECK(w.f.get("/v1/registrations/reg-2", tokens::subject_b).status == 200);
    check_error(w.f.get("/v1/registrations/reg-2", tokens::subject_a), 403, "FORBIDDEN");
}

TEST_CASE("第9、24条: a municipal clerk neither acts on nor reads another city's applications") {
    world w;
    // LN-DL's clerk on LN-SY's application.
    for (const auto& [type, fields] : std::vector<std::pair<std::string, object>>{
             {"RequestSupplement", object{{"items", array{"x"}}, {"note", ""}}},
             {"AcceptApplication", object{}},
             {"RejectApplication", object{{"reason", "x"}}},
             {"PassReview", object{}},
             {"FailReview", object{{"reason", "x"}}},
             {"ExplainReviewDelay", object{{"reason", "x"}}},
             {"UpholdObjection", object{{"objection_id", "obj-1"}, {"reason", "x"}}},
             {"DismissObjection", object{{"objection_id", "obj-1"}, {"reason", "x"}}},
         }) {
        INFO(type);
        check_error(w.f.run(on_application(type, fmt::format("dl-{}", type), "app-c", fields), tokens::clerk_dl), 403,
                    "FORBIDDEN");
    }
    check_error(w.f.run(command("RevokeRegistration", "dl-revoke",
                                {{"registration_id", "reg-1"}, {"grounds", "other"}, {"announcement", "x"}}),
                        tokens::clerk_dl),
                403, "FORBIDDEN");
    for (const auto& route : reg1_routes) {
        INFO(route);
        check_error(w.f.get(route, tokens::clerk_dl), 403, "FORBIDDEN");
        CHECK(w.f.get(route, tokens::clerk_sy).status == 200);
        // The provincial clerk reads every institution's.
        CHECK(w.f.get(route, tokens::clerk_ln).status == 200);
    }
    check_error(w.f.get("/v1/registrations/reg-2", tokens::clerk_sy), 403, "FORBIDDEN");
    CHECK(w.f.get("/v1/registrations/reg-2", tokens::clerk_ln).status == 200);
    CHECK(w.f.get("/v1/applications/app-2", tokens::clerk_dl).status == 200);
    // Nothing changed.
    CHECK(w.f.get("/v1/applications/app-c", tokens::auditor).obj().at("status").as_string() == "in_publicity");
}

TEST_CASE("第18条: the public routes hold the public fields only") {
    world w;
    const std::set<std::string> publicity_fields{"items",      "application_id",  "kind",          "data_name",
                                                 "summary",    "subjects",        "publicity_start", "publicity_end",
                                                 "objection_open", "position",    "partition",     "offset"};
    const std::set<std::string> code_fields{"code",        "data_name", "subjects", "status",
                                            "valid_from",  "valid_until", "position", "partition", "offset"};
    for (const auto token : {std::optional<std::string_view>{}, std::optional<std::string_view>{tokens::subject_b}}) {
        const auto publicity = w.f.get("/v1/public/publicity", token);
        REQUIRE(publicity.status == 200);
        REQUIRE(publicity.obj().at("items").as_array().size() == 2);
        check_keys_within(publicity, publicity_fields);
        check_no_confidential_text(publicity);
        const auto code = w.f.get(fmt::format("/v1/public/codes/{}", w.code), token);
        REQUIRE(code.status == 200);
        check_keys_within(code, code_fields);
        check_no_confidential_text(code);
    }
    // After revocation, the lookup still shows public fields only.
    w.f.ok(on_application("UpholdObjection", "c-uphold", "app-c", {{"objection_id", "obj-1"}, {"reason", "成立"}}),
           tokens::clerk_sy);
    w.f.ok(command("RevokeRegistration", "c-revoke",
                   {{"registration_id", "reg-1"}, {"grounds", "tampering"}, {"announcement", "撤销公告"}}),
           tokens::clerk_sy);
    const auto revoked = w.f.get(fmt::format("/v1/public/codes/{}", w.code));
    REQUIRE(revoked.status == 200);
    CHECK(revoked.obj().at("status").as_string() == "revoked");
    check_keys_within(revoked, code_fields);
    check_no_confidential_text(revoked);
}

TEST_CASE("第21条: the supervisor reads statistics, not registrations") {
    world w;
    CHECK(w.f.get("/v1/stats", tokens::supervisor).status == 200);
    for (const auto& route : reg1_routes) {
        INFO(route);
        check_error(w.f.get(route, tokens::supervisor), 403, "FORBIDDEN");
    }
    check_error(w.f.get("/v1/registrations", tokens::supervisor), 403, "FORBIDDEN");
    check_error(w.f.get("/v1/events", tokens::supervisor), 403, "FORBIDDEN");
}

TEST_CASE("The auditor reads everything, and only the auditor reads /v1/events") {
    world w;
    for (const auto& route : reg1_routes) {
        INFO(route);
        CHECK(w.f.get(route, tokens::auditor).status == 200);
    }
    // In full: the objector's identity number too.
    const auto doc = w.f.get("/v1/registrations/reg-1", tokens::auditor).obj();
    CHECK(doc.at("open_application").at("objections").at(0).at("objector").at("id_number").as_string() ==
          resident_id);
    CHECK(w.f.get("/v1/registrations/reg-2", tokens::auditor).status == 200);
    CHECK(w.f.get("/v1/stats", tokens::auditor).status == 200);
    const auto events = w.f.get("/v1/events?limit=1000", tokens::auditor);
    REQUIRE(events.status == 200);
    CHECK(events.body.find(resident_id) != std::string::npos);
    for (const auto token : {tokens::clerk_ln, tokens::clerk_sy, tokens::subject_a, tokens::supervisor}) {
        check_error(w.f.get("/v1/events", token), 403, "FORBIDDEN");
    }
    check_error(w.f.get("/v1/events"), 401, "UNAUTHENTICATED");
}

TEST_CASE("第12条: a subject reads only through a verified account") {
    server_fixture f;
    f.ok(command("OpenAccount", "open-a",
                 {{"account_id", "acct-a"},
                  {"name", name_a},
                  {"uscc", uscc_a},
                  {"subject_type", "public_utility"},
                  {"region_code", "210100"}}));
    f.ok(command("VerifyAccount", "verify-a", {{"account_id", "acct-a"}}), tokens::clerk_sy);
    f.ok(submit("submit-1", "app-1", "reg-1"), tokens::subject_a);
    // Anyone may open an account; acct-b is opened claiming acct-a's credit
    // code, and the real-name check has not been done.
    f.ok(command("OpenAccount", "open-b",
                 {{"account_id", "acct-b"},
                  {"name", name_a},
                  {"uscc", uscc_a},
                  {"subject_type", "public_utility"},
                  {"region_code", "210100"}}));
    for (const std::string_view route :
         {"/v1/registrations/reg-1", "/v1/registrations/reg-1/history", "/v1/applications/app-1"}) {
        INFO(route);
        check_error(f.get(route, tokens::subject_b), 403, "FORBIDDEN");
    }
    // It may not act either.
    check_error(f.run(on_application("WithdrawApplication", "withdraw-b", "app-1"), tokens::subject_b), 403,
                "FORBIDDEN");
}

TEST_CASE("第9、24条: a command id repeated by someone else does not show the first outcome") {
    server_fixture f;
    f.seed_accounts();
    const auto first = f.run(submit("c-submit", "app-1", "reg-1"), tokens::subject_a);
    REQUIRE(first.status == 200);
    // The same id, by another subject, and by an anonymous caller with a
    // public command: the first outcome holds applicants and materials.
    const auto by_b = f.run(submit("c-submit", "app-9", "reg-9", {.applicants = applicants_b()}), tokens::subject_b);
    check_error(by_b, 409, "CONFLICT");
    const auto anonymous = f.run(command("OpenAccount", "c-submit",
                                         {{"account_id", "acct-z"},
                                          {"name", "某单位"},
                                          {"uscc", uscc_b},
                                          {"subject_type", "other"},
                                          {"region_code", "210100"}}));
    check_error(anonymous, 409, "CONFLICT");
    for (const auto* r : {&by_b, &anonymous}) CHECK(r->body.find(uscc_a) == std::string::npos);
    // Its issuer still gets the first outcome again.
    CHECK(f.run(submit("c-submit", "app-1", "reg-1"), tokens::subject_a).body == first.body);
    check_error(f.get("/v1/registrations/reg-9", tokens::auditor), 404, "NOT_FOUND");
}

TEST_CASE("第9、24条: anonymous callers repeating a command id see its outcome only when they say the same") {
    server_fixture f;
    f.seed_accounts();
    f.to_publicity("reg-1", "app-1");
    // Every caller without a token is the same public actor: the objector's
    // ID number must not go to another one who guesses the command id.
    const auto first = f.run(objection("c-object", "app-1", "obj-1"));
    REQUIRE(first.status == 200);
    REQUIRE(first.body.find(resident_id) != std::string::npos);
    auto other = objection("c-object", "app-1", "obj-1");
    other["objector"] = object{{"name", "李四"}, {"id_number", "11010519491231002X"}};
    const auto guess = f.run(other);
    check_error(guess, 409, "CONFLICT", "/command_id");
    CHECK(guess.body.find(resident_id) == std::string::npos);
    check_error(f.run(objection("c-object", "app-1", "obj-1", "另一个理由")), 409, "CONFLICT", "/command_id");
    // The objector's own retry, the same command, gets the first answer.
    CHECK(f.run(objection("c-object", "app-1", "obj-1")).body == first.body);
}

