// rocks_store: the one RocksDB database of a data directory, with its column
// families. The embedded log keeps its records in the `log` column family and
// the projections keep theirs beside it, so one WriteBatch can hold both.
//
// Column families are named by their users when the store is opened; every
// name the directory already has must be among them (a directory written by
// a later version with more families is refused rather than half-read).
//
// Thread-safety: RocksDB's: reads and writes from any thread; open/close from
// one thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "engine/result.h"

namespace regledger::events {

// RocksDB failures as std::error_code, category "regledger.store".
enum class store_errc : int {
    io_error = 1,
    corruption = 2,
    not_found = 3,
    invalid_argument = 4,
    busy = 5,
    other = 6,
};
const std::error_category& store_category() noexcept;
inline std::error_code make_error_code(store_errc e) noexcept { return {static_cast<int>(e), store_category()}; }
std::error_code to_error_code(const rocksdb::Status& status) noexcept;

struct store_options {
    std::filesystem::path dir;
    bool create_if_missing = true;
    // fsync every write (the default: an acknowledged command is durable).
    bool sync_writes = true;
    // Write without the write-ahead log, for a store that is filled, flushed
    // and only then used (rebuild's fresh store): whatever was not flushed is
    // lost in a crash.
    bool disable_wal = false;
    // For a store filled in bulk before anything reads it (rebuild's fresh
    // store): memtables are plain vectors, sorted when they are flushed, so an
    // insert is an append instead of a skip-list search. A read before the
    // flush sorts a copy of the memtable: correct, but slow. No compactions
    // while it is open.
    bool bulk_load = false;
    // Compact table files in the background. A store read once and then
    // removed (a rebuild's source, swapped out and deleted) is spared it.
    bool compact = true;
    // Compress table files (Snappy). A scratch store removed after one read
    // (verify's) is faster without.
    bool compress = true;
    // Open without taking the directory's lock and refuse every write (for
    // verification beside a running server).
    bool read_only = false;
    // RocksDB block cache for the read models.
    std::size_t block_cache_bytes = 256u << 20;
};

class rocks_store {
public:
    // Opens (or creates) the database in options.dir with exactly these
    // column families plus "default".
    [[nodiscard]] static result<std::unique_ptr<rocks_store>> open(const store_options& options,
                                                                  std::span<const std::string_view> column_families);
    ~rocks_store();
    rocks_store(const rocks_store&) = delete;
    rocks_store& operator=(const rocks_store&) = delete;

    rocksdb::DB& db() noexcept { return *db_; }
    // REQUIRES: `name` was given to open().
    rocksdb::ColumnFamilyHandle* cf(std::string_view name) const;
    bool has(std::string_view family) const noexcept { return families_.contains(family); }
    // Adds column family `family` (not open yet) holding exactly what
    // `source`'s family of that name holds: its table files are flushed,
    // hard-linked under `staging` (a path that must not exist, on the same
    // file system) and moved in, without reading a record.
    [[nodiscard]] result<void> import_family(rocks_store& source, std::string_view family,
                                             const std::filesystem::path& staging);

    // Writes `batch` atomically; synced when options.sync_writes. Unless
    // bulk_load, a batch of Puts and Deletes goes to RocksDB sorted by family
    // and key (operations on one key in their order): the same result, with
    // the memtables' inserts following each other.
    [[nodiscard]] result<void> write(rocksdb::WriteBatch& batch);
    const store_options& options() const noexcept { return options_; }

private:
    rocks_store() = default;
    void add_family(std::string_view name, rocksdb::ColumnFamilyHandle* handle);
    store_options options_;
    // The options every family was opened with.
    rocksdb::ColumnFamilyOptions family_options_;
    std::unique_ptr<rocksdb::DB> db_;
    std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>> families_;
    // The same handles by RocksDB's id (nullptr where none).
    std::vector<rocksdb::ColumnFamilyHandle*> families_by_id_;
};

// Writes WriteBatches into a store on a thread of its own, in the order they
// are given, so that the thread filling the next batch does not wait for the
// last one's memtable inserts (rebuild's bulk load, on the second core). At
// most `depth` batches wait; write() blocks beyond that.
//
// A failed write is returned by the next write() or by drain(), and every
// batch after it is dropped. The destructor drains, dropping the result.
//
// Thread-safety: write() from any thread (batches from two threads are
// written in the order their write() calls took them); drain() once no
// write() is running.
class write_behind {
public:
    explicit write_behind(rocks_store& store, std::size_t depth = 2);
    ~write_behind();
    write_behind(const write_behind&) = delete;
    write_behind& operator=(const write_behind&) = delete;

    [[nodiscard]] result<void> write(rocksdb::WriteBatch&& batch);
    // Returns once every batch given so far is written (or dropped).
    [[nodiscard]] result<void> drain();

private:
    void run();

    rocks_store& store_;
    const std::size_t depth_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<rocksdb::WriteBatch> queue_;
    bool writing_ = false;
    bool stopping_ = false;
    std::error_code failed_;
    std::thread thread_;
};

}  // namespace regledger::events

template <>
struct std::is_error_code_enum<regledger::events::store_errc> : std::true_type {};
