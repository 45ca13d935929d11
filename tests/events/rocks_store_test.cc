// events::rocks_store: a clean close leaves nothing for the next open to
// replay; table files synced as they grow; events::write_behind: batches written on a thread of their own, in
// order, a failed write reported and everything after it dropped.

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "events/rocks_store.h"
#include "tests/temp_dir.h"

namespace regledger {
namespace {

constexpr std::array<std::string_view, 1> families{"rows"};

std::string get(events::rocks_store& store, const std::string& key) {
    std::string value;
    const auto status = store.db().Get(rocksdb::ReadOptions(), store.cf("rows"), key, &value);
    return status.ok() ? value : "<" + status.ToString() + ">";
}

// The bytes of the store's write-ahead log files.
std::uintmax_t wal_bytes(const std::filesystem::path& dir) {
    std::uintmax_t bytes = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() == ".log") bytes += entry.file_size();
    }
    return bytes;
}

// An unsynced store of the one family in `dir`.
std::unique_ptr<events::rocks_store> open_store(const std::filesystem::path& dir) {
    events::store_options o;
    o.dir = dir;
    o.sync_writes = false;
    auto store = events::rocks_store::open(o, families);
    REQUIRE(store.has_value());
    return std::move(store).value();
}

}  // namespace

TEST_CASE("rocks_store: a clean close flushes, so the next open has no write-ahead log to replay") {
    testing::temp_dir dir("rocks-store");
    {
        auto store = open_store(dir.path());
        for (int i = 0; i < 100; ++i) {
            rocksdb::WriteBatch batch;
            batch.Put(store->cf("rows"), fmt::format("k{:03}", i), std::string(1000, 'x'));
            REQUIRE(store->write(batch).has_value());
        }
        // Written, and so far only in the log.
        CHECK(wal_bytes(dir.path()) > 100 * 1000);
    }
    CHECK(wal_bytes(dir.path()) == 0);
    CHECK(get(*open_store(dir.path()), "k099") == std::string(1000, 'x'));
}

TEST_CASE("rocks_store: table files are synced a megabyte at a time as they are written, not in one burst") {
    // A flush's whole file reaching the disk at its end would hold up the
    // synced log writes that acknowledge commands.
    testing::temp_dir dir("rocks-store");
    auto store = open_store(dir.path());
    CHECK(store->db().GetDBOptions().bytes_per_sync == 1u << 20);
}

TEST_CASE("write_behind: every batch is written, in the order given, once drain() returns") {
    testing::temp_dir dir("write-behind");
    const auto store = open_store(dir.path());
    {
        events::write_behind behind(*store, 2);
        for (int i = 0; i < 300; ++i) {
            rocksdb::WriteBatch batch;
            // One key every batch rewrites (the last write wins: order), and
            // one key of its own (none is lost).
            batch.Put(store->cf("rows"), "last", std::to_string(i));
            batch.Put(store->cf("rows"), fmt::format("k{:03}", i), std::to_string(i));
            REQUIRE(behind.write(std::move(batch)).has_value());
        }
        REQUIRE(behind.drain().has_value());
        CHECK(get(*store, "last") == "299");
        for (int i = 0; i < 300; ++i) CHECK(get(*store, fmt::format("k{:03}", i)) == std::to_string(i));
        // It goes on after a drain.
        rocksdb::WriteBatch batch;
        batch.Put(store->cf("rows"), "last", "after");
        REQUIRE(behind.write(std::move(batch)).has_value());
    }
    // The destructor drains.
    CHECK(get(*store, "last") == "after");
}

TEST_CASE("write_behind: a failed write is returned, and nothing after it is written") {
    testing::temp_dir dir("write-behind");
    events::store_options o;
    o.dir = dir.path();
    REQUIRE(events::rocks_store::open(o, families).has_value());
    o.read_only = true;
    auto store = events::rocks_store::open(o, families);
    REQUIRE(store.has_value());
    events::write_behind behind(*store.value());
    rocksdb::WriteBatch refused;
    refused.Put(store.value()->cf("rows"), "a", "1");
    // Queued: the write itself fails on the other thread.
    REQUIRE(behind.write(std::move(refused)).has_value());
    const auto drained = behind.drain();
    REQUIRE_FALSE(drained.has_value());
    CHECK(drained.error().category() == events::store_category());
    rocksdb::WriteBatch next;
    next.Put(store.value()->cf("rows"), "b", "2");
    const auto later = behind.write(std::move(next));
    REQUIRE_FALSE(later.has_value());
    CHECK(later.error() == drained.error());
}

}  // namespace regledger
