#include "engine/deadlines.h"

#include <fmt/format.h>

#include "engine/rules/calendar.h"

namespace regledger {

std::vector<timer> pending_timers(const registration_state& s) {
    std::vector<timer> timers;
    if (!s.exists()) return timers;
    if (const application_state* app = s.open_application()) {
        if (app->status == application_status::submitted && !app->acceptance_overdue) {
            timers.push_back({timer_kind::acceptance, rules::deadline_instant(app->acceptance_due),
                              mark_acceptance_overdue{s.id, app->id, app->acceptance_due}});
        }
        if (app->status == application_status::accepted && app->review_due && !app->review_overdue) {
            timers.push_back({timer_kind::review, rules::deadline_instant(*app->review_due),
                              mark_review_overdue{s.id, app->id, *app->review_due}});
        }
        if (app->status == application_status::in_publicity && app->publicity_end && !app->publicity_ended) {
            timers.push_back({timer_kind::publicity, rules::deadline_instant(*app->publicity_end),
                              end_publicity{s.id, app->id, *app->publicity_end}});
        }
    }
    if (s.status == registration_status::valid && s.valid_until && s.renewal_window_opens) {
        if (!s.renewal_window_notified) {
            timers.push_back({timer_kind::renewal_window, instant::start_of_day(*s.renewal_window_opens),
                              open_renewal_window{s.id, *s.renewal_window_opens}});
        }
        if (!s.validity_expired) {
            timers.push_back({timer_kind::validity, rules::deadline_instant(*s.valid_until),
                              expire_validity{s.id, *s.valid_until}});
        }
    }
    return timers;
}

std::string_view timer_kind_name(timer_kind kind) noexcept {
    switch (kind) {
        case timer_kind::acceptance: return "acceptance";
        case timer_kind::review: return "review";
        case timer_kind::publicity: return "publicity";
        case timer_kind::renewal_window: return "renewal_window";
        case timer_kind::validity: return "validity";
    }
    return "unknown";
}

command_id timer_command_id(const stream_id& stream, timer_kind kind, instant due) {
    return command_id(fmt::format("timer:{}:{}:{}", stream.value(), timer_kind_name(kind), due.unix_us()));
}

}  // namespace regledger
