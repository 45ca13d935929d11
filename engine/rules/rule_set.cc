#include "engine/rules/rule_set.h"

#include "engine/rules/codes.h"

namespace regledger::rules {

const rule_set& rule_set::ln_2025() {
    static const rule_set rules = [] {
        rule_set r;
        r.id = rule_set_id("LN-2025");
        r.calendar = &working_calendar::builtin();
        r.acceptance_working_days = 3;
        r.review_working_days = 20;
        r.publicity_working_days = 10;
        r.validity_years = 3;
        r.renewal_window_days = 60;
        r.publicized_kinds = {application_kind::initial, application_kind::change, application_kind::correction,
                              application_kind::deregistration};
        r.code_scheme = std::string(local_code_scheme);
        return r;
    }();
    return rules;
}

}  // namespace regledger::rules
