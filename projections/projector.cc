#include "projections/projector.h"

#include <algorithm>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "events/embedded_log.h"
#include "events/json.h"
#include "engine/deadlines.h"
#include "projections/documents.h"

namespace regledger::projections {
namespace {

std::string to_text(const boost::json::object& v) { return boost::json::serialize(v); }

std::string encode_i64(std::int64_t v) {
    std::string out;
    put_i64(out, v);
    return out;
}

// The service-report figures (DOMAIN.md "Supervision", 第21条) an event adds
// to, given the application it concerns as it stood before the event.
struct figures_of {
    const registration_state& before;
    calendar_date day;

    const application_state* app(const application_id& id) const { return before.find_application(id); }

    std::vector<std::string_view> operator()(const application_submitted& e) const {
        if (e.kind == application_kind::renewal) return {"submitted", "renewals_submitted"};
        return {"submitted"};
    }
    std::vector<std::string_view> operator()(const supplement_requested&) const { return {"supplements_requested"}; }
    std::vector<std::string_view> operator()(const materials_resubmitted&) const { return {"resubmitted"}; }
    std::vector<std::string_view> operator()(const acceptance_overdue&) const { return {"acceptances_overdue"}; }
    std::vector<std::string_view> operator()(const application_accepted& e) const {
        const application_state* a = app(e.application_id);
        if (a && day <= a->acceptance_due) return {"accepted", "accepted_on_time"};
        return {"accepted"};
    }
    std::vector<std::string_view> operator()(const application_rejected&) const { return {"rejected"}; }
    std::vector<std::string_view> operator()(const application_withdrawn&) const { return {"withdrawn"}; }
    std::vector<std::string_view> operator()(const review_overdue&) const { return {"reviews_overdue"}; }
    std::vector<std::string_view> operator()(const review_delay_explained& e) const {
        const application_state* a = app(e.application_id);
        if (a && a->review_delay_explanations == 0) return {"delay_explanations", "overdue_reviews_explained"};
        return {"delay_explanations"};
    }
    std::vector<std::string_view> operator()(const review_passed& e) const { return reviewed(e.application_id, "reviews_passed"); }
    std::vector<std::string_view> operator()(const review_failed& e) const { return reviewed(e.application_id, "reviews_failed"); }
    std::vector<std::string_view> operator()(const publicity_started&) const { return {"publicity_started"}; }
    std::vector<std::string_view> operator()(const objection_filed&) const { return {"objections_filed"}; }
    std::vector<std::string_view> operator()(const objection_upheld&) const { return {"objections_upheld"}; }
    std::vector<std::string_view> operator()(const objection_dismissed&) const { return {"objections_dismissed"}; }
    std::vector<std::string_view> operator()(const application_terminated&) const { return {"terminated"}; }
    std::vector<std::string_view> operator()(const publicity_ended&) const { return {"publicity_ended"}; }
    std::vector<std::string_view> operator()(const code_issued&) const { return {"codes_issued"}; }
    std::vector<std::string_view> operator()(const registration_changed&) const { return {"changes"}; }
    std::vector<std::string_view> operator()(const registration_corrected&) const { return {"corrections"}; }
    std::vector<std::string_view> operator()(const registration_deregistered& e) const {
        return {e.reason == deregistration_reason::voluntary ? "deregistrations_voluntary" : "deregistrations_expired"};
    }
    std::vector<std::string_view> operator()(const renewal_window_opened&) const { return {"renewal_windows_opened"}; }
    std::vector<std::string_view> operator()(const validity_expired&) const { return {"validities_expired"}; }
    std::vector<std::string_view> operator()(const renewal_granted&) const { return {"renewals"}; }
    std::vector<std::string_view> operator()(const registration_revoked&) const { return {"revocations"}; }
    std::vector<std::string_view> operator()(const revocation_filed&) const { return {"revocations_filed"}; }
    std::vector<std::string_view> operator()(const revocation_annulled&) const { return {"revocations_annulled"}; }
    std::vector<std::string_view> operator()(const account_opened&) const { return {}; }
    std::vector<std::string_view> operator()(const account_verified&) const { return {}; }
    std::vector<std::string_view> operator()(const ledger_checkpointed&) const { return {}; }

    std::vector<std::string_view> reviewed(const application_id& id, std::string_view figure) const {
        const application_state* a = app(id);
        if (a && a->review_due && day <= *a->review_due) return {figure, "reviewed", "reviewed_on_time"};
        return {figure, "reviewed"};
    }
};

// The institution an event of a registration stream counts for.
institution_id institution_of(const registration_state& before, const event& e) {
    if (const auto* submitted = std::get_if<application_submitted>(&e)) return submitted->institution_id;
    return before.institution_id;
}

std::set<std::string> holders_of(const registration_state& s) {
    std::set<std::string> out;
    if (!s.exists()) return out;
    for (const applicant& a : s.applicants) out.insert(a.uscc);
    return out;
}

// Ordered by key and value: a row whose key stays while its value changes
// (the same deadline, now for the stream's next application) is a deletion
// of the old row plus a put of the new one (written after the deletions),
// not "unchanged".
struct timer_row {
    std::string key;
    std::string value;
    auto operator<=>(const timer_row&) const = default;
};

std::set<timer_row> timer_rows(const registration_state& s) {
    std::set<timer_row> rows;
    const stream_id stream = registration_stream(s.id);
    for (const timer& t : pending_timers(s)) {
        rows.insert({timer_key(t.due, stream, static_cast<std::uint8_t>(t.kind)), encode_timer_value(t)});
    }
    return rows;
}

const application_state* in_publicity(const registration_state& s) {
    const application_state* open = s.open_application();
    return open && open->status == application_status::in_publicity ? open : nullptr;
}

}  // namespace

std::string encode_outcome(const stored_outcome& o) {
    boost::json::object d;
    d["ok"] = o.ok;
    if (o.ok) {
        d["stream"] = o.stream.value();
        d["from_version"] = o.from_version;
        d["to_version"] = o.to_version;
        boost::json::array positions;
        for (const log_position& p : o.positions) positions.push_back(json::to_json(p));
        d["positions"] = std::move(positions);
    } else {
        d["code"] = static_cast<int>(o.error.code);
        d["message"] = o.error.message;
        d["field"] = o.error.field;
    }
    return to_text(d);
}

std::optional<stored_outcome> decode_outcome(std::string_view value) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(value, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto& d = v.get_object();
    stored_outcome o;
    try {
        o.ok = d.at("ok").as_bool();
        if (o.ok) {
            o.stream = stream_id(std::string(d.at("stream").as_string()));
            o.from_version = d.at("from_version").to_number<std::uint64_t>();
            o.to_version = d.at("to_version").to_number<std::uint64_t>();
            for (const auto& p : d.at("positions").as_array()) {
                o.positions.push_back({partition_id(p.at("partition").to_number<std::int32_t>()),
                                       log_offset(p.at("offset").to_number<std::int64_t>())});
            }
        } else {
            o.error.code = static_cast<errc>(d.at("code").to_number<int>());
            o.error.message = std::string(d.at("message").as_string());
            o.error.field = std::string(d.at("field").as_string());
        }
    } catch (const std::exception&) {
        return std::nullopt;
    }
    return o;
}

bool outcome_outside_log(std::string_view value) {
    const auto outcome = decode_outcome(value);
    return outcome && (!outcome->ok || outcome->from_version > outcome->to_version);
}

projection_batch::projection_batch(events::rocks_store& store)
    : store_(store), history_by_offset_(store.has(events::embedded_log::column_family)) {}

projection_batch::projection_batch(events::rocks_store& store, counter_values& counters, std::size_t reserve_bytes)
    : store_(store),
      history_by_offset_(store.has(events::embedded_log::column_family)),
      batch_(reserve_bytes),
      counters_(&counters),
      shared_(true) {}

std::int64_t& projection_batch::counter(std::string_view family, const std::string& key) {
    const counter_order::view id(family, key);
    const auto it = counters_->lower_bound(id);
    if (it != counters_->end() && !counter_order{}(id, it->first)) return it->second;
    std::int64_t value = 0;
    bool known = false;
    if (earlier_ != nullptr) {
        if (const auto e = earlier_->find(id); e != earlier_->end()) {
            value = e->second;
            known = true;
        }
    }
    if (!known && !shared_) {
        std::string stored;
        const auto status = store_.db().Get(rocksdb::ReadOptions(), store_.cf(family), key, &stored);
        if (status.ok() && stored.size() == 8) value = get_i64(stored, 0);
    }
    return counters_->emplace_hint(it, std::make_pair(std::string(family), key), value)->second;
}

void projection_batch::bump_figure(const institution_id& inst, calendar_date day, std::string_view figure) {
    ++counter(cf::stats, stats_key(inst, day, figure));
}

void projection_batch::on_recorded(const event_record& record, const std::vector<std::uint8_t>& encoded,
                                   log_position position) {
    const auto& env = record.envelope;
    if (history_by_offset_) {
        batch_.Put(store_.cf(cf::history), history_key(env.stream_id, env.version),
                   events::embedded_log::key_of(position.offset.value()));
    } else {
        batch_.Put(store_.cf(cf::history), history_key(env.stream_id, env.version),
                   rocksdb::Slice(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
    }
}

void projection_batch::on_registration_event(const registration_state& before, const event_record& record) {
    const auto& env = record.envelope;
    const calendar_date day = env.occurred_at.shanghai_date();
    const institution_id inst = institution_of(before, record.event);
    for (std::string_view figure : std::visit(figures_of{before, day}, record.event)) bump_figure(inst, day, figure);
    if (const auto* issued = std::get_if<code_issued>(&record.event)) {
        // The code's sequence number is its characters 11..17 (LN-LOCAL-1).
        const std::int64_t sequence = std::stoll(issued->code.substr(11, 7));
        std::int64_t& next = counter(cf::counters, counter_key(inst, issued->valid_from.year()));
        next = std::max(next, sequence + 1);
    }
}

void projection_batch::on_ledger_event(const event_record& record) {
    const auto& env = record.envelope;
    batch_.Put(store_.cf(cf::streams), env.stream_id.value(), encode_head({env.version, env.hash}));
}

void projection_batch::on_registration_settled(const registration_state& before, const registration_state& after,
                                               const digest& head_hash) {
    const registration_id& id = after.id;
    const stream_id stream = registration_stream(id);
    batch_.Put(store_.cf(cf::directory), id.value(), registration_head_text(after));
    batch_.Put(store_.cf(cf::streams), stream.value(), encode_head({after.version, head_hash}));

    // Applications are only ever appended: the i-th is the same one before
    // and after. Only those that changed are written again.
    for (std::size_t i = 0; i < after.applications.size(); ++i) {
        const application_state& app = after.applications[i];
        if (i < before.applications.size() && before.applications[i] == app) continue;
        batch_.Put(store_.cf(cf::applications), app.id.value(), application_row(id, application_document_text(after, app)));
    }
    if (after.code && before.code != after.code) batch_.Put(store_.cf(cf::by_code), *after.code, id.value());

    const auto old_holders = holders_of(before);
    const auto new_holders = holders_of(after);
    for (const auto& uscc : old_holders) {
        if (!new_holders.contains(uscc)) batch_.Delete(store_.cf(cf::by_subject), by_subject_key(uscc, id));
    }
    for (const auto& uscc : new_holders) {
        if (!old_holders.contains(uscc)) batch_.Put(store_.cf(cf::by_subject), by_subject_key(uscc, id), "");
    }

    const bool existed = before.exists();
    if (!existed || before.status != after.status || before.valid_until != after.valid_until) {
        if (existed) {
            batch_.Delete(store_.cf(cf::by_status_expiry), by_status_expiry_key(before.status, before.valid_until, id));
        }
        batch_.Put(store_.cf(cf::by_status_expiry), by_status_expiry_key(after.status, after.valid_until, id), "");
    }
    if (!existed || before.institution_id != after.institution_id) {
        if (existed) batch_.Delete(store_.cf(cf::by_institution), by_institution_key(before.institution_id, id));
        batch_.Put(store_.cf(cf::by_institution), by_institution_key(after.institution_id, id), "");
    }
    if (!existed || before.status != after.status || before.institution_id != after.institution_id) {
        if (existed) --counter(cf::status_counts, status_count_key(before.institution_id, before.status));
        ++counter(cf::status_counts, status_count_key(after.institution_id, after.status));
    }

    const application_state* was_public = existed ? in_publicity(before) : nullptr;
    const application_state* is_public = in_publicity(after);
    if (was_public && (!is_public || is_public->id != was_public->id)) {
        batch_.Delete(store_.cf(cf::publicity), was_public->id.value());
    }
    if (is_public) batch_.Put(store_.cf(cf::publicity), is_public->id.value(), to_text(publicity_item(after, *is_public)));

    const auto old_timers = existed ? timer_rows(before) : std::set<timer_row>{};
    const auto new_timers = timer_rows(after);
    for (const auto& row : old_timers) {
        if (!new_timers.contains(row)) batch_.Delete(store_.cf(cf::timers), row.key);
    }
    for (const auto& row : new_timers) {
        if (!old_timers.contains(row)) batch_.Put(store_.cf(cf::timers), row.key, row.value);
    }
}

void projection_batch::on_account_settled(const account_state& after, const digest& head_hash) {
    batch_.Put(store_.cf(cf::accounts), after.id.value(), to_text(account_document(after)));
    batch_.Put(store_.cf(cf::streams), account_stream(after.id).value(), encode_head({after.version, head_hash}));
}

void projection_batch::on_command(const command_id& id, const stored_outcome& outcome) {
    batch_.Put(store_.cf(cf::commands), id.value(), encode_outcome(outcome));
}

void projection_batch::on_checkpoint(partition_id partition, log_offset next) {
    batch_.Put(store_.cf(cf::checkpoint), checkpoint_key(partition), encode_i64(next.value()));
}

std::uint32_t projection_batch::next_code_sequence(const institution_id& inst, int year) {
    const std::int64_t next = counter(cf::counters, counter_key(inst, year));
    return static_cast<std::uint32_t>(std::max<std::int64_t>(next, 1));
}

void projection_batch::finish() {
    if (!shared_) write_counters();
}

void projection_batch::write_counters() {
    // A count back at zero is no row at all, as if it had never been counted:
    // the live store and a rebuild then hold the same rows.
    for (const auto& [id, value] : *counters_) {
        if (value == 0) {
            batch_.Delete(store_.cf(id.first), id.second);
        } else {
            batch_.Put(store_.cf(id.first), id.second, encode_i64(value));
        }
    }
}

}  // namespace regledger::projections
