// Subcommands that move a ledger's log into and out of an archive
// (events/archive.h; 第14条 定期备份): export and import. The third, the
// offline check of an archive, is a mode of verify (store_commands.cc).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmd/cli/progress.h"
#include "cmd/cli/subcommand.h"
#include "engine/rules/rule_set.h"
#include "engine/sha256.h"
#include "events/archive.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "events/rocks_store.h"
#include "projections/ledger.h"
#include "projections/rebuild.h"

namespace regledger::cli {
namespace {

namespace fs = std::filesystem;

// One progress bar per phase, replaced when the phase changes.
class phased_progress {
public:
    explicit phased_progress(std::string command) : command_(std::move(command)) {}
    ~phased_progress() { finish(); }
    void update(std::string_view phase, std::uint64_t done, std::uint64_t total) {
        if (phase != phase_) {
            finish();
            phase_ = phase;
            bar_ = std::make_unique<progress>(fmt::format("{} {}", command_, phase));
        }
        bar_->update(done, total);
    }
    void finish() {
        if (bar_) bar_->finish();
        bar_.reset();
    }

private:
    std::string command_;
    std::string phase_;
    std::unique_ptr<progress> bar_;
};

// --public-key FILE, loaded; nullopt without the flag. A file that is not a
// public key is a usage error (exit 2), as for verify.
std::optional<int> load_key(const args& a, std::string_view command, std::optional<events::verify_key>& key) {
    const auto file = a.get("public-key");
    if (!file) return std::nullopt;
    auto loaded = events::verify_key::load(*file);
    if (!loaded) {
        fmt::print(stderr, "regledger {}: --public-key {}: {}\n", command, *file, loaded.error().message());
        return exit_usage;
    }
    key.emplace(std::move(loaded).value());
    return std::nullopt;
}

// What a problem with an archive exits with: 3 when the file (or the data
// directory) could not be read or written, else 1.
int exit_of(const events::archive_problem& p) {
    return p.code == events::archive_errc::io ? exit_unavailable : exit_rejected;
}

int run_export(const args& a) {
    const auto to = a.get("to");
    const auto dir = a.get("data-dir");
    if (!to) {
        fmt::print(stderr, "regledger export: --to is required\n");
        return exit_usage;
    }
    if (!dir && !a.has("brokers")) {
        fmt::print(stderr, "regledger export: --data-dir is required (or --brokers for a log on Kafka)\n");
        return exit_usage;
    }
    if (a.has("topic") && !a.has("brokers")) {
        fmt::print(stderr, "regledger export: --topic goes with --brokers\n");
        return exit_usage;
    }
    std::optional<events::verify_key> key;
    if (auto failed = load_key(a, "export", key)) return *failed;

    // The log, read only: the embedded store is opened without its lock
    // (RocksDB's read-only mode), so a running server may keep serving and
    // the archive holds the log as it stood when the export began.
    std::unique_ptr<events::rocks_store> store;
    std::unique_ptr<events::event_log> log;
    std::string source;
    if (const auto brokers = a.get("brokers")) {
        events::kafka_options k;
        k.brokers = *brokers;
        k.topic = a.get_or("topic", k.topic);
        k.read_only = true;
        auto opened = events::kafka_log::open(k);
        if (!opened) {
            fmt::print(stderr, "regledger export: cannot read the Kafka log {} at {}: {}\n", k.topic, k.brokers,
                       opened.error().message());
            return exit_unavailable;
        }
        log = std::move(opened).value();
        source = fmt::format("kafka {} {}", k.brokers, k.topic);
    } else {
        if (!fs::exists(fs::path(*dir) / "CURRENT")) {
            fmt::print(stderr, "regledger export: {} is not a regledger data directory\n", *dir);
            return exit_unavailable;
        }
        events::store_options o;
        o.dir = *dir;
        o.create_if_missing = false;
        o.read_only = true;
        auto opened = events::rocks_store::open(o, projections::ledger::embedded_families());
        if (!opened) {
            fmt::print(stderr, "regledger export: cannot open {}: {}\n", *dir, opened.error().message());
            return exit_unavailable;
        }
        store = std::move(opened).value();
        auto embedded = events::embedded_log::open(*store);
        if (!embedded) {
            fmt::print(stderr, "regledger export: cannot open the log of {}: {}\n", *dir, embedded.error().message());
            return exit_unavailable;
        }
        log = std::move(embedded).value();
        std::error_code ec;
        source = "embedded " + fs::absolute(*dir, ec).lexically_normal().string();
    }

    events::export_options options;
    options.source = source;
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    options.created_at = instant::from_unix_us(now_us - now_us % us_per_second);
    options.public_key = key ? &*key : nullptr;
    const auto& rules = rules::rule_set::ln_2025();
    options.rule_set = rules.id;
    options.calendar_version = rules.calendar->version();
    phased_progress bars("export");
    options.progress = [&](std::string_view phase, std::uint64_t done, std::uint64_t total) {
        bars.update(phase, done, total);
    };
    const auto report = events::write_archive(*log, *to, options);
    bars.finish();
    if (!report) {
        fmt::print(stderr, "regledger export: {}\n", report.error().what);
        return exit_of(report.error());
    }
    const auto& r = report.value();
    fmt::print("exported {} events of {} ({} partition{}) to {}: {} bytes, sha256 {}; {} checkpoints; {:.2f} s\n",
               r.header.records, source, r.header.partitions.size(), r.header.partitions.size() == 1 ? "" : "s", *to,
               r.bytes, to_hex(r.file_digest.value()), r.checkpoints, r.seconds);
    if (key) {
        fmt::print("public key {} embedded: check with regledger verify --archive {} --public-key FILE\n", key->id(),
                   *to);
    } else if (r.checkpoints > 0) {
        fmt::print("no public key embedded (no --public-key): the checkpoints are signed by key {}; an auditor checks "
                   "their signatures by pinning it: regledger verify --archive {} --public-key FILE\n",
                   fmt::join(r.checkpoint_key_ids, ", "), *to);
    } else {
        fmt::print("no public key embedded (no --public-key), and the log has no signed checkpoints\n");
    }
    return exit_ok;
}

int run_import(const args& a) {
    const auto file = a.get("archive");
    const auto dir = a.get("data-dir");
    if (!file || !dir) {
        fmt::print(stderr, "regledger import: --archive and --data-dir are required\n");
        return exit_usage;
    }
    std::optional<events::verify_key> key;
    if (auto failed = load_key(a, "import", key)) return *failed;
    const fs::path target(*dir);
    std::error_code ec;
    if (fs::exists(target, ec) && !(fs::is_directory(target, ec) && fs::is_empty(target, ec))) {
        fmt::print(stderr,
                   "regledger import: {} exists and is not empty: an archive is restored into a new data directory "
                   "only\n",
                   *dir);
        return exit_rejected;
    }

    phased_progress bars("import");
    const auto started = std::chrono::steady_clock::now();
    events::archive_open_options open_options;
    open_options.progress = [&](std::uint64_t done, std::uint64_t total) { bars.update("digest", done, total); };
    auto archive = events::archive_log::open(*file, open_options);
    if (!archive) {
        bars.finish();
        fmt::print(stderr, "regledger import: refused: {}\n", archive.error().what);
        return exit_of(archive.error());
    }
    events::archive_verify_options verify_options;
    verify_options.pinned_key = key ? &*key : nullptr;
    verify_options.progress = [&](std::uint64_t done, std::uint64_t total) { bars.update("verify", done, total); };
    const auto verified = events::verify_archive(*archive.value(), verify_options);
    if (!verified) {
        bars.finish();
        fmt::print(stderr, "regledger import: refused: {}\n", verified.error().what);
        return exit_of(verified.error());
    }

    // Built beside the target and renamed into place at the end, so that a
    // failure never leaves a half-restored data directory behind.
    const fs::path staging = target.string() + ".import";
    fs::remove_all(staging, ec);
    const auto fail = [&](std::string_view what, int code) {
        bars.finish();
        std::error_code ignored;
        fs::remove_all(staging, ignored);
        fmt::print(stderr, "regledger import: {}\n", what);
        return code;
    };
    events::restore_options restore_options;
    restore_options.progress = [&](std::uint64_t done, std::uint64_t total) { bars.update("write", done, total); };
    const auto restored = events::restore_log(*archive.value(), staging, restore_options);
    if (!restored) return fail(restored.error().what, exit_of(restored.error()));
    projections::rebuild_options rebuild_options;
    rebuild_options.data_dir = staging;
    rebuild_options.progress = [&](std::uint64_t done, std::uint64_t total) { bars.update("replay", done, total); };
    const auto rebuilt = projections::rebuild(rebuild_options);
    if (!rebuilt) return fail("cannot derive the read models: " + rebuilt.error(), exit_unavailable);
    bars.finish();
    if (fs::exists(target, ec)) fs::remove(target, ec);
    fs::rename(staging, target, ec);
    if (ec) {
        return fail(fmt::format("cannot move {} to {}: {}", staging.string(), *dir, ec.message()), exit_unavailable);
    }

    const auto& v = verified.value();
    const auto& h = archive.value()->header();
    std::string signatures;
    switch (v.key) {
        case events::key_origin::pinned:
            signatures = fmt::format("{} signatures checked with the pinned key {}", v.summary.signatures_checked,
                                     v.key_id);
            break;
        case events::key_origin::archive:
            signatures = fmt::format("{} signatures checked with key {} taken from the archive itself, not pinned",
                                     v.summary.signatures_checked, v.key_id);
            break;
        case events::key_origin::none:
            signatures = "signatures not checked (the archive carries no public key; pass --public-key)";
            break;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    fmt::print("imported {} into {}: {} events in {} streams (from {}, created {}), verified first: {} checkpoints, "
               "{}; read models derived ({} events replayed); {:.2f} s\n",
               *file, *dir, restored.value().records, v.summary.streams, h.source, h.created_at.to_string(),
               v.summary.checkpoints, signatures, rebuilt.value().records, seconds);
    return exit_ok;
}

}  // namespace

void add_archive_subcommands(std::vector<subcommand>& out) {
    const flag_spec data_dir{"data-dir", true, "the data directory (not needed with --brokers: the log is the topic)"};
    const flag_spec brokers{"brokers", true, "the log is this Kafka cluster's topic (HOST:PORT[,...]), read only"};
    const flag_spec topic{"topic", true, "with --brokers: the events topic (default regledger.events)"};
    out.push_back({"export",
                   "regledger export --data-dir DIR --to FILE [--brokers HOST:PORT [--topic T]] [--public-key FILE]",
                   "write the ledger's whole log to a self-contained, verifiable archive (backup, audit)",
                   {data_dir,
                    brokers,
                    topic,
                    {"to", true, "the archive to write (never overwritten)"},
                    {"public-key", true,
                     "the ledger's public key (regledger keygen's .pub), embedded so the archive carries it"}},
                   run_export});
    out.push_back({"import", "regledger import --archive FILE --data-dir DIR [--public-key FILE]",
                   "restore an embedded ledger from an archive into a new data directory, verifying it first",
                   {{"archive", true, "the archive (regledger export)"},
                    {"data-dir", true, "the data directory to create (absent or empty)"},
                    {"public-key", true, "the ledger's public key: the archive must carry it, and its checkpoints "
                                         "must be signed with it"}},
                   run_import});
}

}  // namespace regledger::cli
