// The event codec: an event_record (envelope + event) to and from the bytes
// stored in the log, a FlatBuffers `Envelope` of schemas/events.fbs.
//
// encode() is deterministic: the same record always gives the same bytes.
// decode() runs the FlatBuffers verifier on every call and then checks every
// field against its C++ type, so bytes from the network or a damaged disk give
// a codec_errc, never a crash or undefined behaviour. A decoded record is only
// well formed; whether its hash is right is hash_matches() (events/canonical.h).
//
// The schema and the engine's structs are mapped field by field, in
// declaration order (schemas/README.md). schema_mismatch() checks that the
// generated schema code and the described C++ structs agree; encode() and
// decode() assert it on first use, so a build where they disagree stops at
// once instead of misreading bytes.
//
// Thread-safety: free functions without shared mutable state; safe to call
// from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "engine/envelope.h"
#include "engine/events.h"
#include "engine/result.h"

namespace regledger::events {

// Why bytes are not an event record. Numbers are stable and never reused.
enum class codec_errc : int {
    // No bytes at all.
    empty = 1,
    // Fewer bytes than a FlatBuffers header (root offset + file identifier).
    truncated = 2,
    // More than record_bytes_max bytes.
    too_large = 3,
    // The file identifier is not "RLEV": these bytes are something else.
    not_a_record = 4,
    // The FlatBuffers verifier refused the buffer (an offset or length out of
    // range, misaligned data, nesting too deep), or its objects overlap in a
    // way encode() never writes (which could inflate a small record into a
    // huge decoded one).
    verification_failed = 5,
    // The envelope's schema_version is not one this build reads.
    unsupported_schema_version = 6,
    // The payload's union tag is not an event type this build knows.
    unknown_event_type = 7,
    // A field is missing, or its value is outside its type: an enum value
    // with no enumerator, a date outside 0001-01-01..9999-12-31, an instant
    // outside those days, a string that is not UTF-8, an absent payload.
    invalid_field = 8,
};

const std::error_category& codec_category() noexcept;
inline std::error_code make_error_code(codec_errc e) noexcept { return {static_cast<int>(e), codec_category()}; }

// The largest record decode() accepts. Records are a few kilobytes; a writer
// checks an encoded record against this limit before appending it.
inline constexpr std::size_t record_bytes_max = 4 * 1024 * 1024;

// The schema version(s) this build decodes: 1 .. current_schema_version.
inline constexpr std::uint16_t oldest_readable_schema_version = 1;

// The FlatBuffers bytes of a record, identifier "RLEV". Deterministic.
// Values are written as they are: a record the engine could not have made (a
// date outside 0001..9999, text that is not UTF-8) encodes, and decode()
// refuses it with invalid_field.
// REQUIRES: rec.envelope.schema_version == current_schema_version.
std::vector<std::uint8_t> encode(const event_record& rec);

// The record in `bytes`, verified; `bytes` may have any alignment.
[[nodiscard]] result<event_record> decode(std::span<const std::uint8_t> bytes);

// The event type id of a verified record, without decoding its fields; for
// filtering and for the log's `type` header. nullopt when decode() would fail
// before looking at the fields (empty, truncated, not a record, refused by the
// verifier) or when the union tag is not a known event type.
std::optional<event_type_id> peek_type(std::span<const std::uint8_t> bytes);

// A description of the first difference between the generated schema code and
// the engine's described structs (field names, order, types, enumerators, union
// members), or nullopt when they agree.
std::optional<std::string> schema_mismatch();

}  // namespace regledger::events

template <>
struct std::is_error_code_enum<regledger::events::codec_errc> : std::true_type {};
