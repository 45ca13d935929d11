// verify_log: reads a whole log and checks that it is the ledger it claims to
// be: every record decodes (the FlatBuffers verifier runs on each), every
// record's hash covers its contents, every stream's versions run 1, 2, 3, ...
// with each prev_hash the hash of the stream's previous event, and (for a log
// whose offsets are a sequence) no offset is missing. It also rebuilds each
// partition's Merkle tree (events/merkle.h) from the records and checks every
// LedgerCheckpointed record against it: the tree size and root it states
// must be those of the records before it (a record changed, dropped, added or
// moved before a checkpoint shows here, even where the streams' own chains
// still hold), and, given the ledger's public key, its signature. The first
// problem is reported with its exact position; nothing is repaired.
//
// Used at start (a ledger refuses to serve a damaged log) and by
// `regledger verify`.
//
// Thread-safety: reads only; safe beside a running writer (it checks what was
// committed when each read ran).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "engine/ids.h"
#include "events/event_log.h"
#include "events/signing.h"

namespace regledger::events {

struct log_problem {
    log_position position;
    std::string what;
};

struct log_summary {
    std::uint64_t records = 0;
    std::uint64_t streams = 0;
    std::uint64_t bytes = 0;
    // The head of each stream: its last version and hash.
    std::unordered_map<stream_id, std::pair<stream_version, digest>> heads;
    // Checkpoints found, and how many of their signatures were checked
    // (all of them when a public key was given, else none).
    std::uint64_t checkpoints = 0;
    std::uint64_t signatures_checked = 0;
    // Each partition's tree: its size (records) and root.
    std::unordered_map<std::int32_t, std::pair<std::uint64_t, digest>> trees;
};

struct verify_options {
    // Offsets of each partition must be 0, 1, 2, ... when the log says they
    // are (event_log::contiguous_offsets); false checks no log for gaps.
    bool contiguous_offsets = true;
    std::size_t read_batch_records = 4096;
    // Called after each batch read with the records checked so far.
    std::function<void(std::uint64_t checked, std::uint64_t total)> progress;
    // The key the checkpoints must be signed with; nullptr: signatures are
    // not checked (roots still are).
    const verify_key* public_key = nullptr;
};

[[nodiscard]] result<log_summary, log_problem> verify_log(const event_log& log, const verify_options& options);

}  // namespace regledger::events
