// read_model: the query API over the read models (projections/keys.h), and
// the state loads the writer and as-of queries use.
//
// Every answer carries the log position it reflects (the checkpoint of the
// stream's partition), so a client can read its own write. Answers are the
// full documents; cutting them to what a role may see is the API's job.
//
// Thread-safety: const member functions may run on any number of threads,
// concurrently with the writer; each query reads one RocksDB snapshot.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "engine/envelope.h"
#include "engine/state.h"
#include "events/event_log.h"
#include "events/rocks_store.h"
#include "projections/keys.h"
#include "projections/projector.h"

namespace regledger::projections {

struct answer {
    boost::json::object document;
    log_position position;
};

struct list_filter {
    std::optional<registration_status> status;
    std::optional<institution_id> institution;
    // A subject's unified social credit code.
    std::optional<std::string> subject;
    std::optional<std::string> industry;
    std::optional<std::string> region;
    // Valid until a date before this one.
    std::optional<calendar_date> expiring_before;
    std::size_t limit = 50;
    // Opaque, from a previous answer's next_cursor.
    std::optional<std::string> cursor;
};

struct list_limits {
    static constexpr std::size_t limit_max = 500;
    static constexpr std::size_t scanned_max = 100'000;
};

class read_model {
public:
    read_model(events::rocks_store& store, const events::event_log& log);

    // ---- State loads: fold the stream's history ----------------------------
    [[nodiscard]] result<std::vector<event_record>> history(const stream_id& stream) const;
    // One event's record, as the log stores it (the bytes its Merkle leaf
    // hashes); nullopt when the stream has no such version.
    std::optional<std::vector<std::uint8_t>> stored_event(const stream_id& stream, stream_version version) const;
    // Version 0 (no events) when the stream does not exist.
    [[nodiscard]] result<registration_state> load_registration(const registration_id& id) const;
    // The state as it stood at `as_of` (events that occurred after it left out).
    [[nodiscard]] result<registration_state> load_registration_as_of(const registration_id& id, instant as_of) const;
    [[nodiscard]] result<account_state> load_account(const account_id& id) const;

    std::optional<registration_id> registration_of(const application_id& id) const;
    std::optional<stored_outcome> outcome_of(const command_id& id) const;
    std::optional<stream_head> head_of(const stream_id& stream) const;
    // The next offset of `partition` that the read models have not applied.
    log_offset checkpoint(partition_id partition) const;
    std::uint32_t code_sequence_next(const institution_id& inst, int year) const;

    // ---- Queries (API.md) ----------------------------------------------------
    std::optional<answer> registration(const registration_id& id) const;
    [[nodiscard]] result<std::optional<answer>> registration_as_of(const registration_id& id, instant as_of) const;
    std::optional<answer> application(const application_id& id) const;
    std::optional<answer> account(const account_id& id) const;
    // {items: [registration documents], next_cursor}; a bad cursor is a
    // rejection (MALFORMED, field "/cursor").
    [[nodiscard]] result<answer, rejection> list(const list_filter& filter) const;
    // {items: [publicity items]}, oldest application id first.
    answer publicity() const;
    std::optional<answer> by_code(std::string_view code) const;
    // The service report (第21条) of one institution, or of every institution
    // when `inst` is empty, over the days from..to inclusive.
    answer stats(const std::optional<institution_id>& inst, calendar_date from, calendar_date to) const;
    // {events: [{position, ...record}], next: "partition:offset"}.
    [[nodiscard]] result<answer> events_after(log_position from, std::size_t limit) const;

    // Every row of one column family, for comparing a store with a rebuild.
    std::vector<std::pair<std::string, std::string>> dump(std::string_view family) const;
    // Calls `row` with every row of one column family in key order, read as
    // one pass (no block cache, read-ahead); the views last for the call.
    [[nodiscard]] result<void> scan(std::string_view family,
              const std::function<void(std::string_view key, std::string_view value)>& row) const;

    events::rocks_store& store() const noexcept { return store_; }

private:
    // A registration's document from its `directory` row and its
    // applications' rows, read with `options` (one snapshot).
    boost::json::object compose(boost::json::object head, const rocksdb::ReadOptions& options) const;
    // Reads with `options` (a query's snapshot) or with the latest state.
    std::optional<std::string> get(std::string_view family, std::string_view key) const;
    std::optional<std::string> get(std::string_view family, std::string_view key,
                                   const rocksdb::ReadOptions& options) const;
    result<std::vector<event_record>> history(const stream_id& stream, const rocksdb::ReadOptions& options) const;
    log_offset checkpoint(partition_id partition, const rocksdb::ReadOptions& options) const;
    log_position position_of(const stream_id& stream, const rocksdb::ReadOptions& options) const;

    events::rocks_store& store_;
    const events::event_log& log_;
};

}  // namespace regledger::projections
