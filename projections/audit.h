// The audit side of the read models: the Merkle tree of each partition's
// records (events/merkle.h), kept in the `merkle` family (keys.h) by the same
// batches that apply the records, and the signed checkpoints of those trees.
//
// audit_tree appends: the writer (for the records it stages) and a replay
// (catch-up, rebuild) call append() for every record in log order, so a
// rebuilt store holds the same rows as the live one. audit_reads answers
// auditors: checkpoints, the leaf of an event, and proofs.
//
// Thread-safety: an audit_tree belongs to one thread (the writer's or a
// replay's) and is a value: the writer copies it for a batch and keeps the
// copy only when the batch commits. audit_reads is safe from any thread:
// the rows it reads never change once written.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include <rocksdb/write_batch.h>

#include "engine/envelope.h"
#include "engine/events.h"
#include "engine/ids.h"
#include "engine/result.h"
#include "events/merkle.h"
#include "events/rocks_store.h"

namespace regledger::projections {

namespace merkle = events::merkle;

class audit_tree {
public:
    explicit audit_tree(events::rocks_store& store) : store_(&store) {}

    // Appends the record stored at `position` (its bytes `encoded`) as the
    // next leaf of its partition: its leaf row, its event row, and a
    // checkpoint row when it is a LedgerCheckpointed.
    [[nodiscard]] result<void> append(rocksdb::WriteBatch& batch, log_position position, const event_record& record,
                                      std::span<const std::uint8_t> encoded);
    // The same with the record's leaf hash (merkle::leaf_hash of its bytes)
    // computed already.
    [[nodiscard]] result<void> append(rocksdb::WriteBatch& batch, log_position position, const event_record& record,
                                      const merkle::hash& leaf_hash);
    // Writes the frontier of every partition appended to since the last
    // call. REQUIRES: called once a batch's records are all appended.
    void finish(rocksdb::WriteBatch& batch);
    // The partition's tree as appended so far.
    [[nodiscard]] result<merkle::frontier> tree(partition_id partition);

private:
    result<merkle::frontier*> load(partition_id partition);

    events::rocks_store* store_;
    std::map<std::int32_t, merkle::frontier> trees_;
    std::map<std::int32_t, bool> changed_;
};

// A checkpoint as the `merkle` family indexes it.
struct checkpoint_entry {
    ledger_checkpointed checkpoint;
    // Its event: version in ledger_stream(partition), position and leaf.
    stream_version version{0};
    std::uint64_t leaf = 0;
    log_position position;
    digest hash;
};

// Where an event sits in its partition's tree.
struct event_leaf {
    partition_id partition{0};
    std::uint64_t leaf = 0;
    log_offset offset{0};
    merkle::hash leaf_hash{};
};

class audit_reads {
public:
    explicit audit_reads(events::rocks_store& store) : store_(store) {}

    // The partition's tree as the read models hold it now.
    [[nodiscard]] result<merkle::frontier> tree(partition_id partition) const;
    std::optional<checkpoint_entry> latest_checkpoint(partition_id partition) const;
    std::optional<checkpoint_entry> checkpoint(partition_id partition, std::uint64_t tree_size) const;
    // Up to `limit` checkpoints of `partition` with tree_size > after, oldest first.
    std::vector<checkpoint_entry> checkpoints(partition_id partition, std::uint64_t after, std::size_t limit) const;
    std::optional<event_leaf> leaf_of(const stream_id& stream, stream_version version) const;
    // The stored nodes of `partition`, for merkle::*_proof.
    merkle::node_source nodes(partition_id partition) const;

private:
    std::optional<checkpoint_entry> entry(std::string_view key, std::string_view value) const;

    events::rocks_store& store_;
};

}  // namespace regledger::projections
