// demo: `regledger demo`, one registration's whole life, walked through the
// command API of a running regledgerd — the procedure of the Liaoning rules
// article by article (第12–23条), each step printed with its Chinese and
// English name, who acts, and the events it wrote (type, stream version and
// the facts that matter: deadlines, the code, validity).
//
// The server must run with the sample configuration (its institutions and
// tokens: cmd/config/regledger.sample.json) and a manual clock (`--clock
// manual --now T`): the demo moves the clock through the publicity periods
// and three years to the renewal window. Every id is made unique per run
// from the log's end, and the clock is only ever moved forward from where
// the server stands, so the demo can run again on the same data directory.
//
// Every step checks the events it expects; the first refusal or missing
// event stops the demo with a non-zero exit code (args.h).
#pragma once

#include "cmd/cli/http_client.h"

namespace regledger::cli {

struct demo_options {
    http_client_options connection;
};

// Prints the walk on standard output (problems on standard error) and
// returns the exit code.
int run_demo(const demo_options& options);

}  // namespace regledger::cli
