// The subcommands of `regledger`: each names itself, its flags and a one-line
// summary, and runs with the parsed arguments, returning an exit code
// (args.h). `regledger SUBCOMMAND --help` prints the flags.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cmd/cli/args.h"

namespace regledger::cli {

struct subcommand {
    std::string name;
    std::string usage;    // "regledger rebuild --data-dir DIR"
    std::string summary;  // one line
    std::vector<flag_spec> flags;
    std::function<int(const args&)> run;
};

// Every subcommand, in the order `regledger --help` lists them.
std::vector<subcommand> all_subcommands();

// Contributions by file.
void add_serve_subcommand(std::vector<subcommand>& out);
void add_store_subcommands(std::vector<subcommand>& out);
// submit, get, history, list, stats, tail: clients of regledgerd (client_commands.cc).
void add_client_subcommands(std::vector<subcommand>& out);
// demo: a registration's whole life against a running server (demo.cc).
void add_demo_subcommand(std::vector<subcommand>& out);
// keygen: a checkpoint signing key pair (key_commands.cc).
void add_key_subcommands(std::vector<subcommand>& out);
// export, import: a ledger's log to and from an archive (archive_commands.cc).
void add_archive_subcommands(std::vector<subcommand>& out);

}  // namespace regledger::cli
