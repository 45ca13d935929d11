// Roles and what each may do (DOMAIN.md): every command from every role that
// may not issue it is FORBIDDEN, and a clerk acts only for its institution.
#include <set>

#include "tests/engine/domain_harness.h"

using namespace regledger;
using namespace regledger::testing;

namespace {

// One well-formed instance of every command, aimed at the application and
// registration of an in-publicity world.
std::vector<command> one_of_each() {
    const auto app = application_id("app-1");
    const auto reg = registration_id("reg-1");
    const material m{"m.pdf", std::string(64, 'e')};
    return {
        open_account{account_id("acct-z"), "主体", std::string(uscc_a), subject_type::other, "210100"},
        verify_account{account_id("acct-a")},
        initial_application("app-9"),
        request_supplement{app, {"item"}, ""},
        resubmit_materials{app, std::nullopt, {m}},
        accept_application{app},
        reject_application{app, "理由"},
        withdraw_application{app},
        pass_review{app},
        fail_review{app, "理由"},
        explain_review_delay{app, "理由"},
        file_objection{app, objection_id("obj-1"), {"张三", "110101199003074514"}, "理由", {m}},
        uphold_objection{app, objection_id("obj-1"), "理由"},
        dismiss_objection{app, objection_id("obj-1"), "理由"},
        revoke_registration{reg, revocation_grounds::other, "公告"},
        annul_revocation{reg, "理由"},
        mark_acceptance_overdue{reg, app, day("2026-03-05")},
        mark_review_overdue{reg, app, day("2026-03-31")},
        end_publicity{reg, app, day("2026-03-24")},
        open_renewal_window{reg, day("2029-01-24")},
        expire_validity{reg, day("2029-03-25")},
    };
}

// DOMAIN.md's table, as the set of command types each role may issue.
std::set<std::string_view> allowed_for(role r) {
    switch (r) {
        case role::public_: return {"OpenAccount", "FileObjection"};
        case role::subject:
            return {"OpenAccount", "FileObjection", "SubmitApplication", "ResubmitMaterials", "WithdrawApplication"};
        case role::clerk:
            return {"VerifyAccount", "RequestSupplement", "AcceptApplication", "RejectApplication", "PassReview",
                    "FailReview", "ExplainReviewDelay", "UpholdObjection", "DismissObjection",
                    "RevokeRegistration", "AnnulRevocation"};
        case role::auditor: return {};
        case role::supervisor: return {};
        case role::system:
            return {"MarkAcceptanceOverdue", "MarkReviewOverdue", "EndPublicity", "OpenRenewalWindow",
                    "ExpireValidity"};
    }
    return {};
}

}  // namespace

TEST_CASE("Roles: every command from every role that may not issue it is forbidden") {
    const std::vector<actor> issuers{anyone(), subject("acct-a"), clerk("LN-SY"), auditor(), supervisor(), scheduler()};
    const auto commands = one_of_each();
    REQUIRE(commands.size() == std::variant_size_v<command>);
    for (const actor& issuer : issuers) {
        const auto allowed = allowed_for(issuer.role);
        for (const command& c : commands) {
            CAPTURE(type_name_of(c));
            CAPTURE(static_cast<int>(issuer.role));
            world w;
            const auto r = w.try_command(c, issuer, at("2026-03-12T09:00:00+08:00"));
            if (allowed.contains(type_name_of(c))) {
                CHECK((r.has_value() || r.error().code != errc::forbidden ||
                       r.error().message.find("role") == std::string::npos));
            } else {
                REQUIRE_FALSE(r.has_value());
                CHECK(r.error().code == errc::forbidden);
            }
        }
    }
}

TEST_CASE("Roles: a municipal clerk cannot act on another city's applications") {
    world w;
    w.ok(initial_application(), subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
    const auto dl = clerk("LN-DL");
    const auto now = at("2026-03-03T09:00:00+08:00");
    w.refused(accept_application{application_id("app-1")}, dl, now, errc::forbidden);
    w.refused(reject_application{application_id("app-1"), "x"}, dl, now, errc::forbidden);
    w.refused(request_supplement{application_id("app-1"), {"x"}, ""}, dl, now, errc::forbidden);
    SUBCASE("nor the provincial clerk, on a municipal application") {
        w.refused(accept_application{application_id("app-1")}, clerk("LN"), now, errc::forbidden);
    }
    SUBCASE("nor revoke another city's registration") {
        world v;
        v.make_valid();
        v.refused(revoke_registration{registration_id("reg-1"), revocation_grounds::other, "公告"}, dl,
                  at("2026-04-01T09:00:00+08:00"), errc::forbidden);
    }
}

TEST_CASE("Roles: a clerk of an unconfigured institution may do nothing") {
    world w;
    w.ok(initial_application(), subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
    w.refused(accept_application{application_id("app-1")}, clerk("LN-XX"), at("2026-03-03T09:00:00+08:00"),
              errc::forbidden);
}

TEST_CASE("Roles: the role check comes before validation, so nothing leaks to the wrong role") {
    world w;
    reject_application bad{application_id("not a valid id!"), ""};
    const auto r = w.try_command(bad, anyone(), at("2026-03-03T09:00:00+08:00"));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::forbidden);
}

TEST_CASE("Unknown targets are NOT_FOUND") {
    world w;
    const auto now = at("2026-03-03T09:00:00+08:00");
    w.refused(accept_application{application_id("app-404")}, clerk("LN-SY"), now, errc::not_found);
    w.refused(revoke_registration{registration_id("reg-1"), revocation_grounds::other, "公告"}, clerk("LN-SY"), now,
              errc::not_found);
    w.refused(annul_revocation{registration_id("reg-1"), "x"}, clerk("LN"), now, errc::not_found);
    w.refused(file_objection{application_id("app-404"), objection_id("o"), {"张三", "110101199003074514"}, "g",
                             {{"e", std::string(64, 'f')}}},
              anyone(), now, errc::not_found);
}

TEST_CASE("Command targets: accounts, registrations, or an application the writer resolves") {
    CHECK(std::get<stream_id>(target_of(open_account{account_id("a1"), "", "", subject_type::other, ""})) ==
          stream_id("acct-a1"));
    CHECK(std::get<stream_id>(target_of(initial_application())) == stream_id("reg-reg-1"));
    CHECK(std::get<application_id>(target_of(accept_application{application_id("app-1")})) ==
          application_id("app-1"));
    for (const command& c : one_of_each()) {
        CAPTURE(type_name_of(c));
        CHECK(target_of(c).index() < 2);
    }
}
