#include "events/rocks_store.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <optional>
#include <vector>

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>

namespace regledger::events {
namespace {

class store_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "regledger.store"; }
    std::string message(int value) const override {
        switch (static_cast<store_errc>(value)) {
            case store_errc::io_error: return "storage I/O error";
            case store_errc::corruption: return "storage corruption";
            case store_errc::not_found: return "not found in storage";
            case store_errc::invalid_argument: return "invalid storage request";
            case store_errc::busy: return "storage busy";
            case store_errc::other: return "storage error";
        }
        return "storage error";
    }
};

// The Puts and Deletes of a WriteBatch, as views into it. Anything else
// (a range delete, a merge, ...) stops the iteration: such a batch is
// written as it is.
class batch_entries final : public rocksdb::WriteBatch::Handler {
public:
    struct entry {
        std::uint32_t family;
        bool erase;
        rocksdb::Slice key;
        rocksdb::Slice value;
    };
    std::vector<entry> entries;

    rocksdb::Status PutCF(std::uint32_t family, const rocksdb::Slice& key, const rocksdb::Slice& value) override {
        entries.push_back({family, false, key, value});
        return rocksdb::Status::OK();
    }
    rocksdb::Status DeleteCF(std::uint32_t family, const rocksdb::Slice& key) override {
        entries.push_back({family, true, key, {}});
        return rocksdb::Status::OK();
    }
};

// `batch` reordered by column family and key, keeping the order of the
// operations on one key (so the last still wins); nullopt when it holds
// anything but Puts and Deletes. A skip-list memtable inserts a key right
// after the one before it in a few comparisons, where a key anywhere else
// costs a search from the top of the list: a batch's rows are scattered over
// a dozen families and every stream, and sorting them costs far less than
// those searches.
std::optional<rocksdb::WriteBatch> sorted(rocksdb::WriteBatch& batch,
                                          const std::vector<rocksdb::ColumnFamilyHandle*>& by_id) {
    batch_entries entries;
    entries.entries.reserve(batch.Count());
    if (!batch.Iterate(&entries).ok()) return std::nullopt;
    auto& e = entries.entries;
    for (const auto& x : e) {
        if (x.family >= by_id.size() || by_id[x.family] == nullptr) return std::nullopt;
    }
    std::stable_sort(e.begin(), e.end(), [](const batch_entries::entry& a, const batch_entries::entry& b) {
        if (a.family != b.family) return a.family < b.family;
        return a.key.compare(b.key) < 0;
    });
    rocksdb::WriteBatch out(batch.GetDataSize());
    for (const auto& x : e) {
        const auto st = x.erase ? out.Delete(by_id[x.family], x.key) : out.Put(by_id[x.family], x.key, x.value);
        if (!st.ok()) return std::nullopt;
    }
    return out;
}

}  // namespace

const std::error_category& store_category() noexcept {
    static const store_category_impl category;
    return category;
}

std::error_code to_error_code(const rocksdb::Status& status) noexcept {
    if (status.IsIOError()) return store_errc::io_error;
    if (status.IsCorruption()) return store_errc::corruption;
    if (status.IsNotFound()) return store_errc::not_found;
    if (status.IsInvalidArgument()) return store_errc::invalid_argument;
    if (status.IsBusy() || status.IsTryAgain() || status.IsTimedOut()) return store_errc::busy;
    return store_errc::other;
}

result<std::unique_ptr<rocks_store>> rocks_store::open(const store_options& options,
                                                      std::span<const std::string_view> column_families) {
    rocksdb::Options db_options;
    db_options.create_if_missing = options.create_if_missing;
    db_options.create_missing_column_families = true;
    db_options.IncreaseParallelism(2);
    db_options.max_open_files = 512;
    // The log and the read models are written together; one WAL keeps them
    // atomic, and paranoid checks catch damaged files at open.
    db_options.paranoid_checks = true;
    // RocksDB's default lets the write-ahead log grow to four times every
    // family's memtables (gigabytes with this many families): a small,
    // rarely written family (checkpoint, counters) keeps every log file
    // alive, and opening the store replays them all. Past this size RocksDB
    // flushes the families that hold the oldest log file instead.
    db_options.max_total_wal_size = 256u << 20;
    // Table files written by flushes and compactions are synced a megabyte
    // at a time as they grow, not all at their end: a burst of tens of
    // megabytes going to the disk at once holds up the synced log writes
    // that acknowledge commands behind it.
    db_options.bytes_per_sync = 1u << 20;

    rocksdb::ColumnFamilyOptions cf_options;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
    // Most point lookups miss (a new command id, a stream with no head yet,
    // a counter not yet written): whole-key Bloom filters, in the table
    // files and in the memtables, answer those without searching them.
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf_options.memtable_prefix_bloom_size_ratio = 0.02;
    cf_options.memtable_whole_key_filtering = true;
    if (!options.compress) cf_options.compression = rocksdb::kNoCompression;
    if (!options.compact) cf_options.disable_auto_compactions = true;
    if (options.bulk_load) {
        cf_options.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
        cf_options.memtable_prefix_bloom_size_ratio = 0;
        cf_options.memtable_whole_key_filtering = false;
        // A vector memtable takes one writer at a time.
        db_options.allow_concurrent_memtable_write = false;
        // No compaction while the load runs (it took a third of the CPU of
        // a rebuild): the table files stay in level 0, which RocksDB does not
        // hold writes back for with compactions off, and the next open with
        // the usual options compacts them in the background.
        cf_options.disable_auto_compactions = true;
        // Two flushes at once (RocksDB's default here is one): a full
        // memtable is sorted and written while the next fills, and the
        // final flush of every family takes both cores.
        db_options.max_background_flushes = 2;
        db_options.env->SetBackgroundThreads(2, rocksdb::Env::Priority::HIGH);
    }

    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
    for (std::string_view name : column_families) descriptors.emplace_back(std::string(name), cf_options);

    // A directory with families this build does not know was written by
    // another version: refuse it rather than ignore part of it.
    std::vector<std::string> existing;
    if (rocksdb::DB::ListColumnFamilies(db_options, options.dir.string(), &existing).ok()) {
        for (const auto& name : existing) {
            bool known = name == rocksdb::kDefaultColumnFamilyName;
            for (std::string_view wanted : column_families) known = known || wanted == name;
            if (!known) return make_error_code(store_errc::invalid_argument);
        }
    }

    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    const auto status = options.read_only
                            ? rocksdb::DB::OpenForReadOnly(db_options, options.dir.string(), descriptors, &handles, &raw)
                            : rocksdb::DB::Open(db_options, options.dir.string(), descriptors, &handles, &raw);
    if (!status.ok()) return to_error_code(status);
    std::unique_ptr<rocks_store> store(new rocks_store());
    store->options_ = options;
    store->family_options_ = cf_options;
    store->db_.reset(raw);
    for (std::size_t i = 0; i < handles.size(); ++i) store->add_family(descriptors[i].name, handles[i]);
    return store;
}

rocks_store::~rocks_store() {
    if (!db_) return;
    if (!options_.read_only) {
        // Whatever sits in the memtables is safe in the write-ahead log, but
        // the next open (a restart, rebuild, verify, export) would replay it
        // all before answering: flush it now, at a clean close. A failure
        // leaves it to that replay.
        std::vector<rocksdb::ColumnFamilyHandle*> handles;
        for (auto& [name, handle] : families_) handles.push_back(handle);
        rocksdb::FlushOptions flush;
        flush.wait = true;
        (void)db_->Flush(flush, handles);
    }
    for (auto& [name, handle] : families_) db_->DestroyColumnFamilyHandle(handle);
    db_->Close();
}

rocksdb::ColumnFamilyHandle* rocks_store::cf(std::string_view name) const {
    const auto it = families_.find(name);
    assert(it != families_.end() && "a column family the store was not opened with");
    return it->second;
}

result<void> rocks_store::import_family(rocks_store& source, std::string_view family,
                                        const std::filesystem::path& staging) {
    assert(!has(family) && source.has(family));
    rocksdb::FlushOptions flush;
    flush.wait = true;
    if (auto st = source.db().Flush(flush, source.cf(family)); !st.ok()) return to_error_code(st);
    rocksdb::Checkpoint* raw_checkpoint = nullptr;
    if (auto st = rocksdb::Checkpoint::Create(&source.db(), &raw_checkpoint); !st.ok()) return to_error_code(st);
    const std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw_checkpoint);
    rocksdb::ExportImportFilesMetaData* raw_metadata = nullptr;
    if (auto st = checkpoint->ExportColumnFamily(source.cf(family), staging.string(), &raw_metadata); !st.ok()) {
        return to_error_code(st);
    }
    const std::unique_ptr<rocksdb::ExportImportFilesMetaData> metadata(raw_metadata);
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    rocksdb::Status st;
    if (metadata->files.empty()) {
        // Nothing to import (an empty family): RocksDB refuses an empty list.
        st = db_->CreateColumnFamily(family_options_, std::string(family), &handle);
    } else {
        rocksdb::ImportColumnFamilyOptions import;
        import.move_files = true;
        st = db_->CreateColumnFamilyWithImport(family_options_, std::string(family), import, *metadata, &handle);
    }
    std::error_code ignored;
    std::filesystem::remove_all(staging, ignored);
    if (!st.ok()) return to_error_code(st);
    add_family(family, handle);
    return success();
}

void rocks_store::add_family(std::string_view name, rocksdb::ColumnFamilyHandle* handle) {
    families_[std::string(name)] = handle;
    const std::uint32_t id = handle->GetID();
    if (families_by_id_.size() <= id) families_by_id_.resize(id + 1, nullptr);
    families_by_id_[id] = handle;
}

result<void> rocks_store::write(rocksdb::WriteBatch& batch) {
    rocksdb::WriteOptions options;
    options.sync = options_.sync_writes && !options_.disable_wal;
    options.disableWAL = options_.disable_wal;
    std::optional<rocksdb::WriteBatch> in_order;
    if (!options_.bulk_load && batch.Count() > 1) in_order = sorted(batch, families_by_id_);
    const auto status = db_->Write(options, in_order ? &*in_order : &batch);
    if (!status.ok()) return to_error_code(status);
    return success();
}

write_behind::write_behind(rocks_store& store, std::size_t depth)
    : store_(store), depth_(std::max<std::size_t>(depth, 1)), thread_([this] { run(); }) {}

write_behind::~write_behind() {
    {
        std::unique_lock lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
}

result<void> write_behind::write(rocksdb::WriteBatch&& batch) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return queue_.size() < depth_ || failed_; });
    if (failed_) return failed_;
    queue_.push_back(std::move(batch));
    changed_.notify_all();
    return success();
}

result<void> write_behind::drain() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return (queue_.empty() && !writing_) || failed_; });
    if (failed_) return failed_;
    return success();
}

void write_behind::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        changed_.wait(lock, [&] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;
        rocksdb::WriteBatch batch = std::move(queue_.front());
        queue_.pop_front();
        writing_ = true;
        lock.unlock();
        auto written = store_.write(batch);
        lock.lock();
        writing_ = false;
        if (!written && !failed_) failed_ = written.error();
        if (failed_) queue_.clear();
        changed_.notify_all();
    }
}

}  // namespace regledger::events
