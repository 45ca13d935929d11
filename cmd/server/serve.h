// serve: runs regledgerd — opens the ledger, starts the scheduler and the
// HTTP server, and on SIGTERM or SIGINT shuts down gracefully: stop
// accepting, finish the requests in hand (commands already queued are
// committed and answered), stop the scheduler and the writer, exit 0.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "cmd/cli/args.h"
#include "cmd/server/http_server.h"
#include "events/kafka_log.h"

namespace regledger::server {

struct serve_options {
    std::string listen = "127.0.0.1:8080";
    std::filesystem::path data_dir = "data";
    std::filesystem::path config_file;
    bool manual_clock = false;
    std::optional<std::string> start_now;  // RFC 3339, with the manual clock
    // --log kafka: the brokers and topic; nullopt for the embedded log.
    std::optional<events::kafka_options> kafka;
    unsigned http_threads = 2;
    http_limits limits;
    // The Ed25519 private key (regledger keygen) that signs the checkpoints
    // of the log's Merkle tree; none: no checkpoints.
    std::optional<std::filesystem::path> signing_key;
    std::uint64_t checkpoint_events = 10'000;
    std::chrono::seconds checkpoint_interval{60};
};

// The flags regledgerd and `regledger serve` take.
std::vector<cli::flag_spec> serve_flags();
// Reads serve_options from parsed flags; a message on a usage error.
std::variant<serve_options, std::string> serve_options_from(const cli::args& a);

// Runs until a signal; returns the process exit code.
int serve(const serve_options& options);

}  // namespace regledger::server
