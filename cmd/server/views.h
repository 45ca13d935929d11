// views: what each role may read (DOMAIN.md "Roles", 第9、18、24条).
//
//   subject     its own registrations and applications (it is among the
//               applicants), in full except other people's identity numbers
//               (an objector's id_number);
//   clerk       its own institution's; the provincial clerk every one;
//   auditor     everything;
//   supervisor  statistics only;
//   public      the public routes, which hold public fields only (第18条).
//
// A caller that may not read something gets FORBIDDEN; a document is cut to
// the caller's role before it leaves the server.
#pragma once

#include <optional>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "engine/institutions.h"
#include "engine/result.h"
#include "engine/vocabulary.h"

namespace regledger::server::views {

// REQUIRES: `subject_uscc` is the caller's own credit code when the caller is
// a subject (nullopt when its account does not exist or has not passed the
// real-name check).
std::optional<rejection> may_read(const actor& caller, const institution_directory& institutions,
                                  std::string_view owner_institution, const boost::json::array& applicants,
                                  const std::optional<std::string>& subject_uscc);

// Cuts a registration or application document, or one event of a history
// (its `data`), to what `caller` may see.
void cut_document(const actor& caller, boost::json::object& doc);
void cut_event(const actor& caller, boost::json::object& event);

}  // namespace regledger::server::views
