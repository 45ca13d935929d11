#include "projections/rebuild.h"

#include <array>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "events/embedded_log.h"
#include "projections/keys.h"
#include "projections/ledger.h"
#include "projections/read_model.h"
#include "projections/replay.h"
#include "projections/two_threads.h"

namespace regledger::projections {

std::vector<std::string_view> families_for(const rebuild_options& options) {
    return options.kafka ? ledger::kafka_families() : ledger::embedded_families();
}

result<std::unique_ptr<events::event_log>, std::string> open_source_log(events::rocks_store& store,
                                                                      const rebuild_options& options) {
    if (options.kafka) {
        auto k = *options.kafka;
        k.read_only = true;
        auto log = events::kafka_log::open(k);
        if (!log) return fmt::format("cannot read the Kafka log {} at {}: {}", k.topic, k.brokers, log.error().message());
        return std::unique_ptr<events::event_log>(std::move(log).value());
    }
    auto log = events::embedded_log::open(store);
    if (!log) return fmt::format("cannot open the log: {}", log.error().message());
    return std::unique_ptr<events::event_log>(std::move(log).value());
}

result<rebuild_report, std::string> replay_into(const events::event_log& source_log, const read_model& source_reads,
                                                const std::filesystem::path& fresh_dir, const rebuild_options& options) {
    const auto started = std::chrono::steady_clock::now();
    const auto families = families_for(options);
    const bool copy_log = options.copy_log && !options.kafka;
    rebuild_report report;
    events::store_options target_options;
    target_options.dir = fresh_dir;
    // Written without a sync per batch, and without the write-ahead log:
    // nothing reads the fresh store before the flush at the end makes it
    // durable, and a crash before that leaves a directory the next rebuild
    // removes.
    target_options.sync_writes = false;
    target_options.disable_wal = true;
    target_options.bulk_load = true;
    target_options.compress = options.compress;
    // The embedded log's records are not replayed into the fresh store but
    // imported: its table files, hard-linked.
    std::vector<std::string_view> opened;
    for (std::string_view family : families) {
        if (!copy_log || family != events::embedded_log::column_family) opened.push_back(family);
    }
    auto target = events::rocks_store::open(target_options, opened);
    if (!target) return fmt::format("cannot create {}: {}", fresh_dir.string(), target.error().message());
    if (copy_log) {
        const std::filesystem::path staging = fresh_dir.string() + ".log";
        std::error_code ec;
        std::filesystem::remove_all(staging, ec);
        if (auto imported = target.value()->import_family(source_reads.store(), events::embedded_log::column_family, staging);
            !imported) {
            return "cannot copy the log into the fresh store: " + imported.error().message();
        }
    }
    // The read model over the fresh store asks the source log for positions.
    read_model target_reads(*target.value(), source_log);

    // Rejected commands, and commands that changed nothing (a repeated
    // objection, a timer no longer relevant), leave nothing in the log; their
    // outcomes are kept so that a repeated command id still gets its first
    // answer. They are picked out of the source store on a thread of their
    // own while the log is replayed.
    auto kept_outcomes = std::async(std::launch::async, [&, commands = target.value()->cf(cf::commands)] {
        rocksdb::WriteBatch kept;
        auto scanned = source_reads.scan(cf::commands, [&](std::string_view id, std::string_view value) {
            if (!outcome_outside_log(value)) return;
            kept.Put(commands, rocksdb::Slice(id.data(), id.size()), rocksdb::Slice(value.data(), value.size()));
        });
        return scanned ? result<rocksdb::WriteBatch>(std::move(kept)) : result<rocksdb::WriteBatch>(scanned.error());
    });

    auto replay = std::make_unique<replayer>(*target.value(), target_reads, replayer::fresh_store{});
    std::uint64_t total = 0;
    for (std::int32_t p = 0; p < source_log.partition_count(); ++p) {
        auto end = source_log.end(partition_id(p));
        if (!end) return fmt::format("cannot read the log: {}", end.error().message());
        total += static_cast<std::uint64_t>(end.value().value());
    }
    for (std::int32_t p = 0; p < source_log.partition_count(); ++p) {
        const partition_id partition(p);
        if (!source_log.owns(partition)) continue;
        auto end = source_log.end(partition);
        if (!end) return fmt::format("cannot read the log: {}", end.error().message());
        // The next batch is read, decoded and hashed on another thread while
        // this one is replayed.
        struct batch {
            result<std::vector<events::stored_record>> records = std::vector<events::stored_record>{};
            // Point into `records` (a moved vector keeps its elements).
            result<std::vector<replayer::prepared_record>> prepared = std::vector<replayer::prepared_record>{};
        };
        auto read_from = [&, partition](log_offset from) {
            batch b;
            b.records = source_log.read({partition, from}, options.read_batch_records);
            if (b.records) b.prepared = replayer::prepare(b.records.value());
            return b;
        };
        auto ahead = std::async(std::launch::async, read_from, log_offset(0));
        for (log_offset next(0); next < end.value();) {
            batch current = ahead.get();
            if (!current.records) {
                return fmt::format("cannot read the log at {}:{}: {}", p, next.value(),
                                   current.records.error().message());
            }
            const auto& records = current.records.value();
            if (records.empty()) break;
            const log_offset after(records.back().position.offset.value() + 1);
            if (after < end.value()) ahead = std::async(std::launch::async, read_from, after);
            auto applied = current.prepared ? replay->apply(std::span<const replayer::prepared_record>(current.prepared.value()))
                                            : result<void>(current.prepared.error());
            if (!applied) {
                return fmt::format("cannot replay the log at {}:{}: {}", p, next.value(), applied.error().message());
            }
            next = after;
            if (options.progress) options.progress(replay->applied(), total);
        }
    }
    if (auto settled = replay->finish(options.settle_streams_per_batch); !settled) {
        return "cannot write the streams' read models: " + settled.error().message();
    }
    report.records = replay->applied();
    // Every stream's state (a gigabyte at a million events) is freed on
    // another thread while the rest is written and flushed.
    std::jthread freeing([r = std::move(replay)]() mutable { r.reset(); });

    auto kept = kept_outcomes.get();
    if (!kept) return "cannot read the outcomes to keep: " + kept.error().message();
    report.outcomes_kept = kept.value().Count();
    if (auto w = target.value()->write(kept.value()); !w) return "cannot write the kept outcomes: " + w.error().message();
    if (auto counted = target_reads.scan(cf::streams, [&](std::string_view, std::string_view) { ++report.streams; });
        !counted) {
        return "cannot count the streams: " + counted.error().message();
    }
    // The families are flushed two at a time (a flush sorts a vector
    // memtable and writes its table file on one thread).
    auto& db = target.value()->db();
    std::array<rocksdb::Status, 2> flushed;
    on_two_threads(families.size(), [&](std::size_t f, std::size_t thread) {
        rocksdb::FlushOptions flush;
        flush.wait = true;
        flushed[thread] = db.Flush(flush, target.value()->cf(families[f]));
        return flushed[thread].ok();
    });
    for (const auto& st : flushed) {
        if (!st.ok()) return "cannot flush the fresh store: " + st.ToString();
    }
    if (auto st = db.SyncWAL(); !st.ok()) return "cannot sync the fresh store: " + st.ToString();
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

result<rebuild_report, std::string> rebuild(const rebuild_options& options) {
    const auto started = std::chrono::steady_clock::now();
    namespace fs = std::filesystem;
    const fs::path dir = options.data_dir;
    if (!fs::exists(dir / "CURRENT")) return fmt::format("{} is not a regledger data directory", dir.string());
    const fs::path fresh_dir = dir.string() + ".rebuild";
    const fs::path old_dir = dir.string() + ".old";
    std::error_code ec;
    fs::remove_all(fresh_dir, ec);
    fs::remove_all(old_dir, ec);
    rebuild_report report;
    {
        events::store_options source_options;
        source_options.dir = dir;
        source_options.create_if_missing = false;
        // Read once, then swapped out and removed: compacting it is wasted.
        source_options.compact = false;
        auto source = events::rocks_store::open(source_options, families_for(options));
        if (!source) return fmt::format("cannot open {}: {}", dir.string(), source.error().message());
        auto source_log = open_source_log(*source.value(), options);
        if (!source_log) return source_log.error();
        read_model source_reads(*source.value(), *source_log.value());
        auto replayed = replay_into(*source_log.value(), source_reads, fresh_dir, options);
        if (!replayed) return replayed.error();
        report = replayed.value();
    }
    fs::rename(dir, old_dir, ec);
    if (ec) return fmt::format("cannot move {} aside: {}", dir.string(), ec.message());
    fs::rename(fresh_dir, dir, ec);
    if (ec) {
        std::error_code back;
        fs::rename(old_dir, dir, back);
        return fmt::format("cannot swap the rebuilt store in: {}", ec.message());
    }
    fs::remove_all(old_dir, ec);
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

}  // namespace regledger::projections
