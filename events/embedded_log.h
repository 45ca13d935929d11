// embedded_log: the log on one machine, with no broker (the default). One
// partition; records live in the `log` column family of the data directory's
// RocksDB store, keyed by their sequence number (64-bit big-endian, from 0),
// valued with the encoded event record. commit() writes the staged records
// and the caller's projection rows in ONE synced WriteBatch, so the log and
// the read models can never disagree after a crash.
//
// Thread-safety: stage/commit/abort from the writer thread only; read() and
// end() from any thread (end() is the committed end).
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "events/event_log.h"
#include "events/rocks_store.h"

namespace regledger::events {

class embedded_log final : public event_log {
public:
    static constexpr std::string_view column_family = "log";

    // REQUIRES: `store` was opened with `column_family`.
    [[nodiscard]] static result<std::unique_ptr<embedded_log>> open(rocks_store& store);

    std::int32_t partition_count() const noexcept override { return 1; }
    partition_id partition_of(const stream_id&) const noexcept override { return partition_id(0); }

    result<std::vector<log_position>> stage(std::span<const log_record> records) override;
    result<void> commit(rocksdb::WriteBatch& local) override;
    void abort() noexcept override;

    result<std::vector<stored_record>> read(log_position from, std::size_t max_records) const override;
    result<log_offset> end(partition_id partition) const override;

    // The key of sequence number `offset`.
    static std::string key_of(std::int64_t offset);

private:
    explicit embedded_log(rocks_store& store, std::int64_t end);

    rocks_store& store_;
    std::atomic<std::int64_t> end_;
    std::vector<log_record> staged_;
    bool has_staged_ = false;
};

}  // namespace regledger::events
