#include "events/canonical.h"

#include <cassert>
#include <cstdlib>
#include <limits>
#include <memory>
#include <span>
#include <type_traits>

#include <openssl/evp.h>

#include "events/described.h"

namespace regledger::events {
namespace {

using detail::for_each_member;
using detail::is_described_struct_v;
using detail::is_named_type_v;
using detail::is_optional_v;
using detail::is_vector_v;

// Appends the canonical encoding of values to a byte vector (canonical.h).
class canonical_writer {
public:
    explicit canonical_writer(std::vector<std::uint8_t>& out) : out_(out) {}

    template <typename T>
    void write(const T& value) {
        if constexpr (std::is_same_v<T, bool>) {
            put_unsigned<std::uint8_t>(value ? 1 : 0);
        } else if constexpr (std::is_enum_v<T>) {
            static_assert(std::is_same_v<std::underlying_type_t<T>, std::uint8_t>, "enums encode as U8");
            put_unsigned<std::uint8_t>(static_cast<std::uint8_t>(value));
        } else if constexpr (std::is_integral_v<T>) {
            static_assert(sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8);
            put_unsigned(static_cast<std::make_unsigned_t<T>>(value));
        } else if constexpr (std::is_same_v<T, calendar_date>) {
            write(value.days_since_epoch());
        } else if constexpr (std::is_same_v<T, instant>) {
            write(value.unix_us());
        } else if constexpr (std::is_same_v<T, sha256_digest>) {
            out_.insert(out_.end(), value.begin(), value.end());
        } else if constexpr (std::is_same_v<T, std::string>) {
            write_string(value);
        } else if constexpr (is_named_type_v<T>) {
            write(value.value());
        } else if constexpr (is_optional_v<T>) {
            put_unsigned<std::uint8_t>(value ? 1 : 0);
            if (value) write(*value);
        } else if constexpr (is_vector_v<T>) {
            put_count(value.size());
            for (const auto& element : value) write(element);
        } else {
            static_assert(is_described_struct_v<T>, "a type without a canonical encoding");
            for_each_member<T>([&](auto d, std::size_t) { write(value.*d.pointer); });
        }
    }

    void write_string(std::string_view text) {
        put_count(text.size());
        out_.insert(out_.end(), text.begin(), text.end());
    }

private:
    template <typename U>
    void put_unsigned(U value) {
        static_assert(std::is_unsigned_v<U>);
        for (int shift = 8 * (static_cast<int>(sizeof(U)) - 1); shift >= 0; shift -= 8) {
            out_.push_back(static_cast<std::uint8_t>(value >> shift));
        }
    }

    void put_count(std::size_t n) {
        // A record is bounded far below 4 GiB (events/codec.h).
        assert(n <= std::numeric_limits<std::uint32_t>::max());
        put_unsigned(static_cast<std::uint32_t>(n));
    }

    std::vector<std::uint8_t>& out_;
};

// Whether the member descriptor D names the member P.
template <auto P, typename D>
constexpr bool names_member(D) {
    if constexpr (std::is_same_v<decltype(P), std::remove_cv_t<decltype(D::pointer)>>) {
        return D::pointer == P;
    } else {
        return false;
    }
}

}  // namespace

std::vector<std::uint8_t> canonical_bytes(const envelope& env, const event& e) {
    std::vector<std::uint8_t> out;
    out.reserve(512);
    canonical_writer w(out);
    w.write_string(record_hash_tag);
    for_each_member<envelope>([&](auto d, std::size_t) {
        if constexpr (!names_member<&envelope::hash>(d)) w.write(env.*d.pointer);
    });
    w.write(type_id_of(e));
    std::visit([&](const auto& payload) { w.write(payload); }, e);
    return out;
}

namespace {

// SHA-256 through libcrypto, which uses the CPU's SHA extensions where it has
// them (several times the portable engine/sha256 that the pure engine keeps).
// The algorithm is fetched once; each thread reuses one digest context.
sha256_digest sha256_of(std::span<const std::uint8_t> bytes) {
    static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    assert(algorithm != nullptr && "libcrypto has no SHA-256");
    thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                                       &EVP_MD_CTX_free);
    sha256_digest out;
    unsigned int size = 0;
    const bool ok = context != nullptr && EVP_DigestInit_ex(context.get(), algorithm, nullptr) == 1 &&
                    EVP_DigestUpdate(context.get(), bytes.data(), bytes.size()) == 1 &&
                    EVP_DigestFinal_ex(context.get(), out.data(), &size) == 1 && size == out.size();
    // A record without its hash cannot be written or checked: stop.
    if (!ok) std::abort();
    return out;
}

}  // namespace

digest compute_hash(const envelope& env, const event& e) { return digest(sha256_of(canonical_bytes(env, e))); }

bool hash_matches(const event_record& rec) { return compute_hash(rec.envelope, rec.event) == rec.envelope.hash; }

}  // namespace regledger::events
