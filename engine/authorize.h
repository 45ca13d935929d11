// Authorization by role and institution (DOMAIN.md "Roles and what each may
// do"), decided in the engine so that every transport gets the same answer.
//
// Two steps: may this role issue this kind of command at all (before
// anything else is looked at), then, once the target is known, is it the
// issuer's own: the clerk's institution, the subject's application.
#pragma once

#include <optional>

#include "engine/commands.h"
#include "engine/institutions.h"
#include "engine/result.h"
#include "engine/state.h"

namespace regledger {

// FORBIDDEN when `issuer.role` may never issue `c`.
std::optional<rejection> authorize_role(const command& c, const actor& issuer);

// A clerk acts only for its own institution.
std::optional<rejection> authorize_clerk_for(const institution_id& owner, const actor& issuer);

// A subject acts with an opened, verified account (第12条) and only on
// applications that name it among the applicants (any applicant of a joint
// application, 第10条).
std::optional<rejection> authorize_subject_for(const std::vector<applicant>& applicants,
                                               const account_state* issuer_account);

}  // namespace regledger
