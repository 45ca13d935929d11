// The ledger's identifiers, versions and positions as distinct types.
//
// Client-chosen ids (registration, application, command, objection, account)
// match [A-Za-z0-9._-]{1,64} (API.md); validation lives in engine/validate.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>

#include "engine/named_type.h"

namespace regledger {

using registration_id = string_id<struct registration_id_tag>;
using application_id = string_id<struct application_id_tag>;
using account_id = string_id<struct account_id_tag>;
using institution_id = string_id<struct institution_id_tag>;
using command_id = string_id<struct command_id_tag>;
using objection_id = string_id<struct objection_id_tag>;
// "<stream>/<version>": unique across the log, derived, never chosen.
using event_id = string_id<struct event_id_tag>;
// "reg-<registration_id>" or "acct-<account_id>".
using stream_id = string_id<struct stream_id_tag>;
using correlation_id = string_id<struct correlation_id_tag>;
// The command or event that caused an event.
using causation_id = string_id<struct causation_id_tag>;
using rule_set_id = string_id<struct rule_set_id_tag>;

// Version of an event within its stream: the first event is version 1.
using stream_version = named_type<std::uint64_t, struct stream_version_tag>;

using partition_id = named_type<std::int32_t, struct partition_id_tag>;
using log_offset = named_type<std::int64_t, struct log_offset_tag>;

// Where an event sits in the log. The embedded log has one partition (0)
// whose offsets are the global sequence.
struct log_position {
    partition_id partition;
    log_offset offset;

    friend bool operator==(const log_position&, const log_position&) = default;
    friend auto operator<=>(const log_position&, const log_position&) = default;
};

// A SHA-256 digest. All zeros is the previous hash of a stream's first event.
using sha256_digest = std::array<std::uint8_t, 32>;
using digest = named_type<sha256_digest, struct digest_tag>;

inline stream_id registration_stream(const registration_id& id) { return stream_id("reg-" + id.value()); }
inline stream_id account_stream(const account_id& id) { return stream_id("acct-" + id.value()); }
// The stream of a partition's signed checkpoints (ledger_checkpointed).
inline stream_id ledger_stream(std::int32_t partition) { return stream_id("ledger-p" + std::to_string(partition)); }
inline bool is_ledger_stream(const stream_id& id) { return id.value().starts_with("ledger-"); }

}  // namespace regledger
