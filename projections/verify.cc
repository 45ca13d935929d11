#include "projections/verify.h"

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "events/embedded_log.h"
#include "events/log_verify.h"
#include "projections/ledger.h"
#include "projections/read_model.h"
#include "projections/rebuild.h"
#include "projections/two_threads.h"

namespace regledger::projections {
namespace {

// A key as people can read it: printable ASCII kept, other bytes as \xNN.
std::string printable(std::string_view key) {
    std::string out;
    for (unsigned char c : key) {
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out.push_back(static_cast<char>(c));
        } else {
            out += fmt::format("\\x{:02x}", c);
        }
    }
    return out;
}

struct family_comparison {
    std::uint64_t rows = 0;
    std::optional<verify_problem> problem;
};

// Walks `family` of both stores in key order, up to the first difference.
family_comparison compare_family(events::rocks_store& live, events::rocks_store& fresh, std::string_view family) {
    family_comparison out;
    rocksdb::ReadOptions read;
    // One pass over everything: keep it out of the block cache, and read
    // ahead.
    read.fill_cache = false;
    read.readahead_size = 2u << 20;
    std::unique_ptr<rocksdb::Iterator> a(live.db().NewIterator(read, live.cf(family)));
    std::unique_ptr<rocksdb::Iterator> b(fresh.db().NewIterator(read, fresh.cf(family)));
    a->SeekToFirst();
    b->SeekToFirst();
    auto found = [&](const char* what, rocksdb::Slice key) {
        out.problem = verify_problem{what, std::nullopt, std::string(family), printable(key.ToStringView())};
    };
    auto unreadable = [&](rocksdb::Iterator& it) {
        if (it.Valid() || it.status().ok()) return false;
        out.problem = verify_problem{"cannot read the stores: " + it.status().ToString(), std::nullopt,
                                     std::string(family), {}};
        return true;
    };
    while (a->Valid() || b->Valid()) {
        if (unreadable(*a) || unreadable(*b)) break;
        if (!b->Valid() || (a->Valid() && a->key().compare(b->key()) < 0)) {
            found("the live store has a row the log does not explain", a->key());
            break;
        }
        if (!a->Valid() || a->key().compare(b->key()) > 0) {
            found("the live store lacks a row the log implies", b->key());
            break;
        }
        if (a->value() != b->value()) {
            found("the live row differs from the one the log implies", a->key());
            break;
        }
        ++out.rows;
        a->Next();
        b->Next();
    }
    if (!out.problem && !unreadable(*a)) unreadable(*b);
    return out;
}

}  // namespace

result<verify_report, verify_problem> verify_store(const verify_store_options& options) {
    namespace fs = std::filesystem;
    const auto started = std::chrono::steady_clock::now();
    if (!fs::exists(options.data_dir / "CURRENT")) {
        return verify_problem{fmt::format("{} is not a regledger data directory", options.data_dir.string()),
                              std::nullopt, {}, {}};
    }
    rebuild_options source;
    source.kafka = options.kafka;
    const auto families = families_for(source);
    events::store_options live_options;
    live_options.dir = options.data_dir;
    live_options.create_if_missing = false;
    live_options.read_only = true;
    auto live = events::rocks_store::open(live_options, families);
    if (!live) {
        return verify_problem{fmt::format("cannot open {}: {}", options.data_dir.string(), live.error().message()),
                              std::nullopt, {}, {}};
    }
    auto log = open_source_log(*live.value(), source);
    if (!log) return verify_problem{log.error(), std::nullopt, {}, {}};

    verify_report report;
    // The phases report from two threads at once (below).
    std::mutex progress_mutex;
    auto progress = [&](std::string_view phase, std::uint64_t done, std::uint64_t total) {
        if (!options.progress) return;
        std::lock_guard lock(progress_mutex);
        options.progress(phase, done, total);
    };
    // Side by side (the embedded log, below), the log check and the replay
    // show as one phase, "log and replay": done and total added up.
    const bool side_by_side = !options.kafka;
    std::array<std::uint64_t, 2> done_of{0, 0};
    std::array<std::uint64_t, 2> total_of{0, 0};
    auto step = [&](std::size_t which, std::string_view phase, std::uint64_t done, std::uint64_t total) {
        if (!side_by_side) return progress(phase, done, total);
        std::lock_guard lock(progress_mutex);
        done_of[which] = done;
        total_of[which] = total;
        if (options.progress) options.progress("log and replay", done_of[0] + done_of[1], total_of[0] + total_of[1]);
    };
    events::verify_options log_options;
    log_options.public_key = options.public_key;
    log_options.progress = [&](std::uint64_t done, std::uint64_t total) { step(0, "log", done, total); };
    std::optional<result<events::log_summary, events::log_problem>> summary;
    auto check_log = [&] { summary.emplace(events::verify_log(*log.value(), log_options)); };
    auto log_problem = [&]() -> std::optional<verify_problem> {
        if (summary->has_value()) return std::nullopt;
        const auto& p = summary->error();
        return verify_problem{
            fmt::format("log position {}:{}: {}", p.position.partition.value(), p.position.offset.value(), p.what),
            p.position, {}, {}};
    };
    // The embedded log is checked on a second thread while the read models
    // are replayed from it (the replay leaves part of the other core idle); a
    // Kafka log is read through one consumer, so one thing at a time. A
    // problem in the log is reported before anything the replay found.
    std::optional<std::jthread> alongside;
    if (!side_by_side) {
        check_log();
        if (auto p = log_problem()) return *p;
    } else {
        alongside.emplace(check_log);
    }

    const fs::path scratch = options.scratch_dir.value_or(fs::path(options.data_dir.string() + ".verify"));
    std::error_code ec;
    fs::remove_all(scratch, ec);
    read_model live_reads(*live.value(), *log.value());
    rebuild_options replay_options;
    replay_options.kafka = options.kafka;
    // verify_log checks the log itself; a copy of it would only equal it.
    replay_options.copy_log = false;
    replay_options.compress = false;
    replay_options.progress = [&](std::uint64_t done, std::uint64_t total) { step(1, "replay", done, total); };
    auto replayed = replay_into(*log.value(), live_reads, scratch, replay_options);
    alongside.reset();
    if (auto p = log_problem()) {
        fs::remove_all(scratch, ec);
        return *p;
    }
    report.records = summary->value().records;
    report.streams = summary->value().streams;
    report.bytes = summary->value().bytes;
    report.checkpoints = summary->value().checkpoints;
    report.signatures_checked = summary->value().signatures_checked;
    if (!replayed) {
        fs::remove_all(scratch, ec);
        return verify_problem{replayed.error(), std::nullopt, {}, {}};
    }

    std::optional<verify_problem> problem;
    {
        events::store_options fresh_options;
        fresh_options.dir = scratch;
        fresh_options.create_if_missing = false;
        fresh_options.read_only = true;
        fresh_options.compress = false;
        auto fresh = events::rocks_store::open(fresh_options, families);
        if (!fresh) {
            problem = verify_problem{"cannot open the scratch store: " + fresh.error().message(), std::nullopt, {}, {}};
        } else {
            // verify_log has checked the log itself.
            std::vector<std::string_view> models;
            for (std::string_view family : families) {
                if (family != events::embedded_log::column_family) models.push_back(family);
            }
            // The families are compared two at a time; the first problem
            // reported is the one of the first family in order, as if they
            // had been compared one after the other.
            std::vector<family_comparison> compared(models.size());
            std::mutex finished_mutex;
            std::size_t finished = 0;
            on_two_threads(models.size(), [&](std::size_t f, std::size_t) {
                compared[f] = compare_family(*live.value(), *fresh.value(), models[f]);
                std::lock_guard lock(finished_mutex);
                ++finished;
                progress("compare", finished, models.size());
                return true;
            });
            for (const auto& c : compared) {
                report.rows_compared += c.rows;
                if (c.problem && !problem) problem = c.problem;
            }
        }
    }
    fs::remove_all(scratch, ec);
    if (problem) return *problem;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

}  // namespace regledger::projections
