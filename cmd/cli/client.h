// client: what the subcommands that talk to regledgerd share — the
// connection flags and their environment fallbacks, JSON output, and the
// one mapping from an answer to an exit code (args.h):
//
//   2xx                         → 0 ok, the body on standard output
//   4xx (an API.md error body)  → 1 rejected, "CODE: message" on standard error
//   503 and other 5xx           → 3 unavailable
//   server not reached in time  → 3 unavailable, with a message naming it
//
// Thread-safety: pure functions, except that printing writes to stdout/stderr.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "cmd/cli/args.h"
#include "cmd/cli/http_client.h"

namespace regledger::cli {

inline constexpr std::string_view default_server = "http://127.0.0.1:8080";
inline constexpr std::string_view server_env = "REGLEDGER_SERVER";
inline constexpr std::string_view token_env = "REGLEDGER_TOKEN";

// --server, --token, --timeout-s.
std::vector<flag_spec> connection_flags();
// connection_flags() and --json.
std::vector<flag_spec> output_flags();

// The client the flags (or REGLEDGER_SERVER / REGLEDGER_TOKEN) describe; a
// usage message when a flag is wrong.
result<http_client, std::string> client_from(const args& a);

// Two-space indented JSON, UTF-8 left as is (Chinese stays readable).
std::string pretty_json(const boost::json::value& v);

struct output_style {
    bool compact = false;  // one line instead of indented
};

// The exit code for an HTTP status.
int exit_code_for_status(unsigned status);

// "VALIDATION: the data name is empty (field /record/data_name)" from an
// API.md error body, or the status and the raw body when it is not one.
std::string describe_error(const http_answer& answer);

// Prints an answer the way every client subcommand does and returns its exit
// code: a 2xx JSON body on stdout, anything else on stderr prefixed by
// "regledger NAME: ".
int print_answer(std::string_view name, const result<http_answer, transport_error>& answer, output_style style);

// Prints a transport failure with a hint and returns exit_unavailable.
int report_unreachable(std::string_view name, const transport_error& e);

// Builds "?a=1&b=2" from the pairs whose value is present (values encoded).
std::string query_string(const std::vector<std::pair<std::string, std::optional<std::string>>>& pairs);

}  // namespace regledger::cli
