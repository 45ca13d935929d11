#include "cmd/cli/args.h"

#include <variant>

#include <fmt/format.h>

namespace regledger::cli {

std::variant<args, std::string> args::parse(int argc, char** argv, int first, const std::vector<flag_spec>& specs) {
    args out;
    for (int i = first; i < argc; ++i) {
        const std::string_view word = argv[i];
        if (!word.starts_with("--") || word == "--") {
            out.positional_.emplace_back(word);
            continue;
        }
        std::string name(word.substr(2));
        std::optional<std::string> inline_value;
        if (const auto eq = name.find('='); eq != std::string::npos) {
            inline_value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        const flag_spec* spec = nullptr;
        for (const auto& s : specs) {
            if (s.name == name) spec = &s;
        }
        if (spec == nullptr) return fmt::format("unknown option --{}", name);
        if (!spec->takes_value) {
            if (inline_value) return fmt::format("--{} takes no value", name);
            out.values_[name] = "";
            continue;
        }
        if (inline_value) {
            out.values_[name] = *inline_value;
        } else if (i + 1 < argc) {
            out.values_[name] = argv[++i];
        } else {
            return fmt::format("--{} needs a value", name);
        }
    }
    return out;
}

std::optional<std::string> args::get(std::string_view name) const {
    const auto it = values_.find(std::string(name));
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

std::string args::get_or(std::string_view name, std::string fallback) const {
    return get(name).value_or(std::move(fallback));
}

std::string describe_flags(const std::vector<flag_spec>& specs) {
    std::string out;
    for (const auto& s : specs) {
        const std::string left = s.takes_value ? fmt::format("--{} VALUE", s.name) : fmt::format("--{}", s.name);
        out += fmt::format("  {:<24} {}\n", left, s.help);
    }
    return out;
}

}  // namespace regledger::cli
