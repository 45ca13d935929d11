#include <algorithm>
#include <cassert>

#include "engine/state.h"

namespace regledger {

bool application_state::is_final() const noexcept {
    switch (status) {
        case application_status::submitted:
        case application_status::supplement_requested:
        case application_status::accepted:
        case application_status::in_publicity:
            return false;
        case application_status::completed:
        case application_status::rejected:
        case application_status::withdrawn:
        case application_status::review_failed:
        case application_status::terminated:
            return true;
    }
    return true;
}

bool application_state::has_open_objection() const noexcept {
    return std::any_of(objections.begin(), objections.end(), [](const objection_state& o) { return o.open; });
}

const objection_state* application_state::find_objection(const objection_id& oid) const noexcept {
    const auto it = std::find_if(objections.begin(), objections.end(), [&](const auto& o) { return o.id == oid; });
    return it == objections.end() ? nullptr : &*it;
}

const application_state* registration_state::open_application() const noexcept {
    // Only the most recent application can be open.
    if (applications.empty() || applications.back().is_final()) return nullptr;
    return &applications.back();
}

application_state* registration_state::open_application() noexcept {
    return const_cast<application_state*>(std::as_const(*this).open_application());
}

const application_state* registration_state::find_application(const application_id& aid) const noexcept {
    const auto it = std::find_if(applications.begin(), applications.end(), [&](const auto& a) { return a.id == aid; });
    return it == applications.end() ? nullptr : &*it;
}

application_state* registration_state::find_application(const application_id& aid) noexcept {
    return const_cast<application_state*>(std::as_const(*this).find_application(aid));
}

namespace {

// Applies a registration-stream event. Every handler names the event it
// takes; an account event here is a programmer error.
class registration_evolver {
public:
    explicit registration_evolver(registration_state& s) : s_(s) {}

    void operator()(const application_submitted& e) {
        if (e.kind == application_kind::initial) {
            s_.id = e.registration_id;
            s_.status = registration_status::pending;
            s_.institution_id = e.institution_id;
            s_.applicants = e.applicants;
            s_.record = e.record;
            s_.record_version = 1;
        }
        application_state app;
        app.id = e.application_id;
        app.kind = e.kind;
        app.status = application_status::submitted;
        app.institution_id = e.institution_id;
        app.submitted_by = e.submitted_by;
        app.applicants = e.applicants;
        app.record = e.record;
        app.materials = e.materials;
        app.acceptance_due = e.acceptance_due;
        app.calendar_provisional = e.calendar_provisional;
        s_.applications.push_back(std::move(app));
    }
    void operator()(const supplement_requested& e) { app(e.application_id).status = application_status::supplement_requested; }
    void operator()(const materials_resubmitted& e) {
        application_state& a = app(e.application_id);
        a.status = application_status::submitted;
        a.materials = e.materials;
        if (e.record) {
            a.record = e.record;
            if (a.kind == application_kind::initial) s_.record = e.record;
        }
        a.acceptance_due = e.acceptance_due;
        a.acceptance_overdue = false;
        a.calendar_provisional = a.calendar_provisional || e.calendar_provisional;
    }
    void operator()(const acceptance_overdue& e) { app(e.application_id).acceptance_overdue = true; }
    void operator()(const application_accepted& e) {
        application_state& a = app(e.application_id);
        a.status = application_status::accepted;
        a.review_due = e.review_due;
        a.calendar_provisional = a.calendar_provisional || e.calendar_provisional;
    }
    void operator()(const application_rejected& e) { close(e.application_id, application_status::rejected); }
    void operator()(const application_withdrawn& e) { close(e.application_id, application_status::withdrawn); }
    void operator()(const review_overdue& e) { app(e.application_id).review_overdue = true; }
    void operator()(const review_delay_explained& e) { ++app(e.application_id).review_delay_explanations; }
    void operator()(const review_passed&) {}
    void operator()(const review_failed& e) { close(e.application_id, application_status::review_failed); }
    void operator()(const publicity_started& e) {
        application_state& a = app(e.application_id);
        a.status = application_status::in_publicity;
        a.publicity_start = e.publicity_start;
        a.publicity_end = e.publicity_end;
        a.calendar_provisional = a.calendar_provisional || e.calendar_provisional;
    }
    void operator()(const objection_filed& e) {
        app(e.application_id).objections.push_back({e.objection_id, e.objector, e.grounds, e.evidence, true, false});
    }
    void operator()(const objection_upheld& e) {
        objection_state& o = objection(e.application_id, e.objection_id);
        o.open = false;
        o.upheld = true;
    }
    void operator()(const objection_dismissed& e) { objection(e.application_id, e.objection_id).open = false; }
    void operator()(const application_terminated& e) { close(e.application_id, application_status::terminated); }
    void operator()(const publicity_ended& e) { app(e.application_id).publicity_ended = true; }
    void operator()(const code_issued& e) {
        app(e.application_id).status = application_status::completed;
        s_.status = registration_status::valid;
        s_.code = e.code;
        s_.code_scheme = e.scheme;
        s_.valid_from = e.valid_from;
        s_.valid_until = e.valid_until;
        s_.renewal_window_opens = e.renewal_window_opens;
        s_.renewal_window_notified = false;
        s_.validity_expired = false;
    }
    void operator()(const registration_changed& e) {
        app(e.application_id).status = application_status::completed;
        s_.record = e.record;
        s_.record_version = e.record_version;
    }
    void operator()(const registration_corrected& e) {
        app(e.application_id).status = application_status::completed;
        s_.record = e.record;
        s_.record_version = e.record_version;
    }
    void operator()(const registration_deregistered& e) {
        if (e.application_id) app(*e.application_id).status = application_status::completed;
        s_.status = registration_status::deregistered;
        s_.awaiting_renewal_outcome = false;
    }
    void operator()(const renewal_window_opened&) { s_.renewal_window_notified = true; }
    void operator()(const validity_expired& e) {
        s_.validity_expired = true;
        s_.awaiting_renewal_outcome = e.application_pending;
    }
    void operator()(const renewal_granted& e) {
        app(e.application_id).status = application_status::completed;
        s_.valid_until = e.valid_until;
        s_.renewal_window_opens = e.renewal_window_opens;
        s_.renewal_window_notified = false;
        s_.validity_expired = false;
        s_.awaiting_renewal_outcome = false;
    }
    void operator()(const registration_revoked& e) {
        s_.status = registration_status::revoked;
        s_.revocation = revocation_state{e.institution_id, e.grounds, e.announcement, std::nullopt};
    }
    void operator()(const revocation_filed& e) {
        assert(s_.revocation);
        s_.revocation->filed_with = e.filed_with;
    }
    void operator()(const revocation_annulled& e) {
        s_.status = e.restored_status;
        s_.revocation.reset();
        if (e.restored_status == registration_status::deregistered) s_.validity_expired = true;
    }
    void operator()(const account_opened&) { assert(!"an account event on a registration stream"); }
    void operator()(const account_verified&) { assert(!"an account event on a registration stream"); }
    void operator()(const ledger_checkpointed&) { assert(!"a ledger checkpoint on a registration stream"); }

private:
    application_state& app(const application_id& id) {
        application_state* a = s_.find_application(id);
        assert(a != nullptr && "an event names an application its stream does not have");
        return *a;
    }
    objection_state& objection(const application_id& aid, const objection_id& oid) {
        auto& list = app(aid).objections;
        const auto it = std::find_if(list.begin(), list.end(), [&](const auto& o) { return o.id == oid; });
        assert(it != list.end() && "an event names an objection its application does not have");
        return *it;
    }
    // An application ended without completing; a failed initial application
    // leaves the registration not registered.
    void close(const application_id& id, application_status final_status) {
        application_state& a = app(id);
        a.status = final_status;
        if (a.kind == application_kind::initial) s_.status = registration_status::not_registered;
    }

    registration_state& s_;
};

}  // namespace

registration_state evolve(registration_state state, const event& e) {
    std::visit(registration_evolver{state}, e);
    state.version = stream_version(state.version.value() + 1);
    return state;
}

account_state evolve(account_state state, const event& e) {
    if (const auto* opened = std::get_if<account_opened>(&e)) {
        state.id = opened->account_id;
        state.name = opened->name;
        state.uscc = opened->uscc;
        state.subject_type = opened->subject_type;
        state.region_code = opened->region_code;
    } else if (const auto* verified = std::get_if<account_verified>(&e)) {
        state.verified = true;
        state.verified_by = verified->verified_by;
    } else {
        assert(!"a registration event on an account stream");
    }
    state.version = stream_version(state.version.value() + 1);
    return state;
}

}  // namespace regledger
