// The JSON documents the read models store and the query API serves, built
// from a stream's state (engine/state.h) by one function each, so that the
// live projection, a rebuild and an as-of query (which folds the stream up to
// an instant) all give the same bytes.
//
// The documents hold every field, confidential ones included; what a caller
// may see is cut at the API's edge by role (第9、18、24条). public_view()
// keeps only the public fields of 第18条.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "engine/envelope.h"
#include "engine/state.h"

namespace regledger::projections {

// API.md `GET /v1/registrations/{id}` (without `position`, which the query
// adds), plus `record_version`, `revocation` when revoked, and
// `applications`: every application's document, oldest first.
boost::json::object registration_document(const registration_state& state);

// What the `directory` family stores for a registration: its document with
// `open_application` the open application's id (or null) and `applications`
// its applications' ids, oldest first; each application's document is a row
// of its own (`applications` family), rewritten only when it changes, so that
// a registration's row does not grow with its applications.
boost::json::object registration_head(const registration_state& state);
// registration_head() as the text the `directory` row holds (written
// directly, without building the object: the writer's hot path).
std::string registration_head_text(const registration_state& state);
// The registration document from its head and its applications' documents
// (in `head`'s order): what registration_document() gives for that state.
boost::json::object compose_registration(boost::json::object head, std::vector<boost::json::object> applications);

// API.md `GET /v1/applications/{id}`: the application with its status,
// deadlines and objections, and the registration it belongs to.
boost::json::object application_document(const registration_state& state, const application_state& app);
// application_document() as the text the `applications` row holds.
std::string application_document_text(const registration_state& state, const application_state& app);

// A publicity list item (第18条: subject names, kind, data name, summary).
boost::json::object publicity_item(const registration_state& state, const application_state& app);

// `GET /v1/public/codes/{code}`: {code, data_name, subjects, status,
// valid_from, valid_until}.
boost::json::object public_code_document(const registration_state& state);

// The public fact an event makes known, for the public topic (ARCHITECTURE.md
// "The log"): publicity started or ended, code issued, deregistered, revoked
// with its announcement, revocation annulled, renewal granted — with the
// public fields of 第18条 only. nullopt for every other event. `after` is the
// registration's state once the event applied.
std::optional<boost::json::object> public_fact(const registration_state& after, const event_record& record);

// An account as clerks see it.
boost::json::object account_document(const account_state& state);

}  // namespace regledger::projections
