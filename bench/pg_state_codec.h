// pg_state_codec: the JSON that the PostgreSQL baseline (pg_target.h) keeps in
// its jsonb columns: a stream's whole state in its row, and each event in its
// audit row.
//
// A state is one JSON object whose keys are the member names of engine/state.h
// at every level (applications, their applicants, records, objections, the
// revocation), written with the generic mapping of events/json.h: ids and
// enums as strings, dates as "YYYY-MM-DD", an absent std::optional left out.
// Decoding is that mapping's strict reader, so decode(encode(s)) == s for
// every state, and text that is not such an object (not JSON, a member
// missing or of the wrong type, a key the state does not have) is refused
// with a MALFORMED rejection whose field points at the offending value.
//
// An event is its fields as the history routes show them under "data"
// (events/json.h); its type name travels beside it, in a column of its own.
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "engine/events.h"
#include "engine/result.h"
#include "engine/state.h"

namespace regledger::bench {

boost::json::value state_to_json(const registration_state& state);
boost::json::value state_to_json(const account_state& state);
result<registration_state, rejection> registration_state_from_json(const boost::json::value& v);
result<account_state, rejection> account_state_from_json(const boost::json::value& v);

// The same as serialized JSON text.
std::string encode_state(const registration_state& state);
std::string encode_state(const account_state& state);
result<registration_state, rejection> decode_registration_state(std::string_view text);
result<account_state, rejection> decode_account_state(std::string_view text);

// An event's fields, and the event back from its type name ("CodeIssued")
// and fields. An unknown type name is MALFORMED too.
boost::json::value event_to_json(const event& e);
std::string encode_event(const event& e);
result<event, rejection> event_from_json(std::string_view type_name, const boost::json::value& fields);
result<event, rejection> decode_event(std::string_view type_name, std::string_view fields);

}  // namespace regledger::bench
