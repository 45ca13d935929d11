#include "events/log_verify.h"

#include <fmt/format.h>

#include "engine/sha256.h"
#include "events/canonical.h"
#include "events/codec.h"

namespace regledger::events {

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
        while (next < end.value().value()) {
            auto records = log.read({partition, log_offset(next)}, options.read_batch_records);
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
            for (const stored_record& r : records.value()) {
                const log_position at = r.position;
                if (contiguous && at.offset.value() != next) {
                    return log_problem{{partition, log_offset(next)},
                                       at.offset.value() == next + 1
                                           ? fmt::format("record {} is missing", next)
                                           : fmt::format("records {} to {} are missing", next, at.offset.value() - 1)};
                }
                auto rec = decode(r.value);
                if (!rec) {
                    return log_problem{at, fmt::format("the record does not decode: {}", rec.error().message())};
                }
                const envelope& env = rec.value().envelope;
                if (!hash_matches(rec.value())) {
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
                version = env.version;
                head = env.hash;
                ++summary.records;
                summary.bytes += r.value.size();
                next = at.offset.value() + 1;
            }
            if (options.progress) options.progress(summary.records, total);
        }
    }
    summary.streams = summary.heads.size();
    return summary;
}

}  // namespace regledger::events
