// The rule set LN-2025: every number of DOMAIN.md "Time" and the choices of
// "Application lifecycle" as data.
#include <doctest/doctest.h>

#include "engine/rules/codes.h"
#include "engine/rules/rule_set.h"

using namespace regledger;
using namespace regledger::rules;

TEST_CASE("LN-2025: 3/20/10 working days (第16、17、18条), 3 years and a 60-day renewal window (第13条)") {
    const rule_set& rules = rule_set::ln_2025();
    CHECK(rules.id == rule_set_id("LN-2025"));
    CHECK(rules.calendar == &working_calendar::builtin());
    CHECK(rules.acceptance_working_days == 3);
    CHECK(rules.review_working_days == 20);
    CHECK(rules.publicity_working_days == 10);
    CHECK(rules.validity_years == 3);
    CHECK(rules.renewal_window_days == 60);
    CHECK(rules.code_scheme == local_code_scheme);
    CHECK(&rule_set::ln_2025() == &rules);
}

TEST_CASE("第15条: initial, change, correction and deregistration are publicized, renewal is not [decision]") {
    const rule_set& rules = rule_set::ln_2025();
    CHECK(rules.publicized_kinds == std::set<application_kind>{application_kind::initial, application_kind::change,
                                                               application_kind::correction,
                                                               application_kind::deregistration});
    CHECK_FALSE(rules.publicized_kinds.contains(application_kind::renewal));
}
