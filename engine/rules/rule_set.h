// A rule set: every number and choice of DOMAIN.md as data, identified by an
// id (`LN-2025`) that each event records. Nothing in the engine hard-codes a
// deadline; decide() reads it from here.
//
// Thread-safety: immutable after construction; share freely.
#pragma once

#include <set>
#include <string>

#include "engine/ids.h"
#include "engine/rules/calendar.h"
#include "engine/vocabulary.h"

namespace regledger::rules {

struct rule_set {
    rule_set_id id;
    const working_calendar* calendar = nullptr;

    // Working days after the submission / last resubmission date (第16条).
    int acceptance_working_days = 3;
    // Working days after the acceptance date (第17条).
    int review_working_days = 20;
    // Working days after the day the review passes (第18条).
    int publicity_working_days = 10;
    // Validity from the code issuance date, and each renewal (第13条).
    int validity_years = 3;
    // The renewal window opens this many calendar days before validity ends.
    int renewal_window_days = 60;
    // Kinds that go through publicity (第15条; renewal does not [decision]).
    std::set<application_kind> publicized_kinds;
    // Scheme of the registration codes this rule set issues.
    std::string code_scheme;

    // LN-2025 with the engine's built-in calendar.
    static const rule_set& ln_2025();
};

}  // namespace regledger::rules
