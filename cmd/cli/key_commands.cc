// Subcommands on signing keys: keygen.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "cmd/cli/subcommand.h"
#include "events/signing.h"

namespace regledger::cli {
namespace {

namespace fs = std::filesystem;

// A file name stem, not a path: the key files must land in --out.
bool is_key_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name.front() == '.' || name.front() == '-') return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

// Creates `dir` (mode 0700, its missing parents as mkdir -p would) unless
// it is a directory already, whose mode is then left as it is.
std::error_code ensure_key_directory(const fs::path& dir) {
    std::error_code ec;
    if (fs::is_directory(dir, ec)) return {};
    if (dir.has_parent_path() && dir.parent_path() != dir) {
        fs::create_directories(dir.parent_path(), ec);
        if (ec) return ec;
    }
    if (::mkdir(dir.c_str(), S_IRWXU) != 0 && errno != EEXIST) return {errno, std::generic_category()};
    if (!fs::is_directory(dir, ec)) return ec ? ec : std::make_error_code(std::errc::not_a_directory);
    return {};
}

int run_keygen(const args& a) {
    const auto out = a.get("out");
    if (!out || out->empty()) {
        fmt::print(stderr, "regledger keygen: --out is required\n");
        return exit_usage;
    }
    const std::string name = a.get_or("name", "ledger");
    if (!is_key_name(name)) {
        fmt::print(stderr,
                   "regledger keygen: --name '{}' must be 1 to 64 letters, digits, '.', '_' or '-', "
                   "not starting with '.' or '-'\n",
                   name);
        return exit_usage;
    }
    if (!a.positional().empty()) {
        fmt::print(stderr, "regledger keygen: unexpected argument '{}'\n", a.positional().front());
        return exit_usage;
    }

    fs::path dir = *out;
    // "keys/" is the directory "keys" (else its parent would be made instead,
    // with the umask's mode rather than 0700).
    if (!dir.has_filename() && dir.has_relative_path()) dir = dir.parent_path();
    if (const auto ec = ensure_key_directory(dir)) {
        fmt::print(stderr, "regledger keygen: cannot create directory {}: {}\n", dir.string(), ec.message());
        return exit_rejected;
    }
    const fs::path private_file = dir / (name + ".key");
    const fs::path public_file = dir / (name + ".pub");
    // Named here, since generate() only says that one of the two exists.
    for (const auto& file : {private_file, public_file}) {
        std::error_code ec;
        if (fs::exists(fs::symlink_status(file, ec))) {
            fmt::print(stderr, "regledger keygen: {} exists; keygen never overwrites a key (move it away or choose "
                               "another --name)\n",
                       file.string());
            return exit_rejected;
        }
    }
    if (auto generated = events::signing_key::generate(private_file, public_file); !generated) {
        fmt::print(stderr, "regledger keygen: writing {} and {}: {}\n", private_file.string(), public_file.string(),
                   generated.error().message());
        return exit_rejected;
    }
    // Read back as regledgerd will, which also proves the pair usable.
    const auto key = events::signing_key::load(private_file);
    if (!key) {
        fmt::print(stderr, "regledger keygen: reading back {}: {}\n", private_file.string(), key.error().message());
        return exit_rejected;
    }
    fmt::print("key id {}\n", key.value().id());
    fmt::print("private key {} (mode 0600)\n", private_file.string());
    fmt::print("public key  {}\n", public_file.string());
    fmt::print("regledgerd signs with the private key (--signing-key {}); auditors need only the .pub\n",
               private_file.string());
    return exit_ok;
}

}  // namespace

void add_key_subcommands(std::vector<subcommand>& out) {
    out.push_back({"keygen", "regledger keygen --out DIR [--name NAME]",
                   "write a new Ed25519 checkpoint signing key pair, DIR/NAME.key (0600) and DIR/NAME.pub",
                   {{"out", true, "the directory for the key files (required; created with mode 0700 if missing)"},
                    {"name", true, "the files' name without extension (default ledger)"}},
                   run_keygen});
}

}  // namespace regledger::cli
