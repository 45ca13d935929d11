// embedded_log: the log on one machine, with no broker (the default). One
// partition; records live in the `log` column family of the data directory's
// RocksDB store, keyed by their sequence number (64-bit big-endian, from 0),
// valued with the encoded event record. commit() writes the staged records
// and the caller's projection rows in ONE synced WriteBatch, so the log and
// the read models can never disagree after a crash.
//
// Commits overlap (overlaps_commits): the writer may stage the next batch
// while the previous one is being committed on another thread. Staged
// batches are committed in the order they were staged; abort() drops all of
// them.
//
// Thread-safety: stage/abort from the writer thread, commit from the writer
// thread or one committing thread; read() and end() from any thread (end()
// is the committed end).
#pragma once

#include <atomic>
#include <deque>
#include <mutex>
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
    bool overlaps_commits() const noexcept override { return true; }

    result<std::vector<stored_record>> read(log_position from, std::size_t max_records) const override;
    result<log_offset> end(partition_id partition) const override;

    // The key of sequence number `offset`.
    static std::string key_of(std::int64_t offset);

private:
    explicit embedded_log(rocks_store& store, std::int64_t end);

    rocks_store& store_;
    // The committed end, and the end with every staged batch (stage()'s
    // thread only).
    std::atomic<std::int64_t> end_;
    std::int64_t staged_end_;
    // Staged batches, oldest first; commit() takes the front one.
    std::mutex staged_mutex_;
    std::deque<std::vector<log_record>> staged_;
};

}  // namespace regledger::events
