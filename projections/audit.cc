#include "projections/audit.h"

#include <memory>

#include <rocksdb/db.h>

#include "events/codec.h"
#include "projections/keys.h"

namespace regledger::projections {
namespace {

enum class audit_errc : int { damaged = 1 };

class audit_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "regledger.audit"; }
    std::string message(int code) const override {
        switch (static_cast<audit_errc>(code)) {
            case audit_errc::damaged: return "the Merkle rows of the read models are damaged";
        }
        return "unknown audit error";
    }
};

std::error_code damaged() {
    static const audit_category_impl category;
    return {static_cast<int>(audit_errc::damaged), category};
}

std::optional<std::string> get(events::rocks_store& store, std::string_view key) {
    std::string value;
    if (!store.db().Get(rocksdb::ReadOptions(), store.cf(cf::merkle), key, &value).ok()) return std::nullopt;
    return value;
}

std::string_view view(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

}  // namespace

result<merkle::frontier*> audit_tree::load(partition_id partition) {
    if (auto it = trees_.find(partition.value()); it != trees_.end()) return &it->second;
    merkle::frontier tree;
    if (auto stored = get(*store_, merkle_frontier_key(partition))) {
        auto parsed = merkle::frontier::parse(*stored);
        if (!parsed) return damaged();
        tree = std::move(*parsed);
    }
    return &trees_.emplace(partition.value(), std::move(tree)).first->second;
}

result<merkle::frontier> audit_tree::tree(partition_id partition) {
    BOOST_OUTCOME_TRY(merkle::frontier * tree, load(partition));
    return *tree;
}

result<void> audit_tree::append(rocksdb::WriteBatch& batch, log_position position, const event_record& record,
                                std::span<const std::uint8_t> encoded) {
    return append(batch, position, record, merkle::leaf_hash(encoded));
}

result<void> audit_tree::append(rocksdb::WriteBatch& batch, log_position position, const event_record& record,
                                const merkle::hash& leaf_hash) {
    BOOST_OUTCOME_TRY(merkle::frontier * tree, load(position.partition));
    const std::uint64_t leaf = tree->size();
    std::string row;
    put_i64(row, position.offset.value());
    tree->append(leaf_hash, [&](unsigned, std::uint64_t, const merkle::hash& h) {
        row.append(reinterpret_cast<const char*>(h.data()), h.size());
    });
    rocksdb::ColumnFamilyHandle* family = store_->cf(cf::merkle);
    batch.Put(family, merkle_leaf_key(position.partition, leaf), row);
    std::string where;
    put_u32(where, static_cast<std::uint32_t>(position.partition.value()));
    put_u64(where, leaf);
    batch.Put(family, merkle_event_key(record.envelope.stream_id, record.envelope.version), where);
    if (const auto* c = std::get_if<ledger_checkpointed>(&record.event)) {
        std::string value;
        put_u64(value, record.envelope.version.value());
        put_u64(value, leaf);
        batch.Put(family, merkle_checkpoint_key(position.partition, c->tree_size), value);
    }
    changed_[position.partition.value()] = true;
    return success();
}

void audit_tree::finish(rocksdb::WriteBatch& batch) {
    for (const auto& [p, changed] : changed_) {
        if (changed) batch.Put(store_->cf(cf::merkle), merkle_frontier_key(partition_id(p)), trees_.at(p).serialize());
    }
    changed_.clear();
}

result<merkle::frontier> audit_reads::tree(partition_id partition) const {
    auto stored = get(store_, merkle_frontier_key(partition));
    if (!stored) return merkle::frontier();
    auto parsed = merkle::frontier::parse(*stored);
    if (!parsed) return damaged();
    return std::move(*parsed);
}

std::optional<checkpoint_entry> audit_reads::entry(std::string_view key, std::string_view value) const {
    if (value.size() != 16 || key.size() != 13) return std::nullopt;
    const partition_id partition(static_cast<std::int32_t>(get_u32(key, 1)));
    checkpoint_entry e;
    e.version = stream_version(get_u64(value, 0));
    e.leaf = get_u64(value, 8);
    std::string history_row;
    if (!store_.db()
             .Get(rocksdb::ReadOptions(), store_.cf(cf::history), history_key(ledger_stream(partition.value()), e.version),
                  &history_row)
             .ok()) {
        return std::nullopt;
    }
    const auto bytes = history_record(store_, std::move(history_row), rocksdb::ReadOptions());
    if (!bytes) return std::nullopt;
    auto rec = events::decode(
        std::span(reinterpret_cast<const std::uint8_t*>(bytes.value().data()), bytes.value().size()));
    if (!rec) return std::nullopt;
    const auto* c = std::get_if<ledger_checkpointed>(&rec.value().event);
    if (c == nullptr) return std::nullopt;
    e.checkpoint = *c;
    e.hash = rec.value().envelope.hash;
    auto row = get(store_, merkle_leaf_key(partition, e.leaf));
    if (!row || row->size() < 8) return std::nullopt;
    e.position = {partition, log_offset(get_i64(*row, 0))};
    return e;
}

std::optional<checkpoint_entry> audit_reads::latest_checkpoint(partition_id partition) const {
    const std::string prefix = merkle_checkpoint_prefix(partition);
    std::unique_ptr<rocksdb::Iterator> it(store_.db().NewIterator(rocksdb::ReadOptions(), store_.cf(cf::merkle)));
    std::string past = prefix;
    past.append(8, '\xff');
    it->SeekForPrev(past);
    if (!it->Valid() || !it->key().starts_with(prefix)) return std::nullopt;
    return entry(view(it->key()), view(it->value()));
}

std::optional<checkpoint_entry> audit_reads::checkpoint(partition_id partition, std::uint64_t tree_size) const {
    const std::string key = merkle_checkpoint_key(partition, tree_size);
    auto value = get(store_, key);
    if (!value) return std::nullopt;
    return entry(key, *value);
}

std::vector<checkpoint_entry> audit_reads::checkpoints(partition_id partition, std::uint64_t after,
                                                       std::size_t limit) const {
    std::vector<checkpoint_entry> out;
    const std::string prefix = merkle_checkpoint_prefix(partition);
    std::unique_ptr<rocksdb::Iterator> it(store_.db().NewIterator(rocksdb::ReadOptions(), store_.cf(cf::merkle)));
    for (it->Seek(merkle_checkpoint_key(partition, after + 1)); it->Valid() && it->key().starts_with(prefix) &&
                                                                 out.size() < limit;
         it->Next()) {
        if (auto e = entry(view(it->key()), view(it->value()))) out.push_back(std::move(*e));
    }
    return out;
}

std::optional<event_leaf> audit_reads::leaf_of(const stream_id& stream, stream_version version) const {
    auto where = get(store_, merkle_event_key(stream, version));
    if (!where || where->size() != 12) return std::nullopt;
    event_leaf out;
    out.partition = partition_id(static_cast<std::int32_t>(get_u32(*where, 0)));
    out.leaf = get_u64(*where, 4);
    auto row = get(store_, merkle_leaf_key(out.partition, out.leaf));
    if (!row || row->size() < 8 + 32) return std::nullopt;
    out.offset = log_offset(get_i64(*row, 0));
    std::copy(row->begin() + 8, row->begin() + 40, out.leaf_hash.begin());
    return out;
}

merkle::node_source audit_reads::nodes(partition_id partition) const {
    return [this, partition](unsigned level, std::uint64_t index) -> std::optional<merkle::hash> {
        // The node (level, index) is completed by its last leaf, whose row
        // lists the nodes it completed from level 0 up.
        if (level >= 64) return std::nullopt;
        const std::uint64_t last = ((index + 1) << level) - 1;
        auto row = get(store_, merkle_leaf_key(partition, last));
        const std::size_t at = 8 + 32 * static_cast<std::size_t>(level);
        if (!row || row->size() < at + 32) return std::nullopt;
        merkle::hash h;
        std::copy(row->begin() + static_cast<std::ptrdiff_t>(at), row->begin() + static_cast<std::ptrdiff_t>(at + 32),
                  h.begin());
        return h;
    };
}

}  // namespace regledger::projections
