#include "projections/documents.h"

#include <boost/json/array.hpp>

#include "events/json.h"
#include "engine/rules/calendar.h"

namespace regledger::projections {
namespace {

using boost::json::array;
using boost::json::object;

template <typename T>
void put_optional(object& o, std::string_view key, const std::optional<T>& v) {
    if (v) o[key] = json::to_json(*v);
}

array subject_names(const std::vector<applicant>& applicants) {
    array names;
    for (const applicant& a : applicants) names.emplace_back(a.name);
    return names;
}

const registration_record* record_of(const registration_state& s, const application_state& app) {
    if (app.record) return &*app.record;
    return s.record ? &*s.record : nullptr;
}

object objection_document(const objection_state& o) {
    object d;
    d["id"] = o.id.value();
    d["objector"] = json::to_json(o.objector);
    d["grounds"] = o.grounds;
    d["evidence"] = json::to_json(o.evidence);
    d["status"] = o.open ? "open" : o.upheld ? "upheld" : "dismissed";
    return d;
}

}  // namespace

object application_document(const registration_state& s, const application_state& app) {
    object d;
    d["id"] = app.id.value();
    d["registration_id"] = s.id.value();
    d["kind"] = json::to_json(app.kind);
    d["status"] = json::to_json(app.status);
    d["institution_id"] = app.institution_id.value();
    d["submitted_by"] = app.submitted_by.value();
    d["applicants"] = json::to_json(app.applicants);
    put_optional(d, "record", app.record);
    d["materials"] = json::to_json(app.materials);
    d["acceptance_due"] = json::to_json(app.acceptance_due);
    d["acceptance_overdue"] = app.acceptance_overdue;
    put_optional(d, "review_due", app.review_due);
    d["review_overdue"] = app.review_overdue;
    d["review_delay_explanations"] = app.review_delay_explanations;
    put_optional(d, "publicity_start", app.publicity_start);
    put_optional(d, "publicity_end", app.publicity_end);
    d["publicity_ended"] = app.publicity_ended;
    d["calendar_provisional"] = app.calendar_provisional;
    array objections;
    for (const objection_state& o : app.objections) objections.push_back(objection_document(o));
    d["objections"] = std::move(objections);
    return d;
}

object registration_head(const registration_state& s) {
    object d;
    d["id"] = s.id.value();
    d["status"] = json::to_json(s.status);
    put_optional(d, "code", s.code);
    put_optional(d, "code_scheme", s.code_scheme);
    put_optional(d, "valid_from", s.valid_from);
    put_optional(d, "valid_until", s.valid_until);
    put_optional(d, "renewal_window_opens", s.renewal_window_opens);
    d["version"] = s.version.value();
    put_optional(d, "record", s.record);
    d["record_version"] = s.record_version;
    d["applicants"] = json::to_json(s.applicants);
    d["institution_id"] = s.institution_id.value();
    if (const application_state* open = s.open_application()) {
        d["open_application"] = open->id.value();
    } else {
        d["open_application"] = nullptr;
    }
    if (s.revocation) {
        object r;
        r["revoked_by"] = s.revocation->revoked_by.value();
        r["grounds"] = json::to_json(s.revocation->grounds);
        r["announcement"] = s.revocation->announcement;
        put_optional(r, "filed_with", s.revocation->filed_with);
        d["revocation"] = std::move(r);
    }
    array ids;
    for (const application_state& a : s.applications) ids.emplace_back(a.id.value());
    d["applications"] = std::move(ids);
    return d;
}

object compose_registration(object head, std::vector<object> applications) {
    if (auto* open = head.if_contains("open_application"); open && open->is_string()) {
        for (const object& app : applications) {
            if (const auto* id = app.if_contains("id"); id && *id == *open) {
                *open = app;
                break;
            }
        }
        // A head naming an application it does not hold is not trusted.
        if (open->is_string()) *open = nullptr;
    }
    array apps;
    apps.reserve(applications.size());
    for (object& app : applications) apps.push_back(std::move(app));
    head["applications"] = std::move(apps);
    return head;
}

object registration_document(const registration_state& s) {
    std::vector<object> apps;
    apps.reserve(s.applications.size());
    for (const application_state& a : s.applications) apps.push_back(application_document(s, a));
    return compose_registration(registration_head(s), std::move(apps));
}

object publicity_item(const registration_state& s, const application_state& app) {
    object d;
    d["application_id"] = app.id.value();
    d["kind"] = json::to_json(app.kind);
    const registration_record* rec = record_of(s, app);
    d["data_name"] = rec ? rec->data_name : std::string();
    d["summary"] = rec ? rec->summary : std::string();
    d["subjects"] = subject_names(app.applicants);
    put_optional(d, "publicity_start", app.publicity_start);
    put_optional(d, "publicity_end", app.publicity_end);
    d["objection_open"] = app.has_open_objection();
    return d;
}

object public_code_document(const registration_state& s) {
    object d;
    put_optional(d, "code", s.code);
    d["data_name"] = s.record ? s.record->data_name : std::string();
    d["subjects"] = subject_names(s.applicants);
    d["status"] = json::to_json(s.status);
    put_optional(d, "valid_from", s.valid_from);
    put_optional(d, "valid_until", s.valid_until);
    return d;
}

std::optional<object> public_fact(const registration_state& s, const event_record& record) {
    object fact;
    fact["type"] = type_name_of(record.event);
    fact["occurred_at"] = json::to_json(record.envelope.occurred_at);
    auto registration_facts = [&] {
        put_optional(fact, "code", s.code);
        fact["data_name"] = s.record ? s.record->data_name : std::string();
        fact["subjects"] = subject_names(s.applicants);
        fact["status"] = json::to_json(s.status);
        put_optional(fact, "valid_from", s.valid_from);
        put_optional(fact, "valid_until", s.valid_until);
    };
    auto publicity_facts = [&](const application_id& id) {
        const application_state* app = s.find_application(id);
        if (app == nullptr) return;
        const object item = publicity_item(s, *app);
        for (const auto& [k, v] : item) {
            if (k != "objection_open") fact[k] = v;
        }
    };
    return std::visit(
        [&](const auto& e) -> std::optional<object> {
            using E = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<E, publicity_started> || std::is_same_v<E, publicity_ended>) {
                publicity_facts(e.application_id);
                return fact;
            } else if constexpr (std::is_same_v<E, code_issued> || std::is_same_v<E, registration_deregistered> ||
                                 std::is_same_v<E, revocation_annulled> || std::is_same_v<E, renewal_granted>) {
                registration_facts();
                return fact;
            } else if constexpr (std::is_same_v<E, registration_revoked>) {
                registration_facts();
                fact["announcement"] = e.announcement;
                fact["grounds"] = json::to_json(e.grounds);
                return fact;
            } else {
                return std::nullopt;
            }
        },
        record.event);
}

object account_document(const account_state& a) {
    object d;
    d["id"] = a.id.value();
    d["name"] = a.name;
    d["uscc"] = a.uscc;
    d["subject_type"] = json::to_json(a.subject_type);
    d["region_code"] = a.region_code;
    d["verified"] = a.verified;
    put_optional(d, "verified_by", a.verified_by);
    d["version"] = a.version.value();
    return d;
}

}  // namespace regledger::projections
