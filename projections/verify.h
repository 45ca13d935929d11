// verify_store: what `regledger verify --data-dir DIR` checks (ARCHITECTURE.md
// "Audit"): the whole log (every record decodes, every hash and chain link,
// no record missing, every checkpoint's Merkle root and signature), then every read model re-derived from the log into a
// scratch store and compared, row by row, with the live one. The first
// problem is reported exactly: a log position, or a column family and key.
//
// The live store is opened read-only, so a running server may keep serving.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "engine/ids.h"
#include "engine/result.h"
#include "events/kafka_log.h"
#include "events/signing.h"

namespace regledger::projections {

struct verify_store_options {
    std::filesystem::path data_dir;
    // The log is a Kafka topic, read without disturbing its writer.
    std::optional<events::kafka_options> kafka;
    // Where the scratch store goes (removed afterwards); default DIR.verify.
    std::optional<std::filesystem::path> scratch_dir;
    // phase, done, total. Phases: "log", "replay", "compare" on a Kafka log;
    // "log and replay" (the two side by side), "compare" on the embedded one.
    std::function<void(std::string_view phase, std::uint64_t done, std::uint64_t total)> progress;
    // The ledger's public key: every checkpoint's signature is checked with
    // it. Without it the checkpoints' roots are still checked.
    const events::verify_key* public_key = nullptr;
};

struct verify_report {
    std::uint64_t records = 0;
    std::uint64_t streams = 0;
    std::uint64_t bytes = 0;
    std::uint64_t rows_compared = 0;
    std::uint64_t checkpoints = 0;
    std::uint64_t signatures_checked = 0;
    double seconds = 0;
};

struct verify_problem {
    std::string what;
    std::optional<log_position> position;
    // For a read-model difference: the family and the key (printable).
    std::string family;
    std::string key;
};

[[nodiscard]] result<verify_report, verify_problem> verify_store(const verify_store_options& options);

}  // namespace regledger::projections
