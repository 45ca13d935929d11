#include "events/log_verify.h"

#include <future>
#include <optional>
#include <span>

#include <fmt/format.h>

#include "engine/sha256.h"
#include "events/canonical.h"
#include "events/checkpoint.h"
#include "events/codec.h"
#include "events/merkle.h"

namespace regledger::events {

namespace {

// A record decoded and hashed, ahead of the checks that need log order.
struct prepared {
    std::optional<event_record> record;
    std::error_code error;  // when it does not decode
    bool hash_ok = false;
    merkle::hash leaf{};
};

void prepare(std::span<const stored_record> in, std::span<prepared> out) {
    for (std::size_t i = 0; i < in.size(); ++i) {
        out[i].leaf = merkle::leaf_hash(in[i].value);
        auto rec = decode(in[i].value);
        if (!rec) {
            out[i].error = rec.error();
            continue;
        }
        out[i].hash_ok = hash_matches(rec.value());
        out[i].record = std::move(rec).value();
    }
}

// What is wrong with checkpoint `c`, found after the records `tree` holds.
std::optional<std::string> check_checkpoint(const ledger_checkpointed& c, partition_id partition,
                                            const merkle::frontier& tree, const verify_options& options) {
    if (c.partition != partition.value()) {
        return fmt::format("a checkpoint of partition {} stands in partition {}", c.partition, partition.value());
    }
    if (c.tree_size != tree.size()) {
        return fmt::format("the checkpoint states tree size {}, but {} records precede it (records dropped, added "
                           "or moved, or the checkpoint itself)",
                           c.tree_size, tree.size());
    }
    if (c.root_hash.value() != tree.root()) {
        return fmt::format("the checkpoint of tree size {} states root {}, but the records before it hash to {} "
                           "(a record before it was changed, or two were swapped)",
                           c.tree_size, to_hex(c.root_hash.value()), to_hex(tree.root()));
    }
    if (options.public_key != nullptr) {
        if (c.key_id != options.public_key->id()) {
            return fmt::format("the checkpoint of tree size {} is signed by key {}, not by the ledger's key {}",
                               c.tree_size, c.key_id, options.public_key->id());
        }
        if (!checkpoint_signed_by(c, *options.public_key)) {
            return fmt::format("the signature of the checkpoint of tree size {} does not verify with key {}",
                               c.tree_size, c.key_id);
        }
    }
    return std::nullopt;
}

}  // namespace

result<log_summary, log_problem> verify_log(const event_log& log, const verify_options& options) {
    log_summary summary;
    const bool contiguous = options.contiguous_offsets && log.contiguous_offsets();
    std::uint64_t total = 0;
    for (std::int32_t p = 0; p < log.partition_count(); ++p) {
        auto end = log.end(partition_id(p));
        if (!end) return log_problem{{partition_id(p), log_offset(0)}, "the log cannot be read: " + end.error().message()};
        total += static_cast<std::uint64_t>(end.value().value());
    }
    for (std::int32_t p = 0; p < log.partition_count(); ++p) {
        const partition_id partition(p);
        auto end = log.end(partition);
        if (!end) return log_problem{{partition, log_offset(0)}, "the log cannot be read: " + end.error().message()};
        std::int64_t next = 0;
        merkle::frontier tree;
        // The next batch is read while this one is checked.
        std::future<result<std::vector<stored_record>>> ahead;
        while (next < end.value().value()) {
            auto records = ahead.valid() ? ahead.get() : log.read({partition, log_offset(next)}, options.read_batch_records);
            if (records && !records.value().empty()) {
                const std::int64_t after = records.value().back().position.offset.value() + 1;
                if (after < end.value().value()) {
                    ahead = std::async(std::launch::async, [&log, partition, after, n = options.read_batch_records] {
                        return log.read({partition, log_offset(after)}, n);
                    });
                }
            }
            if (!records) {
                return log_problem{{partition, log_offset(next)}, "the log cannot be read: " + records.error().message()};
            }
            if (records.value().empty()) {
                // A transactional topic ends with commit markers, which are
                // offsets without records.
                if (!contiguous) break;
                return log_problem{{partition, log_offset(next)},
                                   fmt::format("records {} to {} are missing", next, end.value().value() - 1)};
            }
            // Decoding and hashing, the bulk of the work, run on two threads;
            // what depends on order (gaps, chains, the tree) follows in order.
            const auto& batch = records.value();
            std::vector<prepared> ready(batch.size());
            const std::size_t half = batch.size() / 2;
            auto second_half = std::async(std::launch::async, [&] {
                prepare(std::span(batch).subspan(half), std::span(ready).subspan(half));
            });
            prepare(std::span(batch).first(half), std::span(ready).first(half));
            second_half.get();
            for (std::size_t i = 0; i < batch.size(); ++i) {
                const stored_record& r = batch[i];
                const log_position at = r.position;
                if (contiguous && at.offset.value() != next) {
                    return log_problem{{partition, log_offset(next)},
                                       at.offset.value() == next + 1
                                           ? fmt::format("record {} is missing", next)
                                           : fmt::format("records {} to {} are missing", next, at.offset.value() - 1)};
                }
                if (!ready[i].record) {
                    return log_problem{at, fmt::format("the record does not decode: {}", ready[i].error.message())};
                }
                const event_record& rec = *ready[i].record;
                const envelope& env = rec.envelope;
                if (!ready[i].hash_ok) {
                    return log_problem{at, fmt::format("the hash of {} does not match its contents (tampered?)",
                                                       env.event_id.value())};
                }
                auto [it, first] = summary.heads.try_emplace(env.stream_id, stream_version(0), digest{});
                auto& [version, head] = it->second;
                if (env.version.value() != version.value() + 1) {
                    return log_problem{at, fmt::format("{} has version {} where {} was expected (missing, repeated "
                                                       "or reordered events)",
                                                       env.stream_id.value(), env.version.value(), version.value() + 1)};
                }
                if (env.prev_hash != head) {
                    return log_problem{at, fmt::format("the chain of {} is broken at version {}: prev_hash {} is not "
                                                       "the previous event's hash {}",
                                                       env.stream_id.value(), env.version.value(),
                                                       to_hex(env.prev_hash.value()), to_hex(head.value()))};
                }
                if (const auto* c = std::get_if<ledger_checkpointed>(&rec.event)) {
                    if (auto bad = check_checkpoint(*c, partition, tree, options)) return log_problem{at, *bad};
                    ++summary.checkpoints;
                    if (options.public_key != nullptr) ++summary.signatures_checked;
                }
                tree.append(ready[i].leaf);
                version = env.version;
                head = env.hash;
                ++summary.records;
                summary.bytes += r.value.size();
                next = at.offset.value() + 1;
            }
            if (options.progress) options.progress(summary.records, total);
        }
        if (tree.size() > 0) summary.trees[p] = {tree.size(), digest(tree.root())};
    }
    summary.streams = summary.heads.size();
    return summary;
}

}  // namespace regledger::events
