#include "projections/verify.h"

#include <chrono>
#include <memory>

#include <fmt/format.h>

#include "events/embedded_log.h"
#include "events/log_verify.h"
#include "projections/ledger.h"
#include "projections/read_model.h"
#include "projections/rebuild.h"

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
    events::verify_options log_options;
    log_options.public_key = options.public_key;
    log_options.progress = [&](std::uint64_t done, std::uint64_t total) {
        if (options.progress) options.progress("log", done, total);
    };
    auto summary = events::verify_log(*log.value(), log_options);
    if (!summary) {
        const auto& p = summary.error();
        return verify_problem{fmt::format("log position {}:{}: {}", p.position.partition.value(),
                                          p.position.offset.value(), p.what),
                              p.position, {}, {}};
    }
    report.records = summary.value().records;
    report.streams = summary.value().streams;
    report.bytes = summary.value().bytes;
    report.checkpoints = summary.value().checkpoints;
    report.signatures_checked = summary.value().signatures_checked;

    const fs::path scratch = options.scratch_dir.value_or(fs::path(options.data_dir.string() + ".verify"));
    std::error_code ec;
    fs::remove_all(scratch, ec);
    read_model live_reads(*live.value(), *log.value());
    rebuild_options replay_options;
    replay_options.kafka = options.kafka;
    // verify_log has checked the log itself; a copy of it would only equal it.
    replay_options.copy_log = false;
    replay_options.progress = [&](std::uint64_t done, std::uint64_t total) {
        if (options.progress) options.progress("replay", done, total);
    };
    auto replayed = replay_into(*log.value(), live_reads, scratch, replay_options);
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
        auto fresh = events::rocks_store::open(fresh_options, families);
        if (!fresh) {
            problem = verify_problem{"cannot open the scratch store: " + fresh.error().message(), std::nullopt, {}, {}};
        }
        for (std::size_t f = 0; f < families.size() && !problem; ++f) {
            const std::string_view family = families[f];
            if (family == events::embedded_log::column_family) continue;
            std::unique_ptr<rocksdb::Iterator> a(live.value()->db().NewIterator(rocksdb::ReadOptions(),
                                                                                live.value()->cf(family)));
            std::unique_ptr<rocksdb::Iterator> b(fresh.value()->db().NewIterator(rocksdb::ReadOptions(),
                                                                                 fresh.value()->cf(family)));
            a->SeekToFirst();
            b->SeekToFirst();
            while (!problem && (a->Valid() || b->Valid())) {
                if (!b->Valid() || (a->Valid() && a->key().compare(b->key()) < 0)) {
                    problem = verify_problem{"the live store has a row the log does not explain", std::nullopt,
                                             std::string(family), printable(a->key().ToStringView())};
                } else if (!a->Valid() || a->key().compare(b->key()) > 0) {
                    problem = verify_problem{"the live store lacks a row the log implies", std::nullopt,
                                             std::string(family), printable(b->key().ToStringView())};
                } else if (a->value() != b->value()) {
                    problem = verify_problem{"the live row differs from the one the log implies", std::nullopt,
                                             std::string(family), printable(a->key().ToStringView())};
                } else {
                    ++report.rows_compared;
                    a->Next();
                    b->Next();
                }
            }
            if (options.progress) options.progress("compare", f + 1, families.size());
        }
    }
    fs::remove_all(scratch, ec);
    if (problem) return *problem;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

}  // namespace regledger::projections
