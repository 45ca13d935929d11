// The envelope: what the ledger records around every event, and the
// event_record that pairs it with the event itself.
//
// `hash` is SHA-256 over the canonical encoding of every other envelope field
// plus the payload (defined once, in events/canonical.h); `prev_hash` is the
// hash of the previous event of the same stream (all zeros for version 1), so
// each stream is a hash chain.
#pragma once

#include <cstdint>

#include <boost/describe/class.hpp>

#include "engine/events.h"
#include "engine/ids.h"
#include "engine/time.h"
#include "engine/vocabulary.h"

namespace regledger {

// Version of the envelope + event schema written by this build.
inline constexpr std::uint16_t current_schema_version = 1;

struct envelope {
    regledger::event_id event_id;
    regledger::stream_id stream_id;
    stream_version version;
    std::uint16_t schema_version = current_schema_version;
    instant occurred_at;
    regledger::actor actor;
    regledger::command_id command_id;
    regledger::correlation_id correlation_id;
    regledger::causation_id causation_id;
    rule_set_id rule_set;
    // SHA-256 of the holiday calendar file the deadlines were computed with.
    digest calendar_version;
    // SHA-256 of the configuration file (institutions, tokens) in force.
    digest config_hash;
    digest prev_hash;
    digest hash;

    friend bool operator==(const envelope&, const envelope&) = default;
};
BOOST_DESCRIBE_STRUCT(envelope, (),
                      (event_id, stream_id, version, schema_version, occurred_at, actor, command_id, correlation_id,
                       causation_id, rule_set, calendar_version, config_hash, prev_hash, hash))

struct event_record {
    regledger::envelope envelope;
    regledger::event event;

    friend bool operator==(const event_record&, const event_record&) = default;
};

}  // namespace regledger
