// The projector: turns events and the states they produce into read-model
// rows (projections/keys.h), collected in one RocksDB WriteBatch.
//
// Two kinds of rows:
//   - per event: the stream's history, the service-report figures (第21条),
//     the code-sequence counters;
//   - per stream, once a batch is done with it: the documents, the indexes,
//     the publicity list, the timers, the status counts and the stream head.
//     They are derived from the state before the batch and after it, so a
//     stream touched by many events in one batch is written once, and a
//     rebuild (which starts from nothing) writes each stream exactly once.
// Counters are read-modify-write; a projection_batch keeps the values it has
// read or changed, so several changes in one batch add up.
//
// Thread-safety: a projection_batch belongs to one thread (the writer's, or
// rebuild's).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rocksdb/write_batch.h>

#include "engine/envelope.h"
#include "engine/state.h"
#include "events/rocks_store.h"
#include "projections/keys.h"

namespace regledger::projections {

// How a command ended, as the `commands` family keeps it: the first outcome
// of a command id, returned again for every repetition (API.md).
struct stored_outcome {
    bool ok = false;
    // ok: the stream and the versions the command appended (from > to when it
    // appended nothing: a no-op timeout, a repeated objection).
    stream_id stream;
    std::uint64_t from_version = 0;
    std::uint64_t to_version = 0;
    std::vector<log_position> positions;
    // !ok: the rejection.
    rejection error;

    friend bool operator==(const stored_outcome&, const stored_outcome&) = default;
};
std::string encode_outcome(const stored_outcome& outcome);
std::optional<stored_outcome> decode_outcome(std::string_view value);
// Whether an encoded outcome is one the log does not imply: a rejection, or
// a command that appended nothing. A rebuild keeps these from the old store.
bool outcome_outside_log(std::string_view value);

// Counters as a projection_batch reads and changes them: (family, key) ->
// value, found by views of the two strings (no copies to look one up).
struct counter_order {
    using is_transparent = void;
    using view = std::pair<std::string_view, std::string_view>;
    static view as_view(const std::pair<std::string, std::string>& id) noexcept { return {id.first, id.second}; }
    static view as_view(const view& id) noexcept { return id; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const noexcept {
        return as_view(a) < as_view(b);
    }
};
using counter_values = std::map<std::pair<std::string, std::string>, std::int64_t, counter_order>;

class projection_batch {
public:
    // `store` answers the counter reads; a fresh store (rebuild) has none.
    explicit projection_batch(events::rocks_store& store);
    // Bulk, into a fresh store that nothing else writes: the counters live in
    // `counters` from one batch to the next, a counter not in it is zero, and
    // finish() leaves them out of the batch; write_counters() writes them.
    // `reserve_bytes`: room made in the WriteBatch up front, so that a large
    // batch is not copied each time it outgrows its buffer.
    projection_batch(events::rocks_store& store, counter_values& counters, std::size_t reserve_bytes = 0);
    projection_batch(const projection_batch&) = delete;
    projection_batch& operator=(const projection_batch&) = delete;

    rocksdb::WriteBatch& batch() noexcept { return batch_; }
    // The counters this batch has read or changed, as finish() writes them.
    const counter_values& counters() const noexcept { return *counters_; }
    // The counters of the batch before this one, written but maybe not yet
    // committed: a counter found there is not read from the store. nullptr:
    // none. REQUIRES: `earlier` outlives every counter lookup of this batch.
    void read_through(const counter_values* earlier) noexcept { earlier_ = earlier; }

    // Per event, once the log has given it its position: the stream's
    // history row. A store that holds the embedded log itself keeps the
    // record's offset there (the bytes are in the log family already); a
    // store beside a Kafka log keeps a copy of the bytes.
    void on_recorded(const event_record& record, const std::vector<std::uint8_t>& encoded, log_position position);
    // Per event. `before` is the stream's state before `record`.
    void on_registration_event(const registration_state& before, const event_record& record);
    // A partition's checkpoint (ledger_stream): the stream's head, at once
    // (the stream has no other state).
    void on_ledger_event(const event_record& record);

    // Per stream, after all of the batch's events of that stream.
    void on_registration_settled(const registration_state& before, const registration_state& after,
                                 const digest& head_hash);
    void on_account_settled(const account_state& after, const digest& head_hash);

    void on_command(const command_id& id, const stored_outcome& outcome);
    void on_checkpoint(partition_id partition, log_offset next);

    // The next code sequence number of (institution, year), counting the
    // codes this batch has issued already.
    std::uint32_t next_code_sequence(const institution_id& inst, int year);

    // Writes the counters this batch changed into the WriteBatch. Call once,
    // after everything else.
    void finish();
    // Writes every counter this batch holds into the WriteBatch.
    void write_counters();

private:
    std::int64_t& counter(std::string_view family, const std::string& key);
    void bump_figure(const institution_id& inst, calendar_date day, std::string_view figure);

    events::rocks_store& store_;
    // History rows name offsets of the log in the same store.
    bool history_by_offset_ = false;
    rocksdb::WriteBatch batch_;
    // The counters read or changed in this batch (own_), or in every batch
    // of a bulk replay.
    counter_values own_;
    counter_values* counters_ = &own_;
    bool shared_ = false;
    const counter_values* earlier_ = nullptr;
};

}  // namespace regledger::projections
