// Sample event records for the codec and hash tests and for the codec
// benchmark: for every event type, a full record and a minimal one.
//
// The full records are frozen: tests/fixtures/v1/ holds their encodings, and
// the fixture test checks that those bytes still decode to exactly these
// values. Change a full sample only together with a new fixture version.
#pragma once

#include <optional>
#include <vector>

#include "engine/envelope.h"
#include "engine/events.h"

namespace regledger::samples {

// Every optional present, every vector non-empty, every bool true and every
// enum off its default; free text in Chinese. The envelope's hash is set.
// nullopt when no sample exists for `id` (a new event type needs one).
std::optional<event_record> full_record(event_type_id id);

// Every optional absent, every vector and string empty, scalars at their
// defaults; the envelope is default-constructed apart from its hash.
event_record minimal_record(event_type_id id);

// The payloads of full_record(), one per event type that has a sample.
std::vector<event> full_payloads();

}  // namespace regledger::samples
