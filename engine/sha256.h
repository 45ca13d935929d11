// SHA-256 (FIPS 180-4), in portable C++ so the pure engine can fingerprint
// its own data (the calendar's version is the SHA-256 of its file).
//
// Thread-safety: a sha256 object is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "engine/ids.h"

namespace regledger {

class sha256 {
public:
    sha256() noexcept;
    void update(std::span<const std::uint8_t> bytes) noexcept;
    void update(std::string_view text) noexcept;
    // REQUIRES: called once; the object is spent afterwards.
    sha256_digest finish() noexcept;

    static sha256_digest of(std::string_view text) noexcept;
    static sha256_digest of(std::span<const std::uint8_t> bytes) noexcept;

private:
    void compress(const std::uint8_t* block) noexcept;

    std::uint32_t state_[8];
    std::uint8_t buffer_[64];
    std::size_t buffered_ = 0;
    std::uint64_t total_bytes_ = 0;
};

// Lower-case hex, 64 characters.
std::string to_hex(const sha256_digest& d);
// Parses 64 hex digits (either case); nullopt on anything else.
std::optional<sha256_digest> digest_from_hex(std::string_view hex);

}  // namespace regledger
