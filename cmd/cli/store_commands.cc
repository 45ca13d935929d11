// Subcommands that work on a data directory directly: rebuild, verify.
#include <cstdio>

#include <fmt/format.h>

#include "cmd/cli/progress.h"
#include "cmd/cli/subcommand.h"
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
    if (!dir) {
        fmt::print(stderr, "regledger verify: --data-dir is required\n");
        return exit_usage;
    }
    projections::verify_store_options options;
    options.data_dir = *dir;
    options.kafka = kafka_source(a);
    std::optional<events::verify_key> key;
    if (const auto file = a.get("public-key")) {
        auto loaded = events::verify_key::load(*file);
        if (!loaded) {
            fmt::print(stderr, "regledger verify: --public-key {}: {}\n", *file, loaded.error().message());
            return exit_usage;
        }
        key.emplace(std::move(loaded).value());
        options.public_key = &*key;
    }
    std::string phase;
    std::unique_ptr<progress> bar;
    options.progress = [&](std::string_view p, std::uint64_t done, std::uint64_t total) {
        if (phase != p) {
            if (bar) bar->finish();
            phase = p;
            bar = std::make_unique<progress>(fmt::format("verify {}", p));
        }
        bar->update(done, total);
    };
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
    out.push_back({"verify", "regledger verify --data-dir DIR [--brokers HOST:PORT] [--public-key FILE]",
                   "check every record, hash, chain link and signed checkpoint, and compare the read models with "
                   "the log",
                   {data_dir, brokers, topic, public_key},
                   run_verify});
}

}  // namespace regledger::cli
