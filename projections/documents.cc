#include "projections/documents.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

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

}  // namespace

std::string application_document_text(const registration_state& s, const application_state& app) {
    std::string out;
    out.reserve(1024);
    json::object_writer d(out);
    d.put("id", app.id);
    d.put("registration_id", s.id);
    d.put("kind", app.kind);
    d.put("status", app.status);
    d.put("institution_id", app.institution_id);
    d.put("submitted_by", app.submitted_by);
    d.put("applicants", app.applicants);
    if (app.record) d.put("record", *app.record);
    d.put("materials", app.materials);
    d.put("acceptance_due", app.acceptance_due);
    d.put("acceptance_overdue", app.acceptance_overdue);
    if (app.review_due) d.put("review_due", *app.review_due);
    d.put("review_overdue", app.review_overdue);
    d.put("review_delay_explanations", app.review_delay_explanations);
    if (app.publicity_start) d.put("publicity_start", *app.publicity_start);
    if (app.publicity_end) d.put("publicity_end", *app.publicity_end);
    d.put("publicity_ended", app.publicity_ended);
    d.put("calendar_provisional", app.calendar_provisional);
    std::string& objections = d.key("objections");
    objections.push_back('[');
    for (std::size_t i = 0; i < app.objections.size(); ++i) {
        const objection_state& o = app.objections[i];
        if (i > 0) objections.push_back(',');
        json::object_writer od(objections);
        od.put("id", o.id);
        od.put("objector", o.objector);
        od.put("grounds", o.grounds);
        od.put("evidence", o.evidence);
        od.put_string("status", o.open ? "open" : o.upheld ? "upheld" : "dismissed");
        od.close();
    }
    objections.push_back(']');
    d.close();
    return out;
}

std::string registration_head_text(const registration_state& s) {
    std::string out;
    out.reserve(1024);
    json::object_writer d(out);
    d.put("id", s.id);
    d.put("status", s.status);
    if (s.code) d.put("code", *s.code);
    if (s.code_scheme) d.put("code_scheme", *s.code_scheme);
    if (s.valid_from) d.put("valid_from", *s.valid_from);
    if (s.valid_until) d.put("valid_until", *s.valid_until);
    if (s.renewal_window_opens) d.put("renewal_window_opens", *s.renewal_window_opens);
    d.put("version", s.version);
    if (s.record) d.put("record", *s.record);
    d.put("record_version", s.record_version);
    d.put("applicants", s.applicants);
    d.put("institution_id", s.institution_id);
    if (const application_state* open = s.open_application()) {
        d.put("open_application", open->id);
    } else {
        d.put_null("open_application");
    }
    if (s.revocation) {
        json::object_writer r(d.key("revocation"));
        r.put("revoked_by", s.revocation->revoked_by);
        r.put("grounds", s.revocation->grounds);
        r.put("announcement", s.revocation->announcement);
        if (s.revocation->filed_with) r.put("filed_with", *s.revocation->filed_with);
        r.close();
    }
    std::string& ids = d.key("applications");
    ids.push_back('[');
    for (std::size_t i = 0; i < s.applications.size(); ++i) {
        if (i > 0) ids.push_back(',');
        json::append_json(ids, s.applications[i].id);
    }
    ids.push_back(']');
    d.close();
    return out;
}

object application_document(const registration_state& s, const application_state& app) {
    return boost::json::parse(application_document_text(s, app)).as_object();
}

object registration_head(const registration_state& s) {
    return boost::json::parse(registration_head_text(s)).as_object();
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
    // Most events make nothing public: answer those before building anything
    // (every event of the writer comes through here).
    const bool makes_public = std::visit(
        [](const auto& e) {
            using E = std::decay_t<decltype(e)>;
            return std::is_same_v<E, publicity_started> || std::is_same_v<E, publicity_ended> ||
                   std::is_same_v<E, code_issued> || std::is_same_v<E, registration_deregistered> ||
                   std::is_same_v<E, revocation_annulled> || std::is_same_v<E, renewal_granted> ||
                   std::is_same_v<E, registration_revoked>;
        },
        record.event);
    if (!makes_public) return std::nullopt;
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
