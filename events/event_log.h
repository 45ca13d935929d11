// event_log: the interface both logs implement — the embedded RocksDB log
// (events/embedded_log.h) and Apache Kafka (events/kafka_log.h).
//
// A log is a set of partitions, each an ordered sequence of records with
// offsets. A record is one encoded event_record (events/codec.h) and its key,
// the stream id, which decides the partition, so a stream's events stay in
// order. The embedded log has one partition whose offsets are the global
// sequence 0, 1, 2, ...
//
// Appending is two-phase so that the local store can record the positions it
// reflects in the same commit:
//   stage(records)  -> the positions the records will have;
//   commit(local)   -> the records are durable, and `local` (the projection
//                      rows, command outcomes and checkpoint that reflect
//                      them) is written: embedded, in ONE synced RocksDB
//                      write; Kafka, the transaction commits, then `local` is
//                      written (a crash in between is repaired on start by
//                      reading the log from the checkpoint);
//   abort()         -> nothing staged becomes visible.
// A record is acknowledged only after commit() returned success.
//
// A log whose overlaps_commits() is true takes the next stage() while the
// previous batch's commit() runs on another thread (at most two batches
// staged; they commit in order, and abort() drops both). Otherwise a stage()
// waits for the previous commit() or abort().
//
// Thread-safety: one writer thread calls stage/abort, and commit (or one
// committing thread, where commits overlap); read() and end() may be called
// from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <span>
#include <vector>

#include "engine/events.h"
#include "engine/ids.h"
#include "engine/result.h"

namespace rocksdb {
class WriteBatch;
}

namespace regledger::events {

struct log_record {
    // The Kafka key; decides the partition.
    stream_id key;
    // The Kafka `type` header, for consumers that filter without decoding.
    event_type_id type = 0;
    // The encoded event_record (events/codec.h).
    std::vector<std::uint8_t> value;
    // The public facts of the event (JSON, 第18条 fields only), for the
    // public topic of a log that has one; nullopt when the event has none.
    std::optional<std::string> public_fact;
    // The partition, when not the key's (a partition's own ledger stream
    // of checkpoints); nullopt: partition_of(key).
    std::optional<partition_id> partition;
};

struct stored_record {
    log_position position;
    std::vector<std::uint8_t> value;
};

class event_log {
public:
    virtual ~event_log() = default;

    virtual std::int32_t partition_count() const noexcept = 0;
    // Whether this instance writes `partition` (a node of a cluster writes
    // only the partitions it owns).
    virtual bool owns(partition_id) const noexcept { return true; }
    // Set once the log can never be written again by this instance (a newer
    // writer fenced it): the writer stops taking commands.
    virtual bool fatal() const noexcept { return false; }
    // Whether offsets run 0, 1, 2, ... without gaps (the embedded log; a
    // transactional Kafka topic has gaps where commit markers sit).
    virtual bool contiguous_offsets() const noexcept { return true; }
    // The partition a stream's records go to.
    virtual partition_id partition_of(const stream_id& key) const noexcept = 0;

    // Whether stage() may run while the previous batch's commit() runs.
    virtual bool overlaps_commits() const noexcept { return false; }
    // REQUIRES: nothing is staged (the previous stage was committed or
    // aborted), or overlaps_commits() and one batch is staged.
    [[nodiscard]] virtual result<std::vector<log_position>> stage(std::span<const log_record> records) = 0;
    // Commits the oldest batch staged. REQUIRES: a stage() succeeded since
    // the last commit/abort. On failure the batch stays staged for abort().
    [[nodiscard]] virtual result<void> commit(rocksdb::WriteBatch& local) = 0;
    virtual void abort() noexcept = 0;
    // Resolves whatever an earlier failure left open (a commit whose outcome
    // is unknown, a transaction to abort, a client to re-create), so that
    // read() then shows every record that will ever be committed before the
    // next stage(). The writer calls it before it relearns the log's state.
    [[nodiscard]] virtual result<void> settle() noexcept { return success(); }

    // Up to `max_records` committed records of `from.partition`, starting at
    // `from.offset`, in log order.
    [[nodiscard]] virtual result<std::vector<stored_record>> read(log_position from, std::size_t max_records) const = 0;
    // The offset the next record of `partition` will get.
    [[nodiscard]] virtual result<log_offset> end(partition_id partition) const = 0;
    // Waits until read() shows every committed record of `partition` below
    // `end` (an offset end() returned). Kafka answers a commit before it has
    // written the markers that make the transaction's records readable, so
    // a reader that must see all of them (the writer relearning the log)
    // waits here first; the embedded log shows a record once it is written.
    [[nodiscard]] virtual result<void> await_stable(partition_id, log_offset) const { return success(); }
};

}  // namespace regledger::events
