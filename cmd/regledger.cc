// regledger: the command-line tool for operators and auditors.
//   regledger SUBCOMMAND [options]      regledger SUBCOMMAND --help
// Exit codes: 0 ok, 1 rejected (or a verification found a problem), 2 usage,
// 3 unavailable.
#include <cstdio>
#include <string_view>
#include <variant>

#include <fmt/format.h>

#include "cmd/cli/subcommand.h"

namespace regledger::cli {

std::vector<subcommand> all_subcommands() {
    std::vector<subcommand> out;
    add_serve_subcommand(out);
    add_store_subcommands(out);
    add_client_subcommands(out);
    add_demo_subcommand(out);
    add_key_subcommands(out);
    add_archive_subcommands(out);
    return out;
}

namespace {

void print_overview(std::FILE* to, const std::vector<subcommand>& subs) {
    fmt::print(to, "regledger: public data resource registration ledger (公共数据资源登记)\n\n"
                   "usage: regledger SUBCOMMAND [options]   (regledger SUBCOMMAND --help for its options)\n\n"
                   "subcommands:\n");
    for (const auto& s : subs) fmt::print(to, "  {:<10} {}\n", s.name, s.summary);
    fmt::print(to, "\nexit codes: 0 ok, 1 rejected, 2 usage, 3 unavailable\n");
}

}  // namespace
}  // namespace regledger::cli

int main(int argc, char** argv) {
    using namespace regledger::cli;
    const auto subs = all_subcommands();
    if (argc < 2) {
        print_overview(stderr, subs);
        return exit_usage;
    }
    const std::string_view name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        print_overview(stdout, subs);
        return exit_ok;
    }
    for (const auto& s : subs) {
        if (s.name != name) continue;
        for (int i = 2; i < argc; ++i) {
            if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
                fmt::print("usage: {}\n\n{}\n\noptions:\n{}", s.usage, s.summary, describe_flags(s.flags));
                return exit_ok;
            }
        }
        auto parsed = args::parse(argc, argv, 2, s.flags);
        if (auto* error = std::get_if<std::string>(&parsed)) {
            fmt::print(stderr, "regledger {}: {}\nusage: {}\n", s.name, *error, s.usage);
            return exit_usage;
        }
        return s.run(std::get<args>(parsed));
    }
    fmt::print(stderr, "regledger: unknown subcommand '{}'\n\n", name);
    print_overview(stderr, subs);
    return exit_usage;
}
