// Bad bytes: whatever arrives from the network or a damaged disk, decode()
// returns a codec error or a record, never crashes, and never reads outside
// the buffer (these tests run under AddressSanitizer and UBSan in CI).
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <vector>

#include "events/canonical.h"
#include "events/codec.h"
#include "tests/events/samples.h"

using namespace regledger;
using namespace regledger::events;

namespace {

using bytes = std::vector<std::uint8_t>;

std::vector<event_record> all_samples() {
    std::vector<event_record> out;
    for (event_type_id id = 1; id <= event_type_count; ++id) {
        if (auto rec = samples::full_record(id)) out.push_back(*rec);
        out.push_back(samples::minimal_record(id));
    }
    return out;
}

// Either a codec error, or a record that is internally consistent enough to
// encode again.
void check_outcome(std::span<const std::uint8_t> b, std::size_t& failures, std::size_t& successes) {
    const auto r = decode(b);
    if (r.has_error()) {
        CHECK(r.error().category() == codec_category());
        ++failures;
    } else {
        CHECK(!encode(r.value()).empty());
        ++successes;
    }
    (void)peek_type(b);
}

}  // namespace

TEST_CASE("random bytes decode to an error or a record, never a crash") {
    std::size_t failures = 0, successes = 0;
    for (std::uint64_t seed = 0; seed < 2000; ++seed) {
        std::mt19937_64 rng(seed);
        bytes b(rng() % 1024);
        for (auto& x : b) x = static_cast<std::uint8_t>(rng());
        // Two in three get the file identifier, and one in three also a root
        // offset inside the buffer, so that the verifier does the refusing.
        if (seed % 3 != 0 && b.size() >= 8) std::memcpy(b.data() + 4, "RLEV", 4);
        if (seed % 3 == 2 && b.size() >= 16) {
            const auto root = static_cast<std::uint32_t>(8 + (rng() % (b.size() - 8)) / 4 * 4);
            std::memcpy(b.data(), &root, sizeof root);
        }
        CAPTURE(seed);
        check_outcome(b, failures, successes);
    }
    CHECK(failures > 0);
    MESSAGE("random inputs: ", failures, " refused, ", successes, " decoded");
}

TEST_CASE("every truncation of a valid record is refused or decodes to the same record") {
    // The tail of a buffer may be alignment padding; cutting it loses nothing.
    for (const auto& rec : all_samples()) {
        CAPTURE(type_name_of(rec.event));
        const bytes good = encode(rec);
        std::size_t refused = 0;
        for (std::size_t n = 0; n < good.size(); ++n) {
            const auto r = decode(std::span(good).first(n));
            if (r.has_error()) {
                CHECK(r.error().category() == codec_category());
                ++refused;
            } else {
                CHECK(r.value() == rec);
            }
        }
        CHECK(refused + 8 > good.size());
    }
}

TEST_CASE("a flipped byte is refused by the codec or caught by the hash") {
    std::size_t refused = 0, caught = 0, harmless = 0;
    for (const auto& rec : all_samples()) {
        CAPTURE(type_name_of(rec.event));
        const bytes good = encode(rec);
        for (std::size_t i = 0; i < good.size(); ++i) {
            for (const std::uint8_t mask : {0x01, 0x80, 0xff}) {
                bytes bad = good;
                bad[i] ^= mask;
                const auto r = decode(bad);
                if (r.has_error()) {
                    CHECK(r.error().category() == codec_category());
                    ++refused;
                } else if (r.value() == rec) {
                    ++harmless;  // padding, or a bool byte that stays non-zero
                } else {
                    CAPTURE(i);
                    CHECK_FALSE(hash_matches(r.value()));
                    ++caught;
                }
            }
        }
    }
    CHECK(refused > 0);
    CHECK(caught > 0);
    MESSAGE("single-byte corruptions: ", refused, " refused, ", caught, " caught by the hash, ", harmless,
            " without effect");
}

TEST_CASE("several random corruptions of valid records never crash") {
    const auto records = all_samples();
    std::size_t failures = 0, successes = 0;
    for (std::uint64_t seed = 0; seed < 2000; ++seed) {
        std::mt19937_64 rng(seed);
        bytes b = encode(records[rng() % records.size()]);
        const auto flips = 1 + rng() % 8;
        for (std::uint64_t k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
        CAPTURE(seed);
        check_outcome(b, failures, successes);
    }
    CHECK(failures > 0);
}
