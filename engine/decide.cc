#include "engine/decide.h"

#include <algorithm>
#include <cassert>

#include <fmt/format.h>

#include "engine/authorize.h"
#include "engine/rules/calendar.h"
#include "engine/rules/codes.h"
#include "engine/validate.h"

namespace regledger {
namespace {

rejection invalid_state(std::string message) { return reject(errc::invalid_state, std::move(message)); }
rejection conflict(std::string message) { return reject(errc::conflict, std::move(message)); }
rejection not_found(std::string message) { return reject(errc::not_found, std::move(message)); }

bool carries_record(application_kind kind) {
    return kind == application_kind::initial || kind == application_kind::change ||
           kind == application_kind::correction;
}

std::string_view status_name(application_status s) {
    switch (s) {
        case application_status::submitted: return "submitted";
        case application_status::supplement_requested: return "supplement_requested";
        case application_status::accepted: return "accepted";
        case application_status::in_publicity: return "in_publicity";
        case application_status::completed: return "completed";
        case application_status::rejected: return "rejected";
        case application_status::withdrawn: return "withdrawn";
        case application_status::review_failed: return "review_failed";
        case application_status::terminated: return "terminated";
    }
    return "unknown";
}

std::string_view status_name(registration_status s) {
    switch (s) {
        case registration_status::pending: return "pending";
        case registration_status::valid: return "valid";
        case registration_status::deregistered: return "deregistered";
        case registration_status::revoked: return "revoked";
        case registration_status::not_registered: return "not_registered";
    }
    return "unknown";
}

rejection wrong_status(const application_state& app, std::string_view wanted) {
    return invalid_state(fmt::format("application {} is {}; this needs it {}", app.id.value(),
                                     status_name(app.status), wanted));
}

// Decides commands on a registration stream. Each handler runs after the
// role check and stateless validation; it finds the target, checks that the
// issuer owns it, then applies the rules to the state.
class registration_decider {
public:
    registration_decider(const registration_state& s, const decide_context& ctx) : s_(s), ctx_(ctx) {}

    result<event_list, rejection> operator()(const submit_application& c) const {
        const institution* inst = ctx_.institutions->find(c.institution_id);
        if (inst == nullptr) {
            return reject(errc::validation, fmt::format("no institution {}", c.institution_id.value()),
                          "/institution_id");
        }
        if (c.kind == application_kind::initial) {
            if (auto r = authorize_subject_for(c.applicants, ctx_.issuer_account)) return *r;
            if (s_.open_application() != nullptr) {
                return conflict(fmt::format("registration {} has an open application", c.registration_id.value()));
            }
            if (s_.exists() && s_.status != registration_status::not_registered) {
                return invalid_state(fmt::format("registration {} already exists ({}); apply for a change instead",
                                                 c.registration_id.value(), status_name(s_.status)));
            }
        } else {
            if (!s_.exists()) return not_found(fmt::format("no registration {}", c.registration_id.value()));
            if (auto r = authorize_subject_for(s_.applicants, ctx_.issuer_account)) return *r;
            if (auto r = authorize_applicants_are_holders(c)) return *r;
            if (c.institution_id != s_.institution_id) {
                return reject(errc::validation,
                              fmt::format("registration {} is held by institution {}; apply there",
                                          s_.id.value(), s_.institution_id.value()),
                              "/institution_id");
            }
            if (s_.open_application() != nullptr) {
                return conflict(fmt::format("registration {} has an open application", s_.id.value()));
            }
            if (s_.status != registration_status::valid) {
                return invalid_state(
                    fmt::format("registration {} is {}; this needs it valid", s_.id.value(), status_name(s_.status)));
            }
            if (c.kind == application_kind::renewal) {
                if (auto r = check_renewal_window()) return *r;
            }
        }
        if (s_.find_application(c.application_id) != nullptr) {
            return conflict(fmt::format("application id {} is already used", c.application_id.value()));
        }
        if (c.record && c.record->authorization && c.record->authorization->operation_end < today()) {
            return reject(errc::validation, "the authorized operating period has already ended",
                          "/record/authorization/operation_end");
        }
        const auto due = rules().calendar->add_working_days(today(), rules().acceptance_working_days);
        return event_list{application_submitted{c.application_id, c.registration_id, c.kind, c.institution_id,
                                            ctx_.issuer.account, c.applicants, c.record, c.materials, due.date,
                                            due.provisional}};
    }

    result<event_list, rejection> operator()(const request_supplement& c) const {
        BOOST_OUTCOME_TRY(auto app, clerk_application(c.application_id));
        if (app->status == application_status::supplement_requested) {
            return invalid_state("a supplement was already requested for this submission (一次性告知, 第16条)");
        }
        if (app->status != application_status::submitted) return wrong_status(*app, "submitted");
        return event_list{supplement_requested{c.application_id, c.items, c.note}};
    }

    result<event_list, rejection> operator()(const resubmit_materials& c) const {
        BOOST_OUTCOME_TRY(auto app, subject_application(c.application_id));
        if (app->status != application_status::supplement_requested) return wrong_status(*app, "supplement_requested");
        if (c.record && !carries_record(app->kind)) {
            return reject(errc::validation, "a deregistration or renewal application carries no record", "/record");
        }
        if (c.record && c.record->authorization && c.record->authorization->operation_end < today()) {
            return reject(errc::validation, "the authorized operating period has already ended",
                          "/record/authorization/operation_end");
        }
        // 第16条: the acceptance period counts from the resubmission date.
        const auto due = rules().calendar->add_working_days(today(), rules().acceptance_working_days);
        return event_list{materials_resubmitted{c.application_id, c.record, c.materials, due.date, due.provisional}};
    }

    result<event_list, rejection> operator()(const accept_application& c) const {
        BOOST_OUTCOME_TRY(auto app, clerk_application(c.application_id));
        if (app->status != application_status::submitted) return wrong_status(*app, "submitted");
        const auto due = rules().calendar->add_working_days(today(), rules().review_working_days);
        return event_list{application_accepted{c.application_id, due.date, due.provisional}};
    }

    result<event_list, rejection> operator()(const reject_application& c) const {
        BOOST_OUTCOME_TRY(auto app, clerk_application(c.application_id));
        if (app->status != application_status::submitted) return wrong_status(*app, "submitted");
        event_list out{application_rejected{c.application_id, c.reason}};
        settle_expiry_after_failure(out);
        return out;
    }

    result<event_list, rejection> operator()(const withdraw_application& c) const {
        BOOST_OUTCOME_TRY(auto app, subject_application(c.application_id));
        // 第16条: withdrawal is possible until the procedure completes.
        if (app->is_final()) return wrong_status(*app, "not yet completed or closed");
        event_list out{application_withdrawn{c.application_id}};
        settle_expiry_after_failure(out);
        return out;
    }

    result<event_list, rejection> operator()(const pass_review& c) const {
        BOOST_OUTCOME_TRY(auto app, clerk_application(c.application_id));
        if (app->status != application_status::accepted) return wrong_status(*app, "accepted");
        event_list out{review_passed{c.application_id}};
        if (rules().publicized_kinds.contains(app->kind)) {
            // 第18条: publicity starts on the day the review passes.
            const auto end = rules().calendar->add_working_days(today(), rules().publicity_working_days);
            out.push_back(publicity_started{c.application_id, today(), end.date, end.provisional});
            return out;
        }
        BOOST_OUTCOME_TRY(complete(*app, out));
        return out;
    }

    result<event_list, rejection> operator()(const fail_review& c) const {
        BOOST_OUTCOME_TRY(auto app, clerk_application(c.application_id));
        if (app->status != application_status::accepted) return wrong_status(*app, "accepted");
        event_list out{review_failed{c.application_id, c.reason}};
        settle_expiry_after_failure(out);
        return out;
    }

    result<event_list, rejection> operator()(const explain_review_delay& c) const {
        BOOST_OUTCOME_TRY(auto app, clerk_application(c.application_id));
        if (app->status != application_status::accepted) return wrong_status(*app, "accepted");
        if (!app->review_overdue) {
            return invalid_state("the formal review is not overdue; there is no delay to explain (第17条)");
        }
        return event_list{review_delay_explained{c.application_id, c.reason}};
    }

    result<event_list, rejection> operator()(const file_objection& c) const {
        const application_state* app = s_.find_application(c.application_id);
        if (app == nullptr) return not_found(fmt::format("no application {}", c.application_id.value()));
        if (const objection_state* existing = app->find_objection(c.objection_id)) {
            // A repeated objection id: the same objection again is a no-op;
            // a different one under the same id is a conflict.
            if (existing->objector == c.objector && existing->grounds == c.grounds &&
                existing->evidence == c.evidence) {
                return event_list{};
            }
            return conflict(fmt::format("objection id {} was already used for a different objection",
                                        c.objection_id.value()));
        }
        if (app->status != application_status::in_publicity || app->publicity_ended || !app->publicity_end ||
            ctx_.now >= rules::deadline_instant(*app->publicity_end)) {
            return invalid_state("objections may be filed only during the publicity period (第19条)");
        }
        return event_list{objection_filed{c.application_id, c.objection_id, c.objector, c.grounds, c.evidence}};
    }

    result<event_list, rejection> operator()(const uphold_objection& c) const {
        BOOST_OUTCOME_TRY(auto app, clerk_application(c.application_id));
        BOOST_OUTCOME_TRY(open_objection(*app, c.objection_id));
        if (app->status != application_status::in_publicity) return wrong_status(*app, "in_publicity");
        // 第19条: an upheld objection terminates the registration procedure.
        event_list out{objection_upheld{c.application_id, c.objection_id, c.reason},
                   application_terminated{c.application_id, c.objection_id}};
        settle_expiry_after_failure(out);
        return out;
    }

    result<event_list, rejection> operator()(const dismiss_objection& c) const {
        BOOST_OUTCOME_TRY(auto app, clerk_application(c.application_id));
        BOOST_OUTCOME_TRY(open_objection(*app, c.objection_id));
        if (app->status != application_status::in_publicity) return wrong_status(*app, "in_publicity");
        event_list out{objection_dismissed{c.application_id, c.objection_id, c.reason}};
        const bool others_open = std::any_of(app->objections.begin(), app->objections.end(), [&](const auto& o) {
            return o.open && o.id != c.objection_id;
        });
        // Completion waited for the last open objection (第20条).
        if (app->publicity_ended && !others_open) {
            BOOST_OUTCOME_TRY(complete(*app, out));
        }
        return out;
    }

    result<event_list, rejection> operator()(const revoke_registration& c) const {
        if (!s_.exists()) return not_found(fmt::format("no registration {}", c.registration_id.value()));
        if (auto r = authorize_clerk_for(s_.institution_id, ctx_.issuer)) return *r;
        if (s_.status != registration_status::valid) {
            return invalid_state(fmt::format("registration {} is {}; only a valid registration can be revoked",
                                             s_.id.value(), status_name(s_.status)));
        }
        // [decision] One open application per registration: the institution
        // settles it (reject, fail review) before revoking.
        if (const application_state* open = s_.open_application()) {
            return conflict(fmt::format("application {} is open; settle it before revoking", open->id.value()));
        }
        event_list out{registration_revoked{s_.institution_id, c.grounds, c.announcement}};
        const institution* inst = ctx_.institutions->find(s_.institution_id);
        // 第23条: a municipal revocation is filed with the provincial institution.
        if (inst != nullptr && inst->level == institution_level::municipal && inst->parent) {
            out.push_back(revocation_filed{s_.institution_id, *inst->parent});
        }
        return out;
    }

    result<event_list, rejection> operator()(const annul_revocation& c) const {
        if (!s_.exists()) return not_found(fmt::format("no registration {}", c.registration_id.value()));
        const institution* own =
            ctx_.issuer.institution ? ctx_.institutions->find(*ctx_.issuer.institution) : nullptr;
        if (own == nullptr || own->level != institution_level::provincial) {
            return reject(errc::forbidden, "only the provincial institution corrects a revocation (第23条)");
        }
        if (s_.status != registration_status::revoked || !s_.revocation) {
            return invalid_state(fmt::format("registration {} is {}; there is no revocation to annul", s_.id.value(),
                                             status_name(s_.status)));
        }
        if (s_.revocation->filed_with != own->id) {
            return invalid_state("only a municipal revocation filed with this institution can be annulled (第23条)");
        }
        // Back to valid, or deregistered if the validity ended meanwhile.
        const bool ended = s_.validity_expired ||
                           (s_.valid_until && ctx_.now >= rules::deadline_instant(*s_.valid_until));
        return event_list{revocation_annulled{own->id, c.reason,
                                          ended ? registration_status::deregistered : registration_status::valid}};
    }

    result<event_list, rejection> operator()(const mark_acceptance_overdue& c) const {
        const application_state* app = s_.find_application(c.application_id);
        if (app == nullptr || app->status != application_status::submitted || app->acceptance_overdue ||
            app->acceptance_due != c.acceptance_due || !due(c.acceptance_due)) {
            return event_list{};
        }
        return event_list{acceptance_overdue{c.application_id, c.acceptance_due}};
    }

    result<event_list, rejection> operator()(const mark_review_overdue& c) const {
        const application_state* app = s_.find_application(c.application_id);
        if (app == nullptr || app->status != application_status::accepted || app->review_overdue ||
            app->review_due != c.review_due || !due(c.review_due)) {
            return event_list{};
        }
        return event_list{review_overdue{c.application_id, c.review_due}};
    }

    result<event_list, rejection> operator()(const end_publicity& c) const {
        const application_state* app = s_.find_application(c.application_id);
        if (app == nullptr || app->status != application_status::in_publicity || app->publicity_ended ||
            app->publicity_end != c.publicity_end || !due(c.publicity_end)) {
            return event_list{};
        }
        event_list out{publicity_ended{c.application_id, c.publicity_end}};
        // 第20条: the code is issued when the period ends with no objection
        // open; otherwise completion waits for the last one to be settled.
        if (!app->has_open_objection()) {
            BOOST_OUTCOME_TRY(complete(*app, out));
        }
        return out;
    }

    result<event_list, rejection> operator()(const open_renewal_window& c) const {
        if (s_.status != registration_status::valid || s_.renewal_window_notified ||
            s_.renewal_window_opens != c.renewal_window_opens || ctx_.now < instant::start_of_day(c.renewal_window_opens)) {
            return event_list{};
        }
        return event_list{renewal_window_opened{c.renewal_window_opens, *s_.valid_until}};
    }

    result<event_list, rejection> operator()(const expire_validity& c) const {
        if (s_.status != registration_status::valid || s_.validity_expired || s_.valid_until != c.valid_until ||
            !due(c.valid_until)) {
            return event_list{};
        }
        const bool pending = s_.open_application() != nullptr;
        event_list out{validity_expired{c.valid_until, pending}};
        // 第13条: not renewed in time, the registration is deregistered; an
        // open application (a renewal) defers that to its outcome.
        if (!pending) out.push_back(registration_deregistered{std::nullopt, deregistration_reason::expired});
        return out;
    }

    // Account commands never reach a registration stream.
    result<event_list, rejection> operator()(const open_account&) const { return wrong_stream(); }
    result<event_list, rejection> operator()(const verify_account&) const { return wrong_stream(); }

private:
    static result<event_list, rejection> wrong_stream() {
        return reject(errc::malformed, "an account command does not apply to a registration");
    }

    const rules::rule_set& rules() const { return *ctx_.rules; }
    calendar_date today() const { return ctx_.now.shanghai_date(); }
    // A deadline (the last day of a period) has passed.
    bool due(calendar_date last_day) const { return ctx_.now >= rules::deadline_instant(last_day); }

    result<const application_state*, rejection> find(const application_id& id) const {
        const application_state* app = s_.find_application(id);
        if (app == nullptr) return not_found(fmt::format("no application {}", id.value()));
        return app;
    }

    result<const application_state*, rejection> clerk_application(const application_id& id) const {
        BOOST_OUTCOME_TRY(auto app, find(id));
        if (auto r = authorize_clerk_for(app->institution_id, ctx_.issuer)) return *r;
        return app;
    }

    result<const application_state*, rejection> subject_application(const application_id& id) const {
        BOOST_OUTCOME_TRY(auto app, find(id));
        if (auto r = authorize_subject_for(app->applicants, ctx_.issuer_account)) return *r;
        return app;
    }

    static result<void, rejection> open_objection(const application_state& app, const objection_id& id) {
        const objection_state* o = app.find_objection(id);
        if (o == nullptr) return not_found(fmt::format("no objection {} on application {}", id.value(), app.id.value()));
        if (!o->open) return invalid_state(fmt::format("objection {} was already settled", id.value()));
        return success();
    }

    // Later applications are made by the registration's holders.
    std::optional<rejection> authorize_applicants_are_holders(const submit_application& c) const {
        for (std::size_t i = 0; i < c.applicants.size(); ++i) {
            const bool holder = std::any_of(s_.applicants.begin(), s_.applicants.end(),
                                            [&](const applicant& h) { return h.uscc == c.applicants[i].uscc; });
            if (!holder) {
                return reject(errc::validation, "not a holder of this registration", fmt::format("/applicants/{}/uscc", i));
            }
        }
        return std::nullopt;
    }

    // 第13条: from 60 days before the validity end up to the end, inclusive.
    std::optional<rejection> check_renewal_window() const {
        if (!s_.valid_until || !s_.renewal_window_opens) return invalid_state("the registration has no validity to renew");
        if (today() < *s_.renewal_window_opens || today() > *s_.valid_until) {
            return reject(errc::renewal_window_closed,
                          fmt::format("renewal may be submitted from {} to {} (第13条)",
                                      s_.renewal_window_opens->to_string(), s_.valid_until->to_string()));
        }
        const auto& rec = s_.record;
        if (rec && rec->authorization && rec->authorization->operation_end <= *s_.valid_until) {
            return invalid_state(
                "the authorization agreement ends before the current validity does; record the new agreement "
                "with a change first (第13条)");
        }
        return std::nullopt;
    }

    // The end of a validity period that starts (or continues) at `from`.
    calendar_date validity_end(calendar_date from, const std::optional<registration_record>& rec) const {
        calendar_date end = from.plus_years(rules().validity_years);
        // 第13条: a product under an authorization agreement is valid for its
        // actual operating period when that is shorter.
        if (rec && rec->authorization && rec->authorization->operation_end < end) {
            end = rec->authorization->operation_end;
        }
        return end;
    }

    // The event_list that complete `app`, by kind (DOMAIN.md "Completion effects").
    result<void, rejection> complete(const application_state& app, event_list& out) const {
        switch (app.kind) {
            case application_kind::initial: {
                const institution* inst = ctx_.institutions->find(app.institution_id);
                if (inst == nullptr || !app.record) {
                    return invalid_state(fmt::format("institution {} is not configured", app.institution_id.value()));
                }
                const int year = today().year();
                const std::uint32_t sequence = ctx_.next_code_sequence(app.institution_id, year);
                const auto valid_until = validity_end(today(), app.record);
                out.push_back(code_issued{app.id,
                                          rules::make_registration_code(inst->region_code, year,
                                                                        app.record->object_type, sequence),
                                          rules().code_scheme, today(), valid_until,
                                          valid_until.plus_days(-rules().renewal_window_days)});
                break;
            }
            case application_kind::change:
                out.push_back(registration_changed{app.id, *app.record, s_.record_version + 1});
                break;
            case application_kind::correction:
                out.push_back(registration_corrected{app.id, *app.record, s_.record_version + 1});
                break;
            case application_kind::deregistration:
                out.push_back(registration_deregistered{app.id, deregistration_reason::voluntary});
                return success();
            case application_kind::renewal: {
                // 第13条: each renewal runs from the day after the previous end.
                const calendar_date previous = *s_.valid_until;
                const auto valid_until = validity_end(previous, s_.record);
                out.push_back(renewal_granted{app.id, previous, valid_until,
                                              valid_until.plus_days(-rules().renewal_window_days)});
                return success();
            }
        }
        // Validity ended while this application was open: it ends now.
        if (s_.awaiting_renewal_outcome) {
            out.push_back(registration_deregistered{std::nullopt, deregistration_reason::expired});
        }
        return success();
    }

    // An application open at expiry ended without a granted renewal.
    void settle_expiry_after_failure(event_list& out) const {
        if (s_.awaiting_renewal_outcome) {
            out.push_back(registration_deregistered{std::nullopt, deregistration_reason::expired});
        }
    }

    const registration_state& s_;
    const decide_context& ctx_;
};

class account_decider {
public:
    account_decider(const account_state& s, const decide_context& ctx) : s_(s), ctx_(ctx) {}

    result<event_list, rejection> operator()(const open_account& c) const {
        if (s_.exists()) return conflict(fmt::format("account {} is already open", c.account_id.value()));
        return event_list{account_opened{c.account_id, c.name, c.uscc, c.subject_type, c.region_code}};
    }

    result<event_list, rejection> operator()(const verify_account& c) const {
        if (!s_.exists()) return not_found(fmt::format("no account {}", c.account_id.value()));
        if (s_.verified) return invalid_state(fmt::format("account {} is already verified", c.account_id.value()));
        return event_list{account_verified{c.account_id, *ctx_.issuer.institution}};
    }

    template <typename Other>
    result<event_list, rejection> operator()(const Other&) const {
        return reject(errc::malformed, "this command does not apply to an account");
    }

private:
    const account_state& s_;
    const decide_context& ctx_;
};

std::optional<rejection> precheck(const command& c, const decide_context& ctx) {
    assert(ctx.rules != nullptr && ctx.institutions != nullptr);
    if (auto r = authorize_role(c, ctx.issuer)) return r;
    if (ctx.issuer.role == role::clerk &&
        (!ctx.issuer.institution || ctx.institutions->find(*ctx.issuer.institution) == nullptr)) {
        return reject(errc::forbidden, "a clerk must belong to a configured institution");
    }
    return validate(c);
}

// Which stream each command acts on; no default branch, so a new command
// does not compile until it is placed.
struct target_visitor {
    command_target operator()(const open_account& x) const { return account_stream(x.account_id); }
    command_target operator()(const verify_account& x) const { return account_stream(x.account_id); }
    command_target operator()(const submit_application& x) const { return registration_stream(x.registration_id); }
    command_target operator()(const request_supplement& x) const { return x.application_id; }
    command_target operator()(const resubmit_materials& x) const { return x.application_id; }
    command_target operator()(const accept_application& x) const { return x.application_id; }
    command_target operator()(const reject_application& x) const { return x.application_id; }
    command_target operator()(const withdraw_application& x) const { return x.application_id; }
    command_target operator()(const pass_review& x) const { return x.application_id; }
    command_target operator()(const fail_review& x) const { return x.application_id; }
    command_target operator()(const explain_review_delay& x) const { return x.application_id; }
    command_target operator()(const file_objection& x) const { return x.application_id; }
    command_target operator()(const uphold_objection& x) const { return x.application_id; }
    command_target operator()(const dismiss_objection& x) const { return x.application_id; }
    command_target operator()(const revoke_registration& x) const { return registration_stream(x.registration_id); }
    command_target operator()(const annul_revocation& x) const { return registration_stream(x.registration_id); }
    command_target operator()(const mark_acceptance_overdue& x) const { return registration_stream(x.registration_id); }
    command_target operator()(const mark_review_overdue& x) const { return registration_stream(x.registration_id); }
    command_target operator()(const end_publicity& x) const { return registration_stream(x.registration_id); }
    command_target operator()(const open_renewal_window& x) const { return registration_stream(x.registration_id); }
    command_target operator()(const expire_validity& x) const { return registration_stream(x.registration_id); }
};

}  // namespace

command_target target_of(const command& c) { return std::visit(target_visitor{}, c); }

result<event_list, rejection> decide(const registration_state& state, const command& c, const decide_context& context) {
    if (auto r = precheck(c, context)) return *r;
    return std::visit(registration_decider{state, context}, c);
}

result<event_list, rejection> decide(const account_state& state, const command& c, const decide_context& context) {
    if (auto r = precheck(c, context)) return *r;
    return std::visit(account_decider{state, context}, c);
}

bool restates(const command& c, const event& first) {
    if (const auto* open = std::get_if<open_account>(&c)) {
        const auto* opened = std::get_if<account_opened>(&first);
        return opened != nullptr && *opened == account_opened{open->account_id, open->name, open->uscc,
                                                              open->subject_type, open->region_code};
    }
    if (const auto* filing = std::get_if<file_objection>(&c)) {
        const auto* filed = std::get_if<objection_filed>(&first);
        return filed != nullptr && *filed == objection_filed{filing->application_id, filing->objection_id,
                                                             filing->objector, filing->grounds, filing->evidence};
    }
    return false;
}

}  // namespace regledger
