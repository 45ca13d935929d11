// The canonical encoding of an event record, and the record hash built on it.
//
// This is the only definition of the bytes an event's hash covers. It does not
// depend on FlatBuffers: the log's bytes may be re-encoded (a later schema
// version, another wire format) without changing any hash. An auditor can
// re-implement it from this comment alone.
//
//   hash = SHA-256( S("regledger.event.v1") || E || U16(type id) || P )
//
//   E  the envelope (engine/envelope.h), its fields in declaration order,
//      without `hash`:
//        S(event_id) S(stream_id) U64(version) U16(schema_version)
//        I64(occurred_at) actor: [ S(account) U8(role) OPT(S(institution)) ]
//        S(command_id) S(correlation_id) S(causation_id) S(rule_set)
//        D(calendar_version) D(config_hash) D(prev_hash)
//   type id  the event's type id (engine/events.h: variant index + 1, the
//      FlatBuffers union tag; schemas/README.md lists them).
//   P  the event struct's fields in declaration order (engine/events.h).
//
// Every value is encoded by its C++ type, fields concatenated with nothing in
// between and no field names:
//   U8, U16, U32, U64   unsigned, big-endian, 1/2/4/8 bytes
//   I32, I64            two's complement, big-endian, 4/8 bytes
//   bool                U8: 0 or 1
//   enum                U8: the enumerator's number (engine/vocabulary.h)
//   std::uint16/32/64_t U16/U32/U64; std::int32/64_t I32/I64
//   calendar_date       I32: days since 1970-01-01
//   instant             I64: microseconds since 1970-01-01T00:00:00Z
//   digest (D)          the 32 raw bytes
//   std::string (S)     U32(byte length) || the UTF-8 bytes, no terminator
//   named_type<T>       the encoding of T (an id is its string)
//   std::optional<T>    U8(0) when absent; U8(1) || T when present
//   std::vector<T>      U32(element count) || each element
//   described struct    each member in declaration order (BOOST_DESCRIBE_STRUCT)
//
// Example: AccountVerified{account_id "a1", verified_by "inst-210000"} has
// P = 00000002 6131 0000000b 696e73742d323130303030.
//
// Fields appended to a struct by a later schema version will be encoded only
// for records of that version or later, so the hashes of older records keep
// verifying. The tag changes only if these rules change.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/envelope.h"
#include "engine/events.h"
#include "engine/ids.h"

namespace regledger::events {

// The domain-separation tag at the start of every hashed message.
inline constexpr std::string_view record_hash_tag = "regledger.event.v1";

// The message the record hash is computed over (everything inside SHA-256(...)
// above), for an auditor's tools and for tests.
std::vector<std::uint8_t> canonical_bytes(const envelope& env, const event& e);

// SHA-256 of canonical_bytes(env, e). env.hash is not part of it.
digest compute_hash(const envelope& env, const event& e);

// Whether rec.envelope.hash is the hash of the rest of the record.
bool hash_matches(const event_record& rec);

}  // namespace regledger::events
