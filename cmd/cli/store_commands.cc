// Subcommands that work on a data directory or an archive directly: rebuild, verify.
#include <chrono>
#include <cstdio>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmd/cli/progress.h"
#include "cmd/cli/subcommand.h"
#include "engine/sha256.h"
#include "events/archive.h"
#include "projections/rebuild.h"
#include "projections/verify.h"
#include "events/kafka_log.h"

#include <optional>

namespace regledger::cli {
namespace {

// --brokers [--topic]: the log is a Kafka topic, read only.
std::optional<events::kafka_options> kafka_source(const args& a) {
    if (!a.has("brokers")) return std::nullopt;
    events::kafka_options k;
    k.brokers = *a.get("brokers");
    k.topic = a.get_or("topic", k.topic);
    k.read_only = true;
    return k;
}

int run_rebuild(const args& a) {
    const auto dir = a.get("data-dir");
    if (!dir) {
        fmt::print(stderr, "regledger rebuild: --data-dir is required\n");
        return exit_usage;
    }
    projections::rebuild_options options;
    options.data_dir = *dir;
    options.kafka = kafka_source(a);
    progress bar("rebuild");
    options.progress = [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
    const auto report = projections::rebuild(options);
    bar.finish();
    if (!report) {
        fmt::print(stderr, "regledger rebuild: {}\n", report.error());
        return exit_unavailable;
    }
    const auto& r = report.value();
    fmt::print("rebuilt {}: {} events of {} streams replayed, {} command outcomes kept, {:.2f} s ({:.0f} events/s)\n",
               *dir, r.records, r.streams, r.outcomes_kept, r.seconds,
               r.seconds > 0 ? static_cast<double>(r.records) / r.seconds : 0.0);
    return exit_ok;
}

int run_verify(const args& a) {
    const auto dir = a.get("data-dir");
    const auto archive_file = a.get("archive");
    if (dir && archive_file) {
        fmt::print(stderr, "regledger verify: --archive and --data-dir exclude each other: verify a data directory or "
                           "an archive\n");
        return exit_usage;
    }
    if (!dir && !archive_file) {
        fmt::print(stderr, "regledger verify: --data-dir (or --archive) is required\n");
        return exit_usage;
    }
    if (archive_file && (a.has("brokers") || a.has("topic"))) {
        fmt::print(stderr, "regledger verify: --archive is checked offline: --brokers and --topic do not apply\n");
        return exit_usage;
    }
    std::optional<events::verify_key> key;
    if (const auto file = a.get("public-key")) {
        auto loaded = events::verify_key::load(*file);
        if (!loaded) {
            fmt::print(stderr, "regledger verify: --public-key {}: {}\n", *file, loaded.error().message());
            return exit_usage;
        }
        key.emplace(std::move(loaded).value());
    }
    std::string phase;
    std::unique_ptr<progress> bar;
    const auto show = [&](std::string_view p, std::uint64_t done, std::uint64_t total) {
        if (phase != p) {
            if (bar) bar->finish();
            phase = p;
            bar = std::make_unique<progress>(fmt::format("verify {}", p));
        }
        bar->update(done, total);
    };

    if (archive_file) {
        // The archive alone, offline (events/archive.h): the trailer digest
        // first, then the header and the records' framing, then every record
        // as verify_log checks a live log.
        const auto started = std::chrono::steady_clock::now();
        events::archive_open_options open_options;
        open_options.progress = [&](std::uint64_t done, std::uint64_t total) { show("digest", done, total); };
        const auto archive = events::archive_log::open(*archive_file, open_options);
        if (!archive) {
            if (bar) bar->finish();
            if (archive.error().code == events::archive_errc::io) {
                fmt::print(stderr, "regledger verify: {}\n", archive.error().what);
                return exit_unavailable;
            }
            fmt::print("FAILED: {}\n", archive.error().what);
            return exit_rejected;
        }
        events::archive_verify_options verify_options;
        verify_options.pinned_key = key ? &*key : nullptr;
        verify_options.progress = [&](std::uint64_t done, std::uint64_t total) { show("log", done, total); };
        const auto report = events::verify_archive(*archive.value(), verify_options);
        if (bar) bar->finish();
        if (!report) {
            fmt::print("FAILED: {}\n", report.error().what);
            return exit_rejected;
        }
        const auto& h = archive.value()->header();
        const auto& r = report.value();
        const auto hex_list = [](const std::vector<digest>& digests) {
            std::vector<std::string> out;
            for (const auto& d : digests) out.push_back(to_hex(d.value()));
            return out.empty() ? std::string("none") : fmt::format("{}", fmt::join(out, ", "));
        };
        fmt::print("archive {}: format {}, created {}, from {}, exported with rule set {} and calendar {}; the records "
                   "carry config hashes {} and calendar versions {}; sha256 {}\n",
                   *archive_file, h.format, h.created_at.to_string(), h.source, h.rule_set.value(),
                   to_hex(h.calendar_version.value()), hex_list(h.config_hashes), hex_list(h.calendar_versions),
                   to_hex(archive.value()->file_digest().value()));
        std::string signatures;
        switch (r.key) {
            case events::key_origin::pinned:
                signatures = fmt::format("{} signatures checked with the pinned key {}", r.summary.signatures_checked,
                                         r.key_id);
                break;
            case events::key_origin::archive:
                // Whoever rewrote the log could have replaced the key too.
                signatures = fmt::format("{} signatures checked with key {}, taken from the archive itself, not "
                                         "pinned (this shows only that the archive agrees with itself; pass "
                                         "--public-key to check it against the ledger's key)",
                                         r.summary.signatures_checked, r.key_id);
                break;
            case events::key_origin::none:
                signatures = "signatures not checked (the archive carries no public key; pass --public-key)";
                break;
        }
        fmt::print("ok: {} events in {} streams ({} bytes): the trailer digest holds, every record decodes, every hash "
                   "and chain link holds; {} checkpoints match the Merkle tree of the records before them, {}; "
                   "{:.2f} s\n",
                   r.summary.records, r.summary.streams, r.summary.bytes, r.summary.checkpoints, signatures,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        return exit_ok;
    }

    projections::verify_store_options options;
    options.data_dir = *dir;
    options.kafka = kafka_source(a);
    options.public_key = key ? &*key : nullptr;
    options.progress = show;
    const auto report = projections::verify_store(options);
    if (bar) bar->finish();
    if (!report) {
        const auto& p = report.error();
        fmt::print("FAILED: {}", p.what);
        if (!p.family.empty()) fmt::print(" (column family {}, key {})", p.family, p.key);
        fmt::print("\n");
        return exit_rejected;
    }
    const auto& r = report.value();
    const std::string signatures =
        key ? fmt::format("{} signed by key {}", r.signatures_checked, key->id())
            : std::string("signatures not checked (pass --public-key)");
    fmt::print("ok: {} events in {} streams ({} bytes): every record decodes, every hash and chain link holds; "
               "{} checkpoints match the Merkle tree of the records before them, {}; "
               "{} read-model rows equal the ones the log implies; {:.2f} s\n",
               r.records, r.streams, r.bytes, r.checkpoints, signatures, r.rows_compared, r.seconds);
    return exit_ok;
}

}  // namespace

void add_store_subcommands(std::vector<subcommand>& out) {
    const flag_spec data_dir{"data-dir", true, "the data directory (required)"};
    const flag_spec brokers{"brokers", true, "the log is this Kafka cluster's topic (HOST:PORT[,...]), read only"};
    const flag_spec topic{"topic", true, "with --brokers: the events topic (default regledger.events)"};
    const flag_spec public_key{"public-key", true,
                               "the ledger's public key (regledger keygen's .pub): check every checkpoint's signature"};
    out.push_back({"rebuild", "regledger rebuild --data-dir DIR [--brokers HOST:PORT]",
                   "re-derive every read model from the log into a fresh store and swap it in (server stopped)",
                   {data_dir, brokers, topic},
                   run_rebuild});
    out.push_back({"verify",
                   "regledger verify --data-dir DIR [--brokers HOST:PORT] [--public-key FILE]\n"
                   "       regledger verify --archive FILE [--public-key FILE]",
                   "check every record, hash, chain link and signed checkpoint, and compare the read models with "
                   "the log; or check an archive (regledger export) offline",
                   {data_dir, brokers, topic, public_key,
                    {"archive", true, "instead of a data directory: an archive (regledger export), checked offline"}},
                   run_verify});
}

}  // namespace regledger::cli
