// `regledger serve`: the server, as regledgerd.
#include <cstdio>
#include <variant>

#include <fmt/format.h>

#include "cmd/cli/subcommand.h"
#include "cmd/server/serve.h"

namespace regledger::cli {

void add_serve_subcommand(std::vector<subcommand>& out) {
    out.push_back({"serve", "regledger serve --config FILE [--listen HOST:PORT] [--data-dir DIR] [--clock manual --now T]",
                   "run the command API server (the same as regledgerd)", server::serve_flags(), [](const args& a) {
                       auto options = server::serve_options_from(a);
                       if (auto* error = std::get_if<std::string>(&options)) {
                           fmt::print(stderr, "regledger serve: {}\n", *error);
                           return static_cast<int>(exit_usage);
                       }
                       return server::serve(std::get<server::serve_options>(options));
                   }});
}

}  // namespace regledger::cli
