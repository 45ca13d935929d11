// `regledger keygen`: a key pair with the right modes, never overwritten,
// and usage errors for what is missing. No server is needed.
#include <doctest/doctest.h>

#include "events/signing.h"
#include "tests/cli/cli_harness.h"

namespace regledger::cli_test {
namespace {

bool contains(const std::string& text, std::string_view what) { return text.find(what) != std::string::npos; }

fs::perms mode_of(const fs::path& p) { return fs::status(p).permissions() & fs::perms::mask; }

constexpr auto owner_rw = fs::perms::owner_read | fs::perms::owner_write;
constexpr auto world_readable = owner_rw | fs::perms::group_read | fs::perms::others_read;

TEST_CASE("regledger keygen: writes NAME.key (0600) and NAME.pub (0644) into a new 0700 directory and names the key") {
    temp_dir tmp;
    const auto dir = tmp.path() / "keys";
    const auto r = run_cli({"keygen", "--out", dir.string()});
    INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(mode_of(dir) == fs::perms::owner_all);
    const auto private_file = dir / "ledger.key";
    const auto public_file = dir / "ledger.pub";
    REQUIRE(fs::is_regular_file(private_file));
    REQUIRE(fs::is_regular_file(public_file));
    CHECK(mode_of(private_file) == owner_rw);
    CHECK(mode_of(public_file) == world_readable);

    // What it prints: the key id (as the library computes it), both paths
    // and where each file goes.
    const auto key = events::signing_key::load(private_file);
    REQUIRE(key.has_value());
    CHECK(contains(r.out, "key id " + key.value().id() + "\n"));
    CHECK(contains(r.out, private_file.string()));
    CHECK(contains(r.out, public_file.string()));
    CHECK(contains(r.out, "--signing-key"));
    CHECK(contains(r.out, ".pub"));
    CHECK(events::verify_key::load(public_file).value().id() == key.value().id());
}

TEST_CASE("regledger keygen: --name names the files, in a directory that exists already") {
    temp_dir tmp;
    const auto r = run_cli({"keygen", "--out", tmp.path().string(), "--name", "ledger-2026"});
    INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(mode_of(tmp.path() / "ledger-2026.key") == owner_rw);
    CHECK(mode_of(tmp.path() / "ledger-2026.pub") == world_readable);
    CHECK_FALSE(fs::exists(tmp.path() / "ledger.key"));
}

TEST_CASE("regledger keygen: a second run exits 1, names the file, and leaves both files unchanged") {
    temp_dir tmp;
    const auto dir = tmp.path() / "keys";
    REQUIRE(run_cli({"keygen", "--out", dir.string()}).exit_code == 0);
    const auto private_before = read_file(dir / "ledger.key");
    const auto public_before = read_file(dir / "ledger.pub");

    const auto again = run_cli({"keygen", "--out", dir.string()});
    CHECK(again.exit_code == 1);
    CHECK_MESSAGE(contains(again.err, (dir / "ledger.key").string()), again.err);
    CHECK(read_file(dir / "ledger.key") == private_before);
    CHECK(read_file(dir / "ledger.pub") == public_before);
    CHECK(mode_of(dir / "ledger.key") == owner_rw);

    SUBCASE("only the public file is left: still refused, naming it, and no private key is written") {
        fs::remove(dir / "ledger.key");
        const auto r = run_cli({"keygen", "--out", dir.string()});
        CHECK(r.exit_code == 1);
        CHECK_MESSAGE(contains(r.err, (dir / "ledger.pub").string()), r.err);
        CHECK_FALSE(fs::exists(dir / "ledger.key"));
        CHECK(read_file(dir / "ledger.pub") == public_before);
    }
}

TEST_CASE("regledger keygen: usage errors exit 2 and write nothing") {
    temp_dir tmp;
    SUBCASE("without --out") {
        const auto r = run_cli({"keygen"});
        CHECK(r.exit_code == 2);
        CHECK_MESSAGE(contains(r.err, "--out"), r.err);
    }
    SUBCASE("--out without its value") { CHECK(run_cli({"keygen", "--out"}).exit_code == 2); }
    SUBCASE("a --name that is a path") {
        const auto r = run_cli({"keygen", "--out", tmp.path().string(), "--name", "../escape"});
        CHECK(r.exit_code == 2);
        CHECK_FALSE(fs::exists(tmp.path().parent_path() / "escape.key"));
    }
    SUBCASE("an unknown option") { CHECK(run_cli({"keygen", "--out", tmp.path().string(), "--force"}).exit_code == 2); }
    CHECK(fs::is_empty(tmp.path()));
}

TEST_CASE("regledger keygen: --help prints the usage and the flags, and regledger --help lists keygen") {
    const auto help = run_cli({"keygen", "--help"});
    CHECK(help.exit_code == 0);
    CHECK(contains(help.out, "usage: regledger keygen --out DIR [--name NAME]"));
    CHECK(contains(help.out, "--out"));
    CHECK(contains(help.out, "--name"));
    const auto overview = run_cli({"--help"});
    CHECK(overview.exit_code == 0);
    CHECK(contains(overview.out, "keygen"));
}

}  // namespace
}  // namespace regledger::cli_test
