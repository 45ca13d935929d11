// Ed25519 keys and signatures for the ledger's checkpoints (OpenSSL's
// libcrypto), so that an auditor holding only the public key can tell a
// checkpoint the ledger signed from one made up afterwards.
//
// Files: the private key is PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"),
// created with mode 0600 and refused when group or others can read it; the
// public key is SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----"), so
// `openssl pkeyutl -verify -pubin -inkey ledger.pub -rawin` checks a
// signature without this program.
//
// Key id: the first 8 bytes of SHA-256 over the raw 32-byte public key, as 16
// lower-case hex digits. It names the key in every checkpoint.
//
// Thread-safety: a signing_key or verify_key is immutable after load; sign()
// and verify() may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "engine/result.h"

namespace regledger::events {

enum class signing_errc : int {
    // The file is missing or cannot be read or written.
    io = 1,
    // The file is not an Ed25519 key in the expected PEM form.
    bad_key = 2,
    // The private key file grants some permission to group or others.
    key_exposed = 3,
    // The file to create exists already (keygen never overwrites a key).
    exists = 4,
    // libcrypto failed.
    crypto = 5,
};
const std::error_category& signing_category() noexcept;
inline std::error_code make_error_code(signing_errc e) noexcept { return {static_cast<int>(e), signing_category()}; }

using ed25519_signature = std::array<std::uint8_t, 64>;
using ed25519_public = std::array<std::uint8_t, 32>;

class verify_key {
public:
    static result<verify_key> from_raw(const ed25519_public& raw);
    // A public key file (at most 64 KiB); io when it cannot be read, bad_key
    // when it is not an Ed25519 SubjectPublicKeyInfo PEM.
    static result<verify_key> load(const std::filesystem::path& pem_file);
    // The PEM text of a public key file.
    static result<verify_key> parse(std::string_view pem);

    const ed25519_public& raw() const noexcept { return raw_; }
    const std::string& id() const noexcept { return id_; }
    // The SubjectPublicKeyInfo PEM, as generate() writes it.
    std::string pem() const;
    // True when `signature` is this key's Ed25519 (RFC 8032, pure) signature
    // of `message`. False on any failure, including libcrypto's.
    bool verify(std::span<const std::uint8_t> message, const ed25519_signature& signature) const noexcept;

private:
    ed25519_public raw_{};
    std::string id_;
};

class signing_key {
public:
    // Writes a fresh key pair: `private_file` (0600) and `public_file`
    // (0644), each created exclusively and synced. Fails with `exists` when
    // either file exists, and then writes nothing; on any failure neither
    // file is left behind. The directory must exist.
    static result<void> generate(const std::filesystem::path& private_file, const std::filesystem::path& public_file);
    // Fails with key_exposed when the file's mode grants group or others any
    // permission (as ssh does), bad_key when it is not an unencrypted Ed25519
    // private key (at most 64 KiB), io when it cannot be opened or read.
    static result<signing_key> load(const std::filesystem::path& private_file);

    const verify_key& public_key() const noexcept { return public_; }
    const std::string& id() const noexcept { return public_.id(); }
    result<ed25519_signature> sign(std::span<const std::uint8_t> message) const;

    // Defined in signing.cc, where `impl` is complete.
    signing_key(signing_key&&) noexcept;
    signing_key& operator=(signing_key&&) noexcept;
    ~signing_key();

private:
    signing_key() = default;
    struct impl;
    std::unique_ptr<impl> impl_;
    verify_key public_;
};

// Lower-case hex of any bytes, and back (nullopt on odd length or non-hex).
std::string hex_of(std::span<const std::uint8_t> bytes);
std::optional<std::vector<std::uint8_t>> bytes_of_hex(std::string_view hex);

}  // namespace regledger::events

template <>
struct std::is_error_code_enum<regledger::events::signing_errc> : std::true_type {};
