// replay: applies committed log records to the read models without deciding
// anything — the events are facts. Used on start, to apply what the log has
// beyond the checkpoint (after a crash between a Kafka commit and the local
// write), and by rebuild, which replays the whole log into a fresh store.
//
// Each call to apply() writes one WriteBatch: the records' rows, the outcome
// of every command they belong to (derived from the envelopes: a command id
// and its versions), and the checkpoint after the last record.
//
// Into a fresh store (rebuild, verify) the replayer works in bulk: every
// state it has seen stays in memory anyway, so the rows derived from a
// stream's state (its document, indexes, timers, status count, head) are
// written once per stream, by finish(), from the final state, instead of once
// per apply() that touched it; apply() writes the per-event rows alone. The
// store holds the same rows either way once finish() has returned.
//
// Thread-safety: one thread calls it (finish() uses a second one of its own).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <span>
#include <unordered_map>
#include <variant>
#include <vector>

#include "engine/state.h"
#include "events/event_log.h"
#include "events/rocks_store.h"
#include "projections/audit.h"
#include "projections/projector.h"
#include "projections/read_model.h"

namespace regledger::projections {

class replayer {
public:
    // `target` receives the rows; `reads` loads the states of streams this
    // replayer has not seen yet (pass a read model over `target` itself; a
    // fresh store simply has none).
    replayer(events::rocks_store& target, const read_model& reads);
    // `target` is empty (but for an embedded log's records, imported
    // beforehand) and nothing reads it before finish(); its writes go on a
    // thread of their own (events::write_behind).
    struct fresh_store {};
    replayer(events::rocks_store& target, const read_model& reads, fresh_store);

    // Records decoded and with their Merkle leaf hashes, ready to apply.
    // prepare() depends on nothing else, so another thread can prepare the
    // next batch while this one is applied.
    struct prepared_record {
        const events::stored_record* stored = nullptr;
        event_record record;
        events::merkle::hash leaf_hash{};
    };
    [[nodiscard]] static result<std::vector<prepared_record>> prepare(std::span<const events::stored_record> records);

    // REQUIRES: records in log order, all of one partition, none already
    // applied to `target`.
    [[nodiscard]] result<void> apply(std::span<const events::stored_record> records);
    // The same, prepared; the stored records outlive the call.
    [[nodiscard]] result<void> apply(std::span<const prepared_record> records);

    // Fresh store: writes every stream's state rows, `streams_per_batch` to a
    // WriteBatch, built on two threads, and the counters, then waits for
    // every write to end. Otherwise nothing to do.
    [[nodiscard]] result<void> finish(std::size_t streams_per_batch = 4096);
    std::uint64_t applied() const noexcept { return applied_; }
    std::uint64_t streams() const noexcept { return states_.size(); }

private:
    struct stream_state {
        std::variant<registration_state, account_state> state;
        digest head;
        // Fresh store: touched since finish() last wrote its rows.
        bool unsettled = false;
    };
    result<stream_state*> load(const stream_id& id);
    result<void> write(rocksdb::WriteBatch& batch);

    events::rocks_store& target_;
    const read_model& reads_;
    std::unordered_map<stream_id, stream_state> states_;
    audit_tree tree_;
    bool fresh_ = false;
    std::unique_ptr<events::write_behind> behind_;
    // Fresh store: the counters of every batch so far (written by finish()),
    // and the outcome of the last command applied, which the next batch may
    // continue.
    counter_values counters_;
    std::optional<std::pair<command_id, stored_outcome>> last_outcome_;
    std::uint64_t applied_ = 0;
};

// Applies every committed record of the owned partitions beyond the read
// models' checkpoint; returns how many.
[[nodiscard]] result<std::uint64_t> catch_up(events::rocks_store& store, const events::event_log& log,
                                             const read_model& reads);

}  // namespace regledger::projections
