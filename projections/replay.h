// replay: applies committed log records to the read models without deciding
// anything — the events are facts. Used on start, to apply what the log has
// beyond the checkpoint (after a crash between a Kafka commit and the local
// write), and by rebuild, which replays the whole log into a fresh store.
//
// Each call to apply() writes one WriteBatch: the records' rows, the outcome
// of every command they belong to (derived from the envelopes: a command id
// and its versions), and the checkpoint after the last record.
//
// Thread-safety: one thread.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <variant>

#include "engine/state.h"
#include "events/event_log.h"
#include "events/rocks_store.h"
#include "projections/audit.h"
#include "projections/read_model.h"

namespace regledger::projections {

class replayer {
public:
    // `target` receives the rows; `reads` loads the states of streams this
    // replayer has not seen yet (pass a read model over `target` itself; a
    // fresh store simply has none).
    replayer(events::rocks_store& target, const read_model& reads);

    // REQUIRES: records in log order, all of one partition, none already
    // applied to `target`.
    [[nodiscard]] result<void> apply(std::span<const events::stored_record> records);

    std::uint64_t applied() const noexcept { return applied_; }

private:
    struct stream_state {
        std::variant<registration_state, account_state> state;
        digest head;
    };
    result<stream_state*> load(const stream_id& id);

    events::rocks_store& target_;
    const read_model& reads_;
    std::unordered_map<stream_id, stream_state> states_;
    audit_tree tree_;
    std::uint64_t applied_ = 0;
};

// Applies every committed record of the owned partitions beyond the read
// models' checkpoint; returns how many.
[[nodiscard]] result<std::uint64_t> catch_up(events::rocks_store& store, const events::event_log& log,
                                             const read_model& reads);

}  // namespace regledger::projections
