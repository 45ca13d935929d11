// A Merkle tree over the log, in log order, hashed as RFC 6962 / RFC 9162
// (Certificate Transparency) define it, so that an auditor can check proofs
// with any implementation of those RFCs:
//
//   leaf hash   = SHA-256(0x00 || leaf bytes)        (the record's stored bytes)
//   node hash   = SHA-256(0x01 || left || right)
//   MTH({})     = SHA-256("")
//   MTH(D[n])   = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n
//
// Leaf i is the i-th record of a partition (0-based, counting records, not
// Kafka offsets, which have gaps where commit markers sit). A node is named
// (level, index): the subtree of the 2^level leaves starting at index·2^level;
// level 0 is the leaf hash. A node exists once its last leaf is appended and
// never changes afterwards, so it can be stored and looked up by a proof.
//
// Thread-safety: the functions are pure; a frontier is used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "engine/ids.h"
#include "engine/result.h"

namespace regledger::events::merkle {

using hash = sha256_digest;

hash leaf_hash(std::span<const std::uint8_t> leaf) noexcept;
hash node_hash(const hash& left, const hash& right) noexcept;
// MTH of the empty tree: SHA-256 of no bytes.
hash empty_root() noexcept;

// The right edge of a tree of `size()` leaves: the roots of its perfect
// subtrees, largest (leftmost) first, one per bit set in size(). Enough to
// append a leaf and to compute the root, in O(log n) space.
class frontier {
public:
    frontier() = default;

    std::uint64_t size() const noexcept { return size_; }
    const std::vector<hash>& peaks() const noexcept { return peaks_; }

    // Called for each node the append completes: (0, size) for the leaf
    // itself, then each parent it closes, lowest level first.
    using on_node = std::function<void(unsigned level, std::uint64_t index, const hash&)>;
    // Appends a leaf hash (leaf_hash of the record's bytes).
    void append(const hash& leaf, const on_node& completed = {});
    // MTH of the tree so far (empty_root() when size() is 0).
    hash root() const noexcept;

    // Stable binary form: U64 size (big-endian) || each peak (32 bytes).
    std::string serialize() const;
    // nullopt when the bytes are not a frontier (wrong length for the size).
    static std::optional<frontier> parse(std::string_view bytes);

    friend bool operator==(const frontier&, const frontier&) = default;

private:
    std::uint64_t size_ = 0;
    std::vector<hash> peaks_;
};

// Looks up a stored node (a perfect subtree: level, index); nullopt when
// the store does not have it (the error the proof then returns).
using node_source = std::function<std::optional<hash>(unsigned level, std::uint64_t index)>;

enum class proof_errc : int {
    // index >= size, first > second, size 0, ...
    out_of_range = 1,
    // node_source lacked a node the proof needs.
    missing_node = 2,
};
const std::error_category& proof_category() noexcept;
inline std::error_code make_error_code(proof_errc e) noexcept { return {static_cast<int>(e), proof_category()}; }

// root_of and the proofs look up only perfect subtrees that lie wholly within
// the first `size` (`second`) leaves and hash a ragged right edge from them,
// so the nodes on_node reported up to that size are enough.

// MTH of the first `size` leaves, from stored nodes (O(log n) lookups);
// empty_root() when size is 0.
result<hash> root_of(std::uint64_t size, const node_source& nodes);
// RFC 9162 §2.1.3.1: the audit path of leaf `index` in the tree of `size`
// leaves, leaf-side first. REQUIRES (else out_of_range): index < size.
result<std::vector<hash>> inclusion_proof(std::uint64_t index, std::uint64_t size, const node_source& nodes);
// RFC 9162 §2.1.4.1: the proof that the tree of `first` leaves is a prefix
// of the tree of `second`. REQUIRES (else out_of_range): 0 < first <= second.
// Empty when first == second.
result<std::vector<hash>> consistency_proof(std::uint64_t first, std::uint64_t second, const node_source& nodes);

// RFC 9162 §2.1.3.2. `leaf` is the leaf's hash (leaf_hash), not its bytes.
bool verify_inclusion(std::uint64_t index, std::uint64_t size, const hash& leaf, std::span<const hash> proof,
                      const hash& root) noexcept;
// RFC 9162 §2.1.4.2, which covers 0 < first < second. first == second holds
// when the proof is empty and the roots are equal (what consistency_proof
// gives); first == 0 or first > second never holds.
bool verify_consistency(std::uint64_t first, std::uint64_t second, const hash& first_root, const hash& second_root,
                        std::span<const hash> proof) noexcept;

}  // namespace regledger::events::merkle

template <>
struct std::is_error_code_enum<regledger::events::merkle::proof_errc> : std::true_type {};
