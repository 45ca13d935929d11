#include "cmd/server/views.h"

#include <fmt/format.h>

namespace regledger::server::views {
namespace {

void cut_objector(boost::json::object& objector) { objector.erase("id_number"); }

void cut_objections(boost::json::object& application) {
    if (auto* list = application.if_contains("objections"); list && list->is_array()) {
        for (auto& o : list->get_array()) {
            if (auto* objector = o.get_object().if_contains("objector"); objector && objector->is_object()) {
                cut_objector(objector->get_object());
            }
        }
    }
}

}  // namespace

std::optional<rejection> may_read(const actor& caller, const institution_directory& institutions,
                                  std::string_view owner_institution, const boost::json::array& applicants,
                                  const std::optional<std::string>& subject_uscc) {
    switch (caller.role) {
        case role::auditor: return std::nullopt;
        case role::clerk: {
            if (!caller.institution) break;
            if (caller.institution->value() == owner_institution) return std::nullopt;
            const institution* own = institutions.find(*caller.institution);
            if (own && own->level == institution_level::provincial) return std::nullopt;
            return reject(errc::forbidden, fmt::format("this belongs to institution {}; a municipal clerk reads only "
                                                       "its own institution's",
                                                       owner_institution));
        }
        case role::subject: {
            if (!subject_uscc) {
                return reject(errc::forbidden, "the subject's account has not been opened and verified (第12条)");
            }
            for (const auto& a : applicants) {
                if (a.is_object() && a.get_object().at("uscc").as_string() == *subject_uscc) return std::nullopt;
            }
            return reject(errc::forbidden, "a subject reads only the registrations it applied for");
        }
        case role::supervisor:
            return reject(errc::forbidden, "the supervisor reads statistics and service reports only");
        case role::public_:
        case role::system: break;
    }
    return reject(errc::forbidden, "this role may not read registrations");
}

void cut_document(const actor& caller, boost::json::object& doc) {
    if (caller.role != role::subject) return;
    cut_objections(doc);
    if (auto* open = doc.if_contains("open_application"); open && open->is_object()) cut_objections(open->get_object());
    if (auto* apps = doc.if_contains("applications"); apps && apps->is_array()) {
        for (auto& a : apps->get_array()) cut_objections(a.get_object());
    }
}

void cut_event(const actor& caller, boost::json::object& event) {
    if (caller.role != role::subject) return;
    if (auto* data = event.if_contains("data"); data && data->is_object()) {
        if (auto* objector = data->get_object().if_contains("objector"); objector && objector->is_object()) {
            cut_objector(objector->get_object());
        }
    }
}

}  // namespace regledger::server::views
