// events/signing.h: Ed25519 key files, signatures and key ids, including the
// auditor's path of the header (the openssl command verifies our signatures
// without this program) when that command is installed.
#include <doctest/doctest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "engine/sha256.h"
#include "events/signing.h"
#include "tests/temp_dir.h"

using namespace regledger;
using namespace regledger::events;

namespace {

namespace fs = std::filesystem;

using testing::temp_dir;

std::string read_text(const fs::path& p) { return testing::read_file(p); }

// Writes `text` to `p` with exactly `mode`.
void write_text(const fs::path& p, std::string_view text,
                fs::perms mode = fs::perms::owner_read | fs::perms::owner_write) {
    {
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out << text;
    }
    fs::permissions(p, mode, fs::perm_options::replace);
}

fs::perms mode_of(const fs::path& p) { return fs::status(p).permissions() & fs::perms::mask; }

std::vector<std::uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

// The error of a failed result, for a message (doctest also builds the
// message of an assertion that holds, under --success).
template <typename R>
std::string why(const R& r) {
    return r.has_value() ? std::string() : r.error().message();
}

// The error of a result, or none: a test that expects a failure then fails,
// rather than aborting, when there is none.
template <typename R>
std::error_code error_of(const R& r) {
    return r.has_value() ? std::error_code() : r.error();
}

// A key pair generated in `dir` as NAME.key and NAME.pub.
struct key_files {
    fs::path private_file;
    fs::path public_file;
};
key_files generated(const temp_dir& dir, std::string_view name = "ledger") {
    key_files k{dir / (std::string(name) + ".key"), dir / (std::string(name) + ".pub")};
    const auto r = signing_key::generate(k.private_file, k.public_file);
    REQUIRE_MESSAGE(r.has_value(), why(r));
    return k;
}

signing_key loaded(const fs::path& private_file) {
    auto r = signing_key::load(private_file);
    REQUIRE_MESSAGE(r.has_value(), why(r));
    return std::move(r).value();
}

// The PEM of a key that is not Ed25519, made by libcrypto: PKCS#8
// unencrypted, or encrypted when `passphrase` is given.
struct pkey_free {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct bio_free {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

std::string pem_of(EVP_PKEY* key, bool public_only = false, const char* passphrase = nullptr) {
    REQUIRE(key != nullptr);
    const std::unique_ptr<BIO, bio_free> bio(BIO_new(BIO_s_mem()));
    int ok = 0;
    if (public_only) {
        ok = PEM_write_bio_PUBKEY(bio.get(), key);
    } else if (passphrase != nullptr) {
        ok = PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), passphrase,
                                           static_cast<int>(std::string_view(passphrase).size()), nullptr, nullptr);
    } else {
        ok = PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    }
    REQUIRE(ok == 1);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

// A fixed EC P-256 key (PKCS#8), as `openssl genpkey -algorithm EC
// -pkeyopt ec_paramgen_curve:P-256` writes one.
constexpr std::string_view ec_p256_pem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMT+ZPknAioYOvYCn
/ek6SnEtbuxw0Usul8H3X89Gy+OhRANCAATi9JCTehwMJEgXvE30En6PkCkGFo5b
T7lkGmqG9cNPwCZPI+RXhcB1V4lifeh8EeI7PbVTdqjS7fdYN1pjckPB
-----END PRIVATE KEY-----
)";

// The `openssl` program on $PATH, if any.
std::optional<fs::path> openssl_program() {
    const char* path = std::getenv("PATH");
    std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
    while (!dirs.empty()) {
        const auto colon = dirs.find(':');
        const fs::path candidate = fs::path(dirs.substr(0, colon)) / "openssl";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        if (colon == std::string_view::npos) break;
        dirs.remove_prefix(colon + 1);
    }
    return std::nullopt;
}

// Runs `program args...` with its output discarded; its exit status.
int run_quietly(const fs::path& program, const std::vector<std::string>& args) {
    // Single-quoted for the shell; the paths are our temporary ones.
    std::string command = "'" + program.string() + "'";
    for (const auto& a : args) command += " '" + a + "'";
    command += " >/dev/null 2>&1";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Sets the process umask for a scope.
class scoped_umask {
public:
    explicit scoped_umask(mode_t mask) : previous_(::umask(mask)) {}
    ~scoped_umask() { ::umask(previous_); }
    scoped_umask(const scoped_umask&) = delete;
    scoped_umask& operator=(const scoped_umask&) = delete;

private:
    mode_t previous_;
};

TEST_CASE("Signing (Ed25519): a generated key loads, signs, and its public key file verifies the signature") {
    temp_dir dir;
    const auto files = generated(dir);
    const auto key = loaded(files.private_file);
    const auto pub = verify_key::load(files.public_file);
    REQUIRE(pub.has_value());
    CHECK(pub.value().raw() == key.public_key().raw());
    CHECK(pub.value().id() == key.id());

    for (const std::string_view text : {"checkpoint 0/1234 root 9f86d081884c7d65", ""}) {
        CAPTURE(text);
        const auto message = bytes_of(text);
        const auto signature = key.sign(message);
        REQUIRE(signature.has_value());
        CHECK(pub.value().verify(message, signature.value()));
        CHECK(key.public_key().verify(message, signature.value()));
        // Ed25519 is deterministic: the same message, the same signature.
        CHECK(key.sign(message).value() == signature.value());
    }
}

TEST_CASE("Signing (Ed25519): a changed bit in the message or in the signature fails verification") {
    temp_dir dir;
    const auto key = loaded(generated(dir).private_file);
    const auto message = bytes_of("partition 0 size 42 root 2cf24dba5fb0a30e");
    const auto signature = key.sign(message).value();
    REQUIRE(key.public_key().verify(message, signature));

    SUBCASE("every bit of the message") {
        for (std::size_t bit = 0; bit < message.size() * 8; ++bit) {
            auto changed = message;
            changed[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            CHECK_MESSAGE(!key.public_key().verify(changed, signature), "bit ", bit);
        }
    }
    SUBCASE("a byte more or less") {
        auto longer = message;
        longer.push_back(0);
        CHECK_FALSE(key.public_key().verify(longer, signature));
        auto shorter = message;
        shorter.pop_back();
        CHECK_FALSE(key.public_key().verify(shorter, signature));
    }
    SUBCASE("every bit of the signature") {
        for (std::size_t bit = 0; bit < signature.size() * 8; ++bit) {
            auto changed = signature;
            changed[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            CHECK_MESSAGE(!key.public_key().verify(message, changed), "bit ", bit);
        }
    }
    SUBCASE("an all-zero signature") { CHECK_FALSE(key.public_key().verify(message, ed25519_signature{})); }
}

TEST_CASE("Signing (Ed25519): another key's signature does not verify") {
    temp_dir dir;
    const auto a = loaded(generated(dir, "a").private_file);
    const auto b = loaded(generated(dir, "b").private_file);
    CHECK(a.id() != b.id());
    CHECK(a.public_key().raw() != b.public_key().raw());
    const auto message = bytes_of("the same message");
    const auto by_b = b.sign(message).value();
    CHECK(b.public_key().verify(message, by_b));
    CHECK_FALSE(a.public_key().verify(message, by_b));
    CHECK_FALSE(b.public_key().verify(message, a.sign(message).value()));
}

TEST_CASE("Signing (Ed25519): the key id is SHA-256 of the raw public key, first 8 bytes, 16 lower-case hex digits") {
    temp_dir dir;
    const auto files = generated(dir);
    const auto key = loaded(files.private_file);
    const std::string& id = key.id();
    REQUIRE(id.size() == 16);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    // The engine's own SHA-256, not libcrypto's.
    CHECK(id == to_hex(sha256::of(std::span<const std::uint8_t>(key.public_key().raw()))).substr(0, 16));

    // Stable: the same from the key file again, the public file, the raw
    // bytes and the PEM text.
    CHECK(loaded(files.private_file).id() == id);
    CHECK(verify_key::load(files.public_file).value().id() == id);
    CHECK(verify_key::from_raw(key.public_key().raw()).value().id() == id);
    CHECK(verify_key::parse(key.public_key().pem()).value().id() == id);
}

TEST_CASE("Signing (Ed25519): the key id of a fixed public key (RFC 8032 test 1)") {
    // RFC 8032 section 7.1, TEST 1: its public key and the signature of the
    // empty message, so the format is pinned and not only self-consistent.
    const auto raw_bytes = bytes_of_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").value();
    ed25519_public raw{};
    std::copy(raw_bytes.begin(), raw_bytes.end(), raw.begin());
    const auto key = verify_key::from_raw(raw);
    REQUIRE(key.has_value());
    CHECK(key.value().id() == to_hex(sha256::of(std::span<const std::uint8_t>(raw))).substr(0, 16));
    const auto signature_bytes = bytes_of_hex(
                                     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                                     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
                                     .value();
    ed25519_signature signature{};
    std::copy(signature_bytes.begin(), signature_bytes.end(), signature.begin());
    CHECK(key.value().verify({}, signature));
    CHECK_FALSE(key.value().verify(bytes_of("x"), signature));
}

TEST_CASE("Signing (Ed25519): the private key file is created 0600 and the public one 0644, whatever the umask") {
    temp_dir dir;
    const auto owner_rw = fs::perms::owner_read | fs::perms::owner_write;
    const auto world_readable = owner_rw | fs::perms::group_read | fs::perms::others_read;
    for (const mode_t mask : {mode_t{022}, mode_t{0}, mode_t{077}}) {
        CAPTURE(mask);
        const scoped_umask scoped(mask);
        const auto files = generated(dir, "umask" + std::to_string(mask));
        CHECK(mode_of(files.private_file) == owner_rw);
        CHECK(mode_of(files.public_file) == world_readable);
        // The forms the header documents.
        CHECK(read_text(files.private_file).starts_with("-----BEGIN PRIVATE KEY-----\n"));
        CHECK(read_text(files.public_file).starts_with("-----BEGIN PUBLIC KEY-----\n"));
    }
}

TEST_CASE("Signing (Ed25519): a private key file that group or others may use is refused (key_exposed)") {
    temp_dir dir;
    const auto files = generated(dir);
    using fs::perms;
    for (const perms extra : {perms::group_read, perms::others_read, perms::group_write, perms::others_write,
                              perms::group_exec, perms::others_exec, perms::group_read | perms::others_read}) {
        CAPTURE(static_cast<int>(extra));
        fs::permissions(files.private_file, perms::owner_read | perms::owner_write | extra, fs::perm_options::replace);
        const auto r = signing_key::load(files.private_file);
        REQUIRE_FALSE(r.has_value());
        CHECK(error_of(r) == signing_errc::key_exposed);
    }
    // Read-only for the owner is fine.
    fs::permissions(files.private_file, perms::owner_read, fs::perm_options::replace);
    CHECK(signing_key::load(files.private_file).has_value());
}

TEST_CASE("Signing (Ed25519): generate never overwrites a key file (exists) and then writes nothing") {
    temp_dir dir;
    SUBCASE("both files exist") {
        const auto files = generated(dir);
        const auto private_before = read_text(files.private_file);
        const auto public_before = read_text(files.public_file);
        const auto again = signing_key::generate(files.private_file, files.public_file);
        REQUIRE_FALSE(again.has_value());
        CHECK(error_of(again) == signing_errc::exists);
        CHECK(read_text(files.private_file) == private_before);
        CHECK(read_text(files.public_file) == public_before);
    }
    SUBCASE("only the public file exists") {
        write_text(dir / "ledger.pub", "someone else's\n");
        const auto r = signing_key::generate(dir / "ledger.key", dir / "ledger.pub");
        REQUIRE_FALSE(r.has_value());
        CHECK(error_of(r) == signing_errc::exists);
        CHECK_FALSE(fs::exists(dir / "ledger.key"));
        CHECK(read_text(dir / "ledger.pub") == "someone else's\n");
    }
    SUBCASE("a dangling symbolic link where the private key would go") {
        fs::create_symlink(dir / "elsewhere", dir / "ledger.key");
        const auto r = signing_key::generate(dir / "ledger.key", dir / "ledger.pub");
        REQUIRE_FALSE(r.has_value());
        CHECK(error_of(r) == signing_errc::exists);
        CHECK_FALSE(fs::exists(dir / "elsewhere"));
        CHECK_FALSE(fs::exists(dir / "ledger.pub"));
    }
    SUBCASE("a directory that does not exist is io, with nothing written") {
        const auto r = signing_key::generate(dir / "missing" / "ledger.key", dir / "missing" / "ledger.pub");
        REQUIRE_FALSE(r.has_value());
        CHECK(error_of(r) == signing_errc::io);
    }
}

TEST_CASE("Signing (Ed25519): anything but an unencrypted Ed25519 private key is refused (bad_key)") {
    temp_dir dir;
    const auto file = dir / "ledger.key";
    std::string text;
    SUBCASE("garbage") { text = "not a key at all\n"; }
    SUBCASE("an empty file") { text = ""; }
    SUBCASE("a fixed EC P-256 key") {
        text = std::string(ec_p256_pem);
        // libcrypto reads it: it is refused for what it is, not for damage.
        const std::unique_ptr<BIO, bio_free> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
        const pkey_ptr ec(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
        REQUIRE(ec != nullptr);
        CHECK(EVP_PKEY_is_a(ec.get(), "EC"));
    }
    SUBCASE("an RSA key") {
        const pkey_ptr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)));
        text = pem_of(rsa.get());
        REQUIRE(text.starts_with("-----BEGIN PRIVATE KEY-----"));
    }
    SUBCASE("an X25519 key (32 raw bytes too, but for key agreement)") {
        const pkey_ptr x(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
        text = pem_of(x.get());
    }
    SUBCASE("an Ed448 key") {
        const pkey_ptr x(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"));
        text = pem_of(x.get());
    }
    SUBCASE("an Ed25519 public key where the private one belongs") {
        const auto files = generated(dir, "other");
        text = read_text(files.public_file);
    }
    SUBCASE("an encrypted Ed25519 key (refused, never a passphrase prompt)") {
        const pkey_ptr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
        text = pem_of(ed.get(), false, "secret");
        REQUIRE(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    }
    SUBCASE("a valid key after more than 64 KiB of padding") {
        const auto files = generated(dir, "other");
        text = std::string(70 * 1024, '#') + "\n" + read_text(files.private_file);
    }
    write_text(file, text);
    const auto r = signing_key::load(file);
    REQUIRE_FALSE(r.has_value());
    CHECK(error_of(r) == signing_errc::bad_key);
}

TEST_CASE("Signing (Ed25519): an Ed25519 key made by libcrypto directly (PKCS#8, as openssl genpkey writes) loads") {
    temp_dir dir;
    const pkey_ptr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    write_text(dir / "ledger.key", pem_of(ed.get()));
    const auto key = loaded(dir / "ledger.key");
    const auto pub = verify_key::parse(pem_of(ed.get(), true));
    REQUIRE(pub.has_value());
    CHECK(pub.value().raw() == key.public_key().raw());
}

TEST_CASE("Signing (Ed25519): a missing or unreadable key file is io") {
    temp_dir dir;
    CHECK(error_of(signing_key::load(dir / "missing.key")) == signing_errc::io);
    CHECK(error_of(verify_key::load(dir / "missing.pub")) == signing_errc::io);
    // A directory is not a key file.
    fs::create_directory(dir / "d");
    fs::permissions(dir / "d", fs::perms::owner_all, fs::perm_options::replace);
    CHECK(error_of(signing_key::load(dir / "d")) == signing_errc::bad_key);
}

TEST_CASE("Signing (Ed25519): the public PEM parses back to the same key, and other public keys are bad_key") {
    temp_dir dir;
    const auto files = generated(dir);
    const auto key = loaded(files.private_file);
    const auto text = read_text(files.public_file);

    const auto parsed = verify_key::parse(text);
    REQUIRE(parsed.has_value());
    CHECK(parsed.value().raw() == key.public_key().raw());
    CHECK(parsed.value().id() == key.id());
    // pem() writes what generate() wrote.
    CHECK(parsed.value().pem() == text);
    CHECK(key.public_key().pem() == text);

    SUBCASE("garbage") {
        const auto r = verify_key::parse("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
        CHECK(error_of(r) == signing_errc::bad_key);
    }
    SUBCASE("empty") { CHECK(error_of(verify_key::parse("")) == signing_errc::bad_key); }
    SUBCASE("an EC P-256 public key") {
        const pkey_ptr ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
        CHECK(error_of(verify_key::parse(pem_of(ec.get(), true))) == signing_errc::bad_key);
    }
    SUBCASE("an X25519 public key") {
        const pkey_ptr x(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
        CHECK(error_of(verify_key::parse(pem_of(x.get(), true))) == signing_errc::bad_key);
    }
    SUBCASE("the private key file's text") {
        CHECK(error_of(verify_key::parse(read_text(files.private_file))) == signing_errc::bad_key);
    }
}

TEST_CASE("Signing (Ed25519): the openssl command verifies our signatures, and we verify its") {
    const auto openssl = openssl_program();
    if (!openssl) {
        MESSAGE("skipped: no `openssl` program on PATH (Debian package openssl)");
        return;
    }
    temp_dir dir;
    const auto files = generated(dir);
    const auto key = loaded(files.private_file);
    const std::string text = "checkpoint partition 0 size 1000 root 5feceb66ffc86f38d952786c6d696c79";
    const auto signature = key.sign(bytes_of(text)).value();
    write_text(dir / "msg", text);
    write_text(dir / "sig", std::string(signature.begin(), signature.end()));
    write_text(dir / "tampered", text + ".");

    const auto verify_with_openssl = [&](const fs::path& message) {
        return run_quietly(*openssl, {"pkeyutl", "-verify", "-pubin", "-inkey", files.public_file.string(), "-rawin",
                                      "-in", message.string(), "-sigfile", (dir / "sig").string()});
    };
    CHECK(verify_with_openssl(dir / "msg") == 0);
    CHECK(verify_with_openssl(dir / "tampered") != 0);

    // The other way: the openssl command's key and signature, checked here.
    REQUIRE(run_quietly(*openssl, {"genpkey", "-algorithm", "ed25519", "-out", (dir / "theirs.key").string()}) == 0);
    fs::permissions(dir / "theirs.key", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    REQUIRE(run_quietly(*openssl, {"pkeyutl", "-sign", "-inkey", (dir / "theirs.key").string(), "-rawin", "-in",
                                   (dir / "msg").string(), "-out", (dir / "theirs.sig").string()}) == 0);
    const auto theirs = loaded(dir / "theirs.key");
    const auto their_signature = read_text(dir / "theirs.sig");
    REQUIRE(their_signature.size() == 64);
    ed25519_signature s{};
    std::copy(their_signature.begin(), their_signature.end(), s.begin());
    CHECK(theirs.public_key().verify(bytes_of(text), s));
    CHECK_FALSE(theirs.public_key().verify(bytes_of(text + "."), s));
    // Deterministic, so both programs sign alike.
    CHECK(theirs.sign(bytes_of(text)).value() == s);
}

TEST_CASE("Signing (Ed25519): hex_of and bytes_of_hex round-trip, and odd or non-hex input is refused") {
    const std::vector<std::uint8_t> bytes{0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    CHECK(hex_of(bytes) == "00017f80abff");
    CHECK(bytes_of_hex("00017f80abff") == bytes);
    CHECK(bytes_of_hex("00017F80ABFF") == bytes);
    CHECK(hex_of({}) == "");
    CHECK(bytes_of_hex("") == std::vector<std::uint8_t>{});
    CHECK_FALSE(bytes_of_hex("abc").has_value());
    CHECK_FALSE(bytes_of_hex("zz").has_value());
    CHECK_FALSE(bytes_of_hex("0g").has_value());
    CHECK_FALSE(bytes_of_hex(" 0").has_value());
}

TEST_CASE("Signing (Ed25519): every error has its own message in category regledger.signing") {
    CHECK(std::string(signing_category().name()) == "regledger.signing");
    std::vector<std::string> messages;
    for (const auto e : {signing_errc::io, signing_errc::bad_key, signing_errc::key_exposed, signing_errc::exists,
                         signing_errc::crypto}) {
        const std::error_code ec = e;
        CHECK(ec.category() == signing_category());
        messages.push_back(ec.message());
    }
    for (std::size_t i = 0; i < messages.size(); ++i) {
        CHECK_FALSE(messages[i].empty());
        for (std::size_t j = i + 1; j < messages.size(); ++j) CHECK(messages[i] != messages[j]);
    }
}

}  // namespace
