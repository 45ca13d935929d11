#include "events/embedded_log.h"

#include <cassert>
#include <memory>

namespace regledger::events {

std::string embedded_log::key_of(std::int64_t offset) {
    std::string key(8, '\0');
    const auto v = static_cast<std::uint64_t>(offset);
    for (int i = 0; i < 8; ++i) key[static_cast<std::size_t>(i)] = static_cast<char>((v >> (56 - 8 * i)) & 0xff);
    return key;
}

namespace {

std::int64_t offset_of(const rocksdb::Slice& key) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < key.size() && i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(key[i]);
    return static_cast<std::int64_t>(v);
}

}  // namespace

embedded_log::embedded_log(rocks_store& store, std::int64_t end) : store_(store), end_(end), staged_end_(end) {}

result<std::unique_ptr<embedded_log>> embedded_log::open(rocks_store& store) {
    std::unique_ptr<rocksdb::Iterator> it(store.db().NewIterator(rocksdb::ReadOptions(), store.cf(column_family)));
    it->SeekToLast();
    if (!it->status().ok()) return to_error_code(it->status());
    std::int64_t end = 0;
    if (it->Valid()) {
        if (it->key().size() != 8) return make_error_code(store_errc::corruption);
        end = offset_of(it->key()) + 1;
    }
    return std::unique_ptr<embedded_log>(new embedded_log(store, end));
}

result<std::vector<log_position>> embedded_log::stage(std::span<const log_record> records) {
    std::vector<log_position> positions;
    positions.reserve(records.size());
    const std::int64_t first = staged_end_;
    for (std::size_t i = 0; i < records.size(); ++i) {
        positions.push_back({partition_id(0), log_offset(first + static_cast<std::int64_t>(i))});
    }
    std::lock_guard lock(staged_mutex_);
    assert(staged_.size() < 2 && "stage() a third batch before the first was committed");
    staged_.emplace_back(records.begin(), records.end());
    staged_end_ = first + static_cast<std::int64_t>(records.size());
    return positions;
}

result<void> embedded_log::commit(rocksdb::WriteBatch& local) {
    const std::vector<log_record>* records = nullptr;
    {
        // stage() only appends, which leaves the front element in place.
        std::lock_guard lock(staged_mutex_);
        assert(!staged_.empty() && "commit() without stage()");
        records = &staged_.front();
    }
    const std::int64_t first = end_.load();
    for (std::size_t i = 0; i < records->size(); ++i) {
        const auto& value = (*records)[i].value;
        local.Put(store_.cf(column_family), key_of(first + static_cast<std::int64_t>(i)),
                  rocksdb::Slice(reinterpret_cast<const char*>(value.data()), value.size()));
    }
    // A failed write leaves the batch staged, for abort() to drop.
    auto written = store_.write(local);
    if (!written) return written;
    const auto committed = static_cast<std::int64_t>(records->size());
    std::lock_guard lock(staged_mutex_);
    staged_.pop_front();
    end_.store(first + committed);
    return success();
}

void embedded_log::abort() noexcept {
    std::lock_guard lock(staged_mutex_);
    staged_.clear();
    staged_end_ = end_.load();
}

namespace {
// Reads of more records than this are scans.
constexpr std::size_t scan_records = 1'000;
}  // namespace

result<std::vector<stored_record>> embedded_log::read(log_position from, std::size_t max_records) const {
    std::vector<stored_record> out;
    if (from.partition.value() != 0) return out;
    const std::int64_t end = end_.load();
    rocksdb::ReadOptions options;
    // A read of many records is a scan (catch-up, rebuild, verify, export):
    // keep it out of the block cache the point lookups live in, and read
    // ahead. A page of the API's events (at most 1,000) reads what it needs.
    if (max_records > scan_records) {
        options.fill_cache = false;
        options.readahead_size = 2u << 20;
    }
    const std::string upper = key_of(end);
    rocksdb::Slice upper_bound(upper);
    options.iterate_upper_bound = &upper_bound;
    std::unique_ptr<rocksdb::Iterator> it(store_.db().NewIterator(options, store_.cf(column_family)));
    for (it->Seek(key_of(std::max<std::int64_t>(from.offset.value(), 0))); it->Valid() && out.size() < max_records;
         it->Next()) {
        if (it->key().size() != 8) return make_error_code(store_errc::corruption);
        const auto v = it->value();
        out.push_back({{partition_id(0), log_offset(offset_of(it->key()))},
                       std::vector<std::uint8_t>(v.data(), v.data() + v.size())});
    }
    if (!it->status().ok()) return to_error_code(it->status());
    return out;
}

result<log_offset> embedded_log::end(partition_id partition) const {
    if (partition.value() != 0) return log_offset(0);
    return log_offset(end_.load());
}

}  // namespace regledger::events
