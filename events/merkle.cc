#include "events/merkle.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include <openssl/evp.h>

namespace regledger::events::merkle {
namespace {

// RFC 6962 §2.1: the domain separation that keeps a leaf from passing for a
// node (second-preimage resistance).
constexpr std::uint8_t leaf_prefix = 0x00;
constexpr std::uint8_t node_prefix = 0x01;

// SHA-256 through libcrypto (the CPU's SHA extensions, as in canonical.cc).
// The algorithm is fetched once and each thread reuses one context, so a
// hash costs no provider lookup and no context of ours; the functions stay
// pure and callable from any thread. (OpenSSL 3.0 still frees and allocates
// its provider's small state at each EVP_DigestInit_ex: about 20 ns of the
// ~100 ns of a node hash, measured against the deprecated SHA256_Init.)
class digester {
public:
    digester() : context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {}

    // SHA-256(a || b).
    hash of(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept {
        hash out;
        unsigned int size = 0;
        const bool ok = context_ != nullptr && EVP_DigestInit_ex(context_.get(), algorithm(), nullptr) == 1 &&
                        EVP_DigestUpdate(context_.get(), a.data(), a.size()) == 1 &&
                        (b.empty() || EVP_DigestUpdate(context_.get(), b.data(), b.size()) == 1) &&
                        EVP_DigestFinal_ex(context_.get(), out.data(), &size) == 1 && size == out.size();
        // A tree whose hashes cannot be computed proves nothing: stop, as a
        // record without its hash does (canonical.cc).
        if (!ok) std::abort();
        return out;
    }

    static digester& for_this_thread() noexcept {
        thread_local digester d;
        return d;
    }

private:
    static const EVP_MD* algorithm() noexcept {
        static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        assert(md != nullptr && "libcrypto has no SHA-256");
        return md;
    }

    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

// k of MTH's split: the largest power of two smaller than n.
// REQUIRES: n >= 2.
std::uint64_t split_of(std::uint64_t n) noexcept {
    assert(n >= 2);
    return std::bit_floor(n - 1);
}

// A range of leaves [begin, end) whose MTH a proof needs.
struct leaf_range {
    std::uint64_t begin;
    std::uint64_t end;
};

// MTH(D[begin:end]) from stored nodes: a perfect, aligned range is one stored
// node; any other range is split as MTH splits it. Ranges that the descent
// from a root reaches are aligned (a left part [lo, lo+k) starts at a multiple
// of 2k, a right part at lo+k), so only the ragged right edge is hashed here,
// with at most one lookup per level.
result<hash> range_hash(leaf_range r, const node_source& nodes) {
    const std::uint64_t n = r.end - r.begin;
    assert(n >= 1);
    if (std::has_single_bit(n) && r.begin % n == 0) {
        const auto level = static_cast<unsigned>(std::countr_zero(n));
        auto stored = nodes(level, r.begin >> level);
        if (!stored) return failure(make_error_code(proof_errc::missing_node));
        return *stored;
    }
    const std::uint64_t k = split_of(n);
    BOOST_OUTCOME_TRY(const hash left, range_hash({r.begin, r.begin + k}, nodes));
    BOOST_OUTCOME_TRY(const hash right, range_hash({r.begin + k, r.end}, nodes));
    return node_hash(left, right);
}

// The MTHs of `ranges`, taken from the root down, in the order the RFC lists
// them: the deepest (leaf side) first.
result<std::vector<hash>> hashes_leaf_side_first(const std::vector<leaf_range>& ranges, const node_source& nodes) {
    std::vector<hash> out;
    out.reserve(ranges.size());
    for (auto it = ranges.rbegin(); it != ranges.rend(); ++it) {
        BOOST_OUTCOME_TRY(const hash h, range_hash(*it, nodes));
        out.push_back(h);
    }
    return out;
}

class proof_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "regledger.merkle"; }
    std::string message(int code) const override {
        switch (static_cast<proof_errc>(code)) {
            case proof_errc::out_of_range: return "leaf index or tree size out of range";
            case proof_errc::missing_node: return "a tree node the proof needs is not stored";
        }
        return "unknown merkle proof error";
    }
};

}  // namespace

const std::error_category& proof_category() noexcept {
    static const proof_category_impl category;
    return category;
}

hash leaf_hash(std::span<const std::uint8_t> leaf) noexcept {
    return digester::for_this_thread().of(std::span(&leaf_prefix, 1), leaf);
}

hash node_hash(const hash& left, const hash& right) noexcept {
    // One contiguous 65-byte input: a single update is cheaper than three.
    std::uint8_t input[1 + 2 * sizeof(hash)];
    input[0] = node_prefix;
    std::memcpy(input + 1, left.data(), left.size());
    std::memcpy(input + 1 + left.size(), right.data(), right.size());
    return digester::for_this_thread().of(input, {});
}

hash empty_root() noexcept { return digester::for_this_thread().of({}, {}); }

void frontier::append(const hash& leaf, const on_node& completed) {
    const std::uint64_t index = size_;
    assert(index < UINT64_MAX && "a frontier holds at most 2^64 - 1 leaves");
    if (completed) completed(0, index, leaf);
    // Each low 1 bit of the old size is a peak as tall as the subtree being
    // carried up: the new leaf closes it, as a carry ripples through a sum.
    hash carry = leaf;
    unsigned level = 0;
    for (std::uint64_t bits = index; (bits & 1) != 0; bits >>= 1) {
        carry = node_hash(peaks_.back(), carry);
        peaks_.pop_back();
        ++level;
        if (completed) completed(level, index >> level, carry);
    }
    peaks_.push_back(carry);
    size_ = index + 1;
}

hash frontier::root() const noexcept {
    if (peaks_.empty()) return empty_root();
    // MTH splits off the largest perfect subtree first, so the smaller peaks
    // fold together from the right.
    hash acc = peaks_.back();
    for (auto it = peaks_.rbegin() + 1; it != peaks_.rend(); ++it) acc = node_hash(*it, acc);
    return acc;
}

std::string frontier::serialize() const {
    std::string out;
    out.reserve(8 + peaks_.size() * sizeof(hash));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((size_ >> shift) & 0xff));
    for (const auto& peak : peaks_) out.append(reinterpret_cast<const char*>(peak.data()), peak.size());
    return out;
}

std::optional<frontier> frontier::parse(std::string_view bytes) {
    if (bytes.size() < 8) return std::nullopt;
    std::uint64_t size = 0;
    for (std::size_t i = 0; i < 8; ++i) size = (size << 8) | static_cast<std::uint8_t>(bytes[i]);
    const auto peak_count = static_cast<std::size_t>(std::popcount(size));
    if (bytes.size() != 8 + peak_count * sizeof(hash)) return std::nullopt;
    frontier f;
    f.size_ = size;
    f.peaks_.resize(peak_count);
    for (std::size_t i = 0; i < peak_count; ++i) {
        std::memcpy(f.peaks_[i].data(), bytes.data() + 8 + i * sizeof(hash), sizeof(hash));
    }
    return f;
}

result<hash> root_of(std::uint64_t size, const node_source& nodes) {
    if (size == 0) return empty_root();
    return range_hash({0, size}, nodes);
}

result<std::vector<hash>> inclusion_proof(std::uint64_t index, std::uint64_t size, const node_source& nodes) {
    if (index >= size) return failure(make_error_code(proof_errc::out_of_range));
    // PATH(m, D[n]) descends towards leaf m and lists, at each split, the MTH
    // of the other side; collected root first, listed leaf side first.
    std::vector<leaf_range> siblings;
    std::uint64_t lo = 0, hi = size;
    while (hi - lo > 1) {
        const std::uint64_t k = split_of(hi - lo);
        if (index < lo + k) {
            siblings.push_back({lo + k, hi});
            hi = lo + k;
        } else {
            siblings.push_back({lo, lo + k});
            lo += k;
        }
    }
    return hashes_leaf_side_first(siblings, nodes);
}

result<std::vector<hash>> consistency_proof(std::uint64_t first, std::uint64_t second, const node_source& nodes) {
    if (first == 0 || first > second) return failure(make_error_code(proof_errc::out_of_range));
    // SUBPROOF(m, D[n], b) descends towards the end of the first tree; where
    // it ends on a subtree of exactly m leaves, that subtree's MTH is listed
    // unless it is the first tree itself (b true: the verifier has it).
    std::vector<leaf_range> parts;
    std::uint64_t lo = 0, hi = second;
    bool whole_first_tree = true;
    while (true) {
        if (first == hi) {
            if (!whole_first_tree) parts.push_back({lo, hi});
            break;
        }
        const std::uint64_t k = split_of(hi - lo);
        if (first - lo <= k) {
            parts.push_back({lo + k, hi});
            hi = lo + k;
        } else {
            parts.push_back({lo, lo + k});
            lo += k;
            whole_first_tree = false;
        }
    }
    return hashes_leaf_side_first(parts, nodes);
}

bool verify_inclusion(std::uint64_t index, std::uint64_t size, const hash& leaf, std::span<const hash> proof,
                      const hash& root) noexcept {
    // RFC 9162 §2.1.3.2, step by step.
    if (index >= size) return false;
    std::uint64_t fn = index;
    std::uint64_t sn = size - 1;
    hash r = leaf;
    for (const hash& p : proof) {
        if (sn == 0) return false;
        if ((fn & 1) != 0 || fn == sn) {
            r = node_hash(p, r);
            if ((fn & 1) == 0) {
                while ((fn & 1) == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(r, p);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && r == root;
}

bool verify_consistency(std::uint64_t first, std::uint64_t second, const hash& first_root, const hash& second_root,
                        std::span<const hash> proof) noexcept {
    if (first == 0 || first > second) return false;
    if (first == second) return proof.empty() && first_root == second_root;
    // RFC 9162 §2.1.4.2, step by step; "prepend first_hash" (step 2) becomes
    // starting from it instead of from the proof's first element.
    if (proof.empty()) return false;
    std::size_t next = 0;
    hash fr, sr;
    if (std::has_single_bit(first)) {
        fr = sr = first_root;
    } else {
        fr = sr = proof[next++];
    }
    std::uint64_t fn = first - 1;
    std::uint64_t sn = second - 1;
    while ((fn & 1) != 0) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; next < proof.size(); ++next) {
        const hash& c = proof[next];
        if (sn == 0) return false;
        if ((fn & 1) != 0 || fn == sn) {
            fr = node_hash(c, fr);
            sr = node_hash(c, sr);
            if ((fn & 1) == 0) {
                while ((fn & 1) == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(sr, c);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return fr == first_root && sr == second_root && sn == 0;
}

}  // namespace regledger::events::merkle
