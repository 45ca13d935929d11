#include "engine/authorize.h"

#include <algorithm>

#include <fmt/format.h>

namespace regledger {
namespace {

rejection forbidden(std::string message) { return reject(errc::forbidden, std::move(message)); }

// The roles that may issue each command.
struct allowed_roles {
    bool operator()(const open_account&, role r) const { return r == role::public_ || r == role::subject; }
    bool operator()(const verify_account&, role r) const { return r == role::clerk; }
    bool operator()(const submit_application&, role r) const { return r == role::subject; }
    bool operator()(const request_supplement&, role r) const { return r == role::clerk; }
    bool operator()(const resubmit_materials&, role r) const { return r == role::subject; }
    bool operator()(const accept_application&, role r) const { return r == role::clerk; }
    bool operator()(const reject_application&, role r) const { return r == role::clerk; }
    bool operator()(const withdraw_application&, role r) const { return r == role::subject; }
    bool operator()(const pass_review&, role r) const { return r == role::clerk; }
    bool operator()(const fail_review&, role r) const { return r == role::clerk; }
    bool operator()(const explain_review_delay&, role r) const { return r == role::clerk; }
    bool operator()(const file_objection&, role r) const { return r == role::public_ || r == role::subject; }
    bool operator()(const uphold_objection&, role r) const { return r == role::clerk; }
    bool operator()(const dismiss_objection&, role r) const { return r == role::clerk; }
    bool operator()(const revoke_registration&, role r) const { return r == role::clerk; }
    bool operator()(const annul_revocation&, role r) const { return r == role::clerk; }
    bool operator()(const mark_acceptance_overdue&, role r) const { return r == role::system; }
    bool operator()(const mark_review_overdue&, role r) const { return r == role::system; }
    bool operator()(const end_publicity&, role r) const { return r == role::system; }
    bool operator()(const open_renewal_window&, role r) const { return r == role::system; }
    bool operator()(const expire_validity&, role r) const { return r == role::system; }
};

std::string_view role_name(role r) {
    switch (r) {
        case role::subject: return "subject";
        case role::clerk: return "clerk";
        case role::auditor: return "auditor";
        case role::supervisor: return "supervisor";
        case role::public_: return "public";
        case role::system: return "system";
    }
    return "unknown";
}

}  // namespace

std::optional<rejection> authorize_role(const command& c, const actor& issuer) {
    const bool allowed = std::visit([&](const auto& body) { return allowed_roles{}(body, issuer.role); }, c);
    if (allowed) return std::nullopt;
    return forbidden(fmt::format("the {} role may not issue {}", role_name(issuer.role), type_name_of(c)));
}

std::optional<rejection> authorize_clerk_for(const institution_id& owner, const actor& issuer) {
    if (issuer.institution && *issuer.institution == owner) return std::nullopt;
    return forbidden(fmt::format("this belongs to institution {}; a clerk acts only for its own institution",
                                 owner.value()));
}

std::optional<rejection> authorize_subject_for(const std::vector<applicant>& applicants,
                                               const account_state* issuer_account) {
    if (issuer_account == nullptr || !issuer_account->exists()) {
        return forbidden("the subject's account has not been opened (第12条)");
    }
    if (!issuer_account->verified) {
        return forbidden("the subject's account has not passed the real-name check (第12条)");
    }
    const bool named = std::any_of(applicants.begin(), applicants.end(),
                                   [&](const applicant& a) { return a.uscc == issuer_account->uscc; });
    if (!named) return forbidden("the subject is not an applicant of this application");
    return std::nullopt;
}

}  // namespace regledger
