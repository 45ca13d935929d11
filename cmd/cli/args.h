// args: the command line of `regledger SUBCOMMAND [--flag value | --switch |
// positional]...`. Flags are declared by each subcommand; an unknown flag, a
// flag without its value or a missing required one is a usage error (exit 2)
// with a message naming it.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace regledger::cli {

struct flag_spec {
    std::string name;  // without the leading "--"
    bool takes_value = true;
    std::string help;
};

class args {
public:
    // Parses argv[first..]; returns a message on a usage error.
    static std::variant<args, std::string> parse(int argc, char** argv, int first, const std::vector<flag_spec>& specs);

    bool has(std::string_view name) const { return values_.contains(std::string(name)); }
    std::optional<std::string> get(std::string_view name) const;
    std::string get_or(std::string_view name, std::string fallback) const;
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
};

// "  --data-dir DIR   the data directory" lines for --help.
std::string describe_flags(const std::vector<flag_spec>& specs);

// The exit codes of every regledger program.
enum exit_code : int { exit_ok = 0, exit_rejected = 1, exit_usage = 2, exit_unavailable = 3 };

}  // namespace regledger::cli
