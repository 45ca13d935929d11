// flags: the command line every benchmark program takes, `--quick` and
// `--name value` pairs, read into a map for the program's own checks.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace regledger::bench {

struct flags {
    bool quick = false;
    // "registrations" -> "10000" for `--registrations 10000`.
    std::map<std::string, std::string> values;
    // The first argument that is neither, for the program's usage message.
    std::optional<std::string> unexpected;
};

inline flags read_flags(int argc, char** argv) {
    flags f;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--quick") {
            f.quick = true;
        } else if (arg.starts_with("--") && i + 1 < argc) {
            f.values[arg.substr(2)] = argv[++i];
        } else if (!f.unexpected) {
            f.unexpected = arg;
        }
    }
    return f;
}

}  // namespace regledger::bench
