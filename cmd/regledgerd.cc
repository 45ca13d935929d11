// regledgerd: the registration ledger's command API server (API.md).
//   regledgerd --config FILE [--listen 127.0.0.1:8080] [--data-dir DIR]
//              [--clock system|manual --now RFC3339]
// Exit codes: 0 stopped cleanly, 2 usage or configuration error, 3 the data
// directory or the address is unavailable.
#include <cstdio>
#include <string_view>
#include <variant>

#include <fmt/format.h>

#include "cmd/server/serve.h"

int main(int argc, char** argv) {
    using namespace regledger;
    const auto flags = server::serve_flags();
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
            fmt::print("usage: regledgerd --config FILE [options]\n\nthe registration ledger's command API server\n\n"
                       "options:\n{}",
                       cli::describe_flags(flags));
            return cli::exit_ok;
        }
    }
    auto parsed = cli::args::parse(argc, argv, 1, flags);
    if (auto* error = std::get_if<std::string>(&parsed)) {
        fmt::print(stderr, "regledgerd: {}\n", *error);
        return cli::exit_usage;
    }
    const auto& a = std::get<cli::args>(parsed);
    if (!a.positional().empty()) {
        fmt::print(stderr, "regledgerd: unexpected argument '{}'\n", a.positional().front());
        return cli::exit_usage;
    }
    auto options = server::serve_options_from(a);
    if (auto* error = std::get_if<std::string>(&options)) {
        fmt::print(stderr, "regledgerd: {}\n", *error);
        return cli::exit_usage;
    }
    return server::serve(std::get<server::serve_options>(options));
}
