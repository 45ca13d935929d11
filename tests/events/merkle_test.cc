// events/merkle against an independent reference written here from the text
// of RFC 9162 (§2.1.1 MTH, §2.1.3.1 PATH, §2.1.4.1 PROOF/SUBPROOF, and the
// verification algorithms of §2.1.3.2 and §2.1.4.2), hashed with the engine's
// portable SHA-256 (engine/sha256.h) rather than libcrypto, so that neither
// the hash nor the tree logic is shared with the module under test.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/sha256.h"
#include "events/merkle.h"

using namespace regledger;
namespace merkle = regledger::events::merkle;
using merkle::hash;

namespace {

using bytes = std::vector<std::uint8_t>;

// ---- The reference: RFC 9162 read literally, slow on purpose. -------------

namespace ref {

hash leaf(const bytes& d) {
    sha256 h;
    const std::uint8_t prefix[1] = {0x00};
    h.update(std::span<const std::uint8_t>(prefix));
    h.update(std::span<const std::uint8_t>(d));
    return h.finish();
}

hash node(const hash& left, const hash& right) {
    sha256 h;
    const std::uint8_t prefix[1] = {0x01};
    h.update(std::span<const std::uint8_t>(prefix));
    h.update(std::span<const std::uint8_t>(left));
    h.update(std::span<const std::uint8_t>(right));
    return h.finish();
}

// "k be the largest power of two smaller than n", counted up, not by bit tricks.
std::size_t largest_power_of_two_below(std::size_t n) {
    std::size_t k = 1;
    while (k * 2 < n) k *= 2;
    return k;
}

// MTH(D[lo:hi]).
hash mth(const std::vector<bytes>& d, std::size_t lo, std::size_t hi) {
    const std::size_t n = hi - lo;
    if (n == 0) return sha256::of(std::string_view());
    if (n == 1) return leaf(d[lo]);
    const std::size_t k = largest_power_of_two_below(n);
    return node(mth(d, lo, lo + k), mth(d, lo + k, hi));
}

// PATH(m, D[lo:hi]), m counted from lo.
std::vector<hash> path(std::size_t m, const std::vector<bytes>& d, std::size_t lo, std::size_t hi) {
    const std::size_t n = hi - lo;
    if (n == 1) return {};
    const std::size_t k = largest_power_of_two_below(n);
    std::vector<hash> out;
    if (m < k) {
        out = path(m, d, lo, lo + k);
        out.push_back(mth(d, lo + k, hi));
    } else {
        out = path(m - k, d, lo + k, hi);
        out.push_back(mth(d, lo, lo + k));
    }
    return out;
}

// SUBPROOF(m, D[lo:hi], b), m counted from lo.
std::vector<hash> subproof(std::size_t m, const std::vector<bytes>& d, std::size_t lo, std::size_t hi, bool b) {
    const std::size_t n = hi - lo;
    if (m == n) {
        if (b) return {};
        return {mth(d, lo, hi)};
    }
    const std::size_t k = largest_power_of_two_below(n);
    std::vector<hash> out;
    if (m <= k) {
        out = subproof(m, d, lo, lo + k, b);
        out.push_back(mth(d, lo + k, hi));
    } else {
        out = subproof(m - k, d, lo + k, hi, false);
        out.push_back(mth(d, lo, lo + k));
    }
    return out;
}

// PROOF(m, D[n]).
std::vector<hash> proof(std::size_t m, const std::vector<bytes>& d, std::size_t n) {
    return subproof(m, d, 0, n, true);
}

bool lsb(std::uint64_t x) { return (x & 1) == 1; }

// §2.1.3.2, numbered as in the RFC.
bool verify_inclusion(std::uint64_t leaf_index, std::uint64_t tree_size, const hash& leaf_hash,
                      const std::vector<hash>& inclusion_path, const hash& root_hash) {
    // 1.
    if (leaf_index >= tree_size) return false;
    // 2.
    std::uint64_t fn = leaf_index;
    std::uint64_t sn = tree_size - 1;
    // 3.
    hash r = leaf_hash;
    // 4.
    for (const hash& p : inclusion_path) {
        // a.
        if (sn == 0) return false;
        // b.
        if (lsb(fn) || fn == sn) {
            r = node(p, r);
            if (!lsb(fn)) {
                do {
                    fn >>= 1;
                    sn >>= 1;
                } while (!lsb(fn) && fn != 0);
            }
        } else {
            r = node(r, p);
        }
        // c.
        fn >>= 1;
        sn >>= 1;
    }
    // 5.
    return sn == 0 && r == root_hash;
}

// §2.1.4.2, numbered as in the RFC; for 0 < first < second only.
bool verify_consistency(std::uint64_t first, std::uint64_t second, const hash& first_hash, const hash& second_hash,
                        std::vector<hash> consistency_path) {
    REQUIRE(0 < first);
    REQUIRE(first < second);
    // 1.
    if (consistency_path.empty()) return false;
    // 2.
    bool power_of_two = false;
    for (std::uint64_t p = 1; p != 0 && p <= first; p <<= 1) power_of_two = power_of_two || p == first;
    if (power_of_two) consistency_path.insert(consistency_path.begin(), first_hash);
    // 3.
    std::uint64_t fn = first - 1;
    std::uint64_t sn = second - 1;
    // 4.
    while (lsb(fn)) {
        fn >>= 1;
        sn >>= 1;
    }
    // 5.
    hash fr = consistency_path[0];
    hash sr = consistency_path[0];
    // 6.
    for (std::size_t i = 1; i < consistency_path.size(); ++i) {
        const hash& c = consistency_path[i];
        // a.
        if (sn == 0) return false;
        // b.
        if (lsb(fn) || fn == sn) {
            fr = node(c, fr);
            sr = node(c, sr);
            if (!lsb(fn)) {
                do {
                    fn >>= 1;
                    sn >>= 1;
                } while (!lsb(fn) && fn != 0);
            }
        } else {
            sr = node(sr, c);
        }
        // c.
        fn >>= 1;
        sn >>= 1;
    }
    // 7.
    return fr == first_hash && sr == second_hash && sn == 0;
}

}  // namespace ref

// ---- Fixtures. ------------------------------------------------------------

// Leaf i: varied lengths (0 for leaf 0, past one and two SHA-256 blocks for
// others) and contents, so that no two leaves are equal.
std::vector<bytes> make_leaves(std::size_t n) {
    std::vector<bytes> out;
    std::uint64_t x = 0x9e3779b97f4a7c15u;
    for (std::size_t i = 0; i < n; ++i) {
        bytes leaf((i * 37) % 150);
        for (auto& b : leaf) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            b = static_cast<std::uint8_t>(x >> 56);
        }
        leaf.push_back(static_cast<std::uint8_t>(i));
        leaf.push_back(static_cast<std::uint8_t>(i >> 8));
        if (i == 0) leaf.clear();
        out.push_back(std::move(leaf));
    }
    return out;
}

std::size_t bits_set(std::uint64_t x) {
    std::size_t bits = 0;
    for (; x != 0; x >>= 1) bits += x & 1;
    return bits;
}

std::span<const std::uint8_t> as_span(const bytes& b) { return {b.data(), b.size()}; }

bytes from_hex(std::string_view hex) {
    bytes out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

hash hash_from_hex(std::string_view hex) { return digest_from_hex(hex).value(); }

// A log of leaves fed through a frontier, keeping every node on_node reports
// (checked as it arrives) and the frontier after each append.
struct tree_fixture {
    std::vector<bytes> leaves;
    std::vector<merkle::frontier> frontiers;  // frontiers[n]: after n appends
    std::map<std::pair<unsigned, std::uint64_t>, hash> nodes;
    mutable std::map<std::size_t, hash> roots;

    explicit tree_fixture(std::size_t n) : leaves(make_leaves(n)) {
        merkle::frontier f;
        frontiers.push_back(f);
        for (std::size_t i = 0; i < n; ++i) {
            std::vector<std::pair<unsigned, std::uint64_t>> reported;
            f.append(merkle::leaf_hash(as_span(leaves[i])), [&](unsigned level, std::uint64_t index, const hash& h) {
                reported.emplace_back(level, index);
                // Completed by this append: its last leaf is leaf i.
                CHECK(((index + 1) << level) == i + 1);
                const bool fresh = nodes.emplace(std::pair(level, index), h).second;
                CHECK(fresh);
            });
            // The leaf first, then each parent it closes, lowest level first.
            std::size_t closes = 0;
            for (std::size_t bits = i; (bits & 1) != 0; bits >>= 1) ++closes;
            REQUIRE(reported.size() == 1 + closes);
            for (std::size_t l = 0; l < reported.size(); ++l) CHECK(reported[l].first == l);
            frontiers.push_back(f);
        }
    }

    std::size_t size() const { return leaves.size(); }
    hash leaf(std::size_t i) const { return ref::leaf(leaves[i]); }
    // MTH(D[0:n]), kept: the checks ask for the same few roots many times.
    hash root(std::size_t n) const {
        auto it = roots.find(n);
        if (it == roots.end()) it = roots.emplace(n, ref::mth(leaves, 0, n)).first;
        return it->second;
    }

    // The nodes of the tree of the first `size` leaves only, as a store
    // holding exactly what was appended up to that size would answer.
    merkle::node_source source(std::uint64_t size, std::size_t* lookups = nullptr) const {
        return [this, size, lookups](unsigned level, std::uint64_t index) -> std::optional<hash> {
            if (lookups != nullptr) ++*lookups;
            if (level >= 64 || ((index + 1) << level) > size) return std::nullopt;
            const auto it = nodes.find({level, index});
            if (it == nodes.end()) return std::nullopt;
            return it->second;
        };
    }
};

hash flipped(hash h, std::size_t bit) {
    h[(bit / 8) % h.size()] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    return h;
}

// Every way of spoiling `proof` by one flipped bit, one element too many, or
// one too few.
std::vector<std::vector<hash>> spoiled(const std::vector<hash>& proof) {
    std::vector<std::vector<hash>> out;
    for (std::size_t i = 0; i < proof.size(); ++i) {
        auto p = proof;
        p[i] = flipped(p[i], i * 37 + 5);
        out.push_back(std::move(p));
    }
    const hash extra = sha256::of(std::string_view("not a node"));
    auto longer = proof;
    longer.push_back(extra);
    out.push_back(longer);
    longer = proof;
    longer.insert(longer.begin(), extra);
    out.push_back(longer);
    if (!proof.empty()) {
        out.emplace_back(proof.begin(), proof.end() - 1);
        out.emplace_back(proof.begin() + 1, proof.end());
    }
    return out;
}

// `thorough`: also compare with PATH (slow: it rehashes the whole tree) and
// try the spoiled variants; else only both verifiers.
void check_inclusion(const tree_fixture& t, std::uint64_t i, std::uint64_t n, bool thorough) {
    CAPTURE(i);
    CAPTURE(n);
    const auto got = merkle::inclusion_proof(i, n, t.source(n));
    REQUIRE(got.has_value());
    const auto& proof = got.value();
    const hash leaf = t.leaf(i);
    const hash root = t.root(n);
    CHECK(merkle::verify_inclusion(i, n, leaf, proof, root));
    CHECK(ref::verify_inclusion(i, n, leaf, proof, root));
    if (!thorough) return;
    CHECK(proof == ref::path(i, t.leaves, 0, n));

    for (const auto& bad : spoiled(proof)) {
        CHECK_FALSE(merkle::verify_inclusion(i, n, leaf, bad, root));
        CHECK_FALSE(ref::verify_inclusion(i, n, leaf, bad, root));
    }
    CHECK_FALSE(merkle::verify_inclusion(i, n, flipped(leaf, 200), proof, root));
    CHECK_FALSE(merkle::verify_inclusion(i, n, leaf, proof, flipped(root, 3)));
    if (n > 1) {
        CHECK_FALSE(merkle::verify_inclusion(i, n, leaf, proof, t.root(n - 1)));
        // Another leaf's position.
        for (const std::uint64_t j : {(i + 1) % n, i ^ 1, n - 1 - i}) {
            if (j == i || j >= n) continue;
            CHECK_FALSE(merkle::verify_inclusion(j, n, leaf, proof, root));
            CHECK_FALSE(ref::verify_inclusion(j, n, leaf, proof, root));
        }
    }
    CHECK_FALSE(merkle::verify_inclusion(n, n, leaf, proof, root));
    // Another size: the proof cannot show the leaf in the tree of that size
    // (against that tree's root) unless that tree's path is the same hashes.
    // (Against this tree's root the RFC's algorithm may accept a size with
    // the same shape; a checkpoint binds the size to its root, so only the
    // agreement of the two implementations is checked there.)
    for (const std::uint64_t other : {n - 1, n + 1}) {
        if (other <= i || other > t.size()) continue;
        const bool same_path = ref::path(i, t.leaves, 0, other) == proof;
        CHECK(merkle::verify_inclusion(i, other, leaf, proof, t.root(other)) == same_path);
        CHECK(merkle::verify_inclusion(i, other, leaf, proof, root) ==
              ref::verify_inclusion(i, other, leaf, proof, root));
    }
}

void check_consistency(const tree_fixture& t, std::uint64_t m, std::uint64_t n, bool check_spoiled) {
    CAPTURE(m);
    CAPTURE(n);
    const auto got = merkle::consistency_proof(m, n, t.source(n));
    REQUIRE(got.has_value());
    const auto& proof = got.value();
    CHECK(proof == ref::proof(m, t.leaves, n));
    const hash first_root = t.root(m);
    const hash second_root = t.root(n);
    CHECK(merkle::verify_consistency(m, n, first_root, second_root, proof));
    if (m < n) CHECK(ref::verify_consistency(m, n, first_root, second_root, proof));
    if (!check_spoiled) return;

    for (const auto& bad : spoiled(proof)) {
        CHECK_FALSE(merkle::verify_consistency(m, n, first_root, second_root, bad));
        if (m < n) CHECK_FALSE(ref::verify_consistency(m, n, first_root, second_root, bad));
    }
    CHECK_FALSE(merkle::verify_consistency(m, n, flipped(first_root, 77), second_root, proof));
    CHECK_FALSE(merkle::verify_consistency(m, n, first_root, flipped(second_root, 78), proof));
    if (m > 1) CHECK_FALSE(merkle::verify_consistency(m, n, t.root(m - 1), second_root, proof));
    if (n > m) CHECK_FALSE(merkle::verify_consistency(m, n, first_root, t.root(n - 1), proof));
    CHECK_FALSE(merkle::verify_consistency(n, m == n ? n - 1 : m, second_root, first_root, proof));
    // Other sizes, against the roots of those sizes: only the same hashes
    // could prove them, and the RFC's proof for a pair is unique.
    const std::pair<std::uint64_t, std::uint64_t> others[] = {{m - 1, n}, {m + 1, n}, {m, n - 1}, {m, n + 1}};
    for (const auto& [a, b] : others) {
        if (a == 0 || a > b || b > t.size() || (a == m && b == n)) continue;
        const bool same_proof = ref::proof(a, t.leaves, b) == proof;
        CHECK(merkle::verify_consistency(a, b, t.root(a), t.root(b), proof) == same_proof);
        if (a < b) {
            CHECK(ref::verify_consistency(a, b, t.root(a), t.root(b), proof) == same_proof);
            // Against this pair's roots, as for inclusion: the two agree.
            CHECK(merkle::verify_consistency(a, b, first_root, second_root, proof) ==
                  ref::verify_consistency(a, b, first_root, second_root, proof));
        }
    }
}

}  // namespace

// ---- The cases. -----------------------------------------------------------

TEST_CASE("Merkle (RFC 9162): known answers of RFC 6962 and Certificate Transparency") {
    CHECK(to_hex(merkle::empty_root()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(to_hex(merkle::leaf_hash({})) == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    CHECK(merkle::frontier().root() == merkle::empty_root());
    CHECK(ref::mth({}, 0, 0) == merkle::empty_root());

    // The eight leaves of the CT test suite and the roots of their prefixes.
    const std::vector<bytes> leaves = {
        from_hex(""),         from_hex("00"),       from_hex("10"),
        from_hex("2021"),     from_hex("3031"),     from_hex("40414243"),
        from_hex("5051525354555657"), from_hex("606162636465666768696a6b6c6d6e6f"),
    };
    const char* const roots[] = {
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    };
    merkle::frontier f;
    std::map<std::pair<unsigned, std::uint64_t>, hash> nodes;
    for (std::size_t i = 0; i < leaves.size(); ++i) {
        f.append(merkle::leaf_hash(as_span(leaves[i])),
                 [&](unsigned level, std::uint64_t index, const hash& h) { nodes[{level, index}] = h; });
        CHECK(to_hex(f.root()) == roots[i]);
        CHECK(to_hex(ref::mth(leaves, 0, i + 1)) == roots[i]);
    }
    const merkle::node_source source = [&](unsigned level, std::uint64_t index) -> std::optional<hash> {
        const auto it = nodes.find({level, index});
        if (it == nodes.end()) return std::nullopt;
        return it->second;
    };
    const auto hashes = [](std::initializer_list<const char*> hex) {
        std::vector<hash> out;
        for (const char* h : hex) out.push_back(hash_from_hex(h));
        return out;
    };

    SUBCASE("inclusion of leaves 0 and 5 in the tree of 8") {
        const auto proof0 = hashes({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"});
        const auto proof5 = hashes({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"});
        CHECK(merkle::inclusion_proof(0, 8, source).value() == proof0);
        CHECK(merkle::inclusion_proof(5, 8, source).value() == proof5);
        CHECK(ref::path(0, leaves, 0, 8) == proof0);
        CHECK(ref::path(5, leaves, 0, 8) == proof5);
        CHECK(merkle::verify_inclusion(5, 8, ref::leaf(leaves[5]), proof5, hash_from_hex(roots[7])));
    }
    SUBCASE("consistency of 2 and 6 with 8") {
        const auto proof2 = hashes({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"});
        const auto proof6 = hashes({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"});
        CHECK(merkle::consistency_proof(2, 8, source).value() == proof2);
        CHECK(merkle::consistency_proof(6, 8, source).value() == proof6);
        CHECK(ref::proof(2, leaves, 8) == proof2);
        CHECK(ref::proof(6, leaves, 8) == proof6);
        CHECK(merkle::verify_consistency(6, 8, hash_from_hex(roots[5]), hash_from_hex(roots[7]), proof6));
    }
}

TEST_CASE("Merkle (RFC 9162): leaf and node hashes are SHA-256 with the 0x00 and 0x01 prefixes") {
    // Lengths around the SHA-256 block and padding boundaries, and a record's.
    for (const std::size_t length : {0u, 1u, 54u, 55u, 56u, 63u, 64u, 65u, 119u, 120u, 128u, 600u, 4096u}) {
        CAPTURE(length);
        bytes leaf(length);
        for (std::size_t i = 0; i < length; ++i) leaf[i] = static_cast<std::uint8_t>(i * 131 + 7);
        CHECK(merkle::leaf_hash(as_span(leaf)) == ref::leaf(leaf));
    }
    const hash a = sha256::of(std::string_view("a"));
    const hash b = sha256::of(std::string_view("b"));
    CHECK(merkle::node_hash(a, b) == ref::node(a, b));
    CHECK(merkle::node_hash(b, a) == ref::node(b, a));
    CHECK(merkle::node_hash(a, b) != merkle::node_hash(b, a));
    // A leaf of 64 bytes that spells two hashes is not their node.
    bytes two(a.begin(), a.end());
    two.insert(two.end(), b.begin(), b.end());
    CHECK(merkle::leaf_hash(as_span(two)) != merkle::node_hash(a, b));
}

TEST_CASE("Merkle (RFC 9162): the hashes are the same from several threads") {
    const auto leaves = make_leaves(200);
    std::vector<hash> expected;
    for (const auto& l : leaves) expected.push_back(ref::leaf(l));
    std::vector<std::vector<hash>> got(4);
    std::vector<std::thread> threads;
    for (auto& out : got) {
        threads.emplace_back([&leaves, &out] {
            for (int round = 0; round < 20; ++round) {
                out.clear();
                for (const auto& l : leaves) out.push_back(merkle::leaf_hash(as_span(l)));
            }
        });
    }
    for (auto& t : threads) t.join();
    for (const auto& out : got) CHECK(out == expected);
}

TEST_CASE("Merkle (RFC 9162): the frontier and every node it reports agree with MTH") {
    const tree_fixture t(1025);
    // Every perfect subtree wholly inside the log was reported, and no other.
    std::size_t expected_nodes = 0;
    for (unsigned level = 0; (std::size_t{1} << level) <= t.size(); ++level) expected_nodes += t.size() >> level;
    CHECK(t.nodes.size() == expected_nodes);
    for (const auto& [key, h] : t.nodes) {
        const auto [level, index] = key;
        CAPTURE(level);
        CAPTURE(index);
        CHECK(h == ref::mth(t.leaves, index << level, (index + 1) << level));
    }
    for (std::size_t n = 0; n <= t.size(); ++n) {
        if (n > 70 && n != 1000 && n != 1024 && n != 1025) continue;
        CAPTURE(n);
        const auto& f = t.frontiers[n];
        CHECK(f.size() == n);
        CHECK(f.root() == t.root(n));
        // One peak per bit of n, largest first, each the MTH of its range.
        std::size_t begin = 0;
        std::size_t peak = 0;
        for (int bit = 63; bit >= 0; --bit) {
            const std::size_t width = std::size_t{1} << bit;
            if ((n & width) == 0) continue;
            REQUIRE(peak < f.peaks().size());
            CHECK(f.peaks()[peak] == ref::mth(t.leaves, begin, begin + width));
            begin += width;
            ++peak;
        }
        CHECK(peak == f.peaks().size());
    }
}

TEST_CASE("Merkle (RFC 9162): root_of from stored nodes equals MTH, with one lookup per peak") {
    const tree_fixture t(1025);
    for (std::size_t n = 0; n <= t.size(); ++n) {
        if (n > 70 && n != 1000 && n != 1024 && n != 1025) continue;
        CAPTURE(n);
        std::size_t lookups = 0;
        const auto root = merkle::root_of(n, t.source(n, &lookups));
        REQUIRE(root.has_value());
        CHECK(root.value() == t.root(n));
        CHECK(root.value() == t.frontiers[n].root());
        CHECK(lookups == bits_set(n));
    }
}

TEST_CASE("Merkle (RFC 9162): inclusion proofs are PATH and verify, and spoiled ones do not") {
    SUBCASE("every leaf of every size up to 70") {
        const tree_fixture t(71);
        for (std::uint64_t n = 1; n <= 70; ++n) {
            for (std::uint64_t i = 0; i < n; ++i) check_inclusion(t, i, n, true);
        }
    }
    SUBCASE("every leaf of 1000 and 1025 leaves, PATH for a sample") {
        const tree_fixture t(1025);
        for (const std::uint64_t n : {1000u, 1025u}) {
            // PATH for a sample: it rehashes the tree for each leaf.
            for (std::uint64_t i = 0; i < n; ++i) check_inclusion(t, i, n, i % 31 == 0 || i + 2 >= n);
        }
    }
}

TEST_CASE("Merkle (RFC 9162): consistency proofs are PROOF and verify, and spoiled ones do not") {
    SUBCASE("every pair up to 40") {
        const tree_fixture t(41);
        for (std::uint64_t n = 1; n <= 40; ++n) {
            for (std::uint64_t m = 1; m <= n; ++m) check_consistency(t, m, n, true);
        }
    }
    SUBCASE("sampled pairs up to 1025") {
        const tree_fixture t(1025);
        const std::uint64_t firsts[] = {1, 2, 3, 7, 8, 9, 41, 63, 64, 65, 500, 511, 512, 513, 999, 1000, 1023, 1024};
        for (const std::uint64_t n : {64u, 100u, 513u, 1000u, 1024u, 1025u}) {
            for (const std::uint64_t m : firsts) {
                if (m <= n) check_consistency(t, m, n, true);
            }
        }
        std::uint64_t x = 12345;
        for (int k = 0; k < 300; ++k) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            const std::uint64_t n = 41 + (x >> 33) % (t.size() - 40);
            const std::uint64_t m = 1 + (x >> 13) % n;
            check_consistency(t, m, n, false);
        }
    }
    SUBCASE("equal sizes: an empty proof and the same root") {
        const tree_fixture t(10);
        const hash root = t.root(10);
        CHECK(merkle::verify_consistency(10, 10, root, root, {}));
        CHECK_FALSE(merkle::verify_consistency(10, 10, root, t.root(9), {}));
        const std::vector<hash> one = {root};
        CHECK_FALSE(merkle::verify_consistency(10, 10, root, root, one));
    }
}

TEST_CASE("Merkle (RFC 9162): a missing node is an error, not a wrong proof") {
    const tree_fixture t(70);
    const merkle::node_source nothing = [](unsigned, std::uint64_t) -> std::optional<hash> { return std::nullopt; };

    SUBCASE("an empty store") {
        CHECK(merkle::root_of(0, nothing).value() == merkle::empty_root());
        const auto root = merkle::root_of(5, nothing);
        REQUIRE(root.has_error());
        CHECK(root.error() == merkle::proof_errc::missing_node);
        CHECK(root.error().category() == merkle::proof_category());
        CHECK_FALSE(root.error().message().empty());
        CHECK(merkle::inclusion_proof(2, 5, nothing).error() == merkle::proof_errc::missing_node);
        CHECK(merkle::consistency_proof(3, 5, nothing).error() == merkle::proof_errc::missing_node);
        // Proofs that need no node.
        CHECK(merkle::inclusion_proof(0, 1, nothing).value().empty());
        CHECK(merkle::consistency_proof(5, 5, nothing).value().empty());
    }
    SUBCASE("each stored node in turn: the proofs that need it fail, the others are unchanged") {
        std::vector<std::vector<hash>> proofs;
        for (std::uint64_t i = 0; i < 70; ++i) proofs.push_back(merkle::inclusion_proof(i, 70, t.source(70)).value());
        std::vector<std::vector<hash>> consistency;
        for (std::uint64_t m = 1; m <= 70; ++m) {
            consistency.push_back(merkle::consistency_proof(m, 70, t.source(70)).value());
        }
        for (const auto& [key, h] : t.nodes) {
            const auto [level, index] = key;
            CAPTURE(level);
            CAPTURE(index);
            const auto full = t.source(70);
            const merkle::node_source holed = [&, level = level, index = index](unsigned l, std::uint64_t i) {
                return l == level && i == index ? std::nullopt : full(l, i);
            };
            std::size_t failed = 0;
            for (std::uint64_t i = 0; i < 70; ++i) {
                const auto p = merkle::inclusion_proof(i, 70, holed);
                if (p.has_value()) {
                    CHECK(p.value() == proofs[i]);
                } else {
                    CHECK(p.error() == merkle::proof_errc::missing_node);
                    ++failed;
                }
            }
            // Every node of the tree of 70 is some leaf's sibling or on its way.
            CHECK(failed > 0);
            for (std::uint64_t m = 1; m <= 70; ++m) {
                const auto p = merkle::consistency_proof(m, 70, holed);
                if (p.has_value()) {
                    CHECK(p.value() == consistency[m - 1]);
                } else {
                    CHECK(p.error() == merkle::proof_errc::missing_node);
                }
            }
        }
    }
}

TEST_CASE("Merkle (RFC 9162): sizes and indexes out of range") {
    const tree_fixture t(8);
    const auto source = t.source(8);
    const hash leaf = t.leaf(0);
    const hash root = t.root(8);

    SUBCASE("proofs") {
        CHECK(merkle::inclusion_proof(0, 0, source).error() == merkle::proof_errc::out_of_range);
        CHECK(merkle::inclusion_proof(8, 8, source).error() == merkle::proof_errc::out_of_range);
        CHECK(merkle::inclusion_proof(9, 8, source).error() == merkle::proof_errc::out_of_range);
        CHECK(merkle::inclusion_proof(UINT64_MAX, 8, source).error() == merkle::proof_errc::out_of_range);
        CHECK(merkle::consistency_proof(0, 0, source).error() == merkle::proof_errc::out_of_range);
        CHECK(merkle::consistency_proof(0, 8, source).error() == merkle::proof_errc::out_of_range);
        CHECK(merkle::consistency_proof(8, 7, source).error() == merkle::proof_errc::out_of_range);
        CHECK(merkle::consistency_proof(UINT64_MAX, 8, source).error() == merkle::proof_errc::out_of_range);
    }
    SUBCASE("a size beyond the store is a missing node") {
        CHECK(merkle::root_of(9, source).error() == merkle::proof_errc::missing_node);
        CHECK(merkle::inclusion_proof(0, 9, source).error() == merkle::proof_errc::missing_node);
        CHECK(merkle::consistency_proof(8, 9, source).error() == merkle::proof_errc::missing_node);
    }
    SUBCASE("verification") {
        const auto proof = merkle::inclusion_proof(0, 8, source).value();
        CHECK(merkle::verify_inclusion(0, 8, leaf, proof, root));
        CHECK_FALSE(merkle::verify_inclusion(8, 8, leaf, proof, root));
        CHECK_FALSE(merkle::verify_inclusion(0, 0, leaf, {}, merkle::empty_root()));
        CHECK_FALSE(merkle::verify_inclusion(UINT64_MAX, UINT64_MAX, leaf, proof, root));
        const auto consistency = merkle::consistency_proof(3, 8, source).value();
        CHECK(merkle::verify_consistency(3, 8, t.root(3), root, consistency));
        CHECK_FALSE(merkle::verify_consistency(0, 8, merkle::empty_root(), root, {}));
        CHECK_FALSE(merkle::verify_consistency(0, 8, merkle::empty_root(), root, consistency));
        CHECK_FALSE(merkle::verify_consistency(8, 3, root, t.root(3), consistency));
        CHECK_FALSE(merkle::verify_consistency(3, 8, t.root(3), root, {}));
    }
}

TEST_CASE("Merkle (RFC 9162): a frontier serializes and parses back") {
    const tree_fixture t(70);
    SUBCASE("round trip at every size, and appending after a parse") {
        for (std::size_t n = 0; n <= 70; ++n) {
            CAPTURE(n);
            const auto& f = t.frontiers[n];
            const std::string bytes = f.serialize();
            CHECK(bytes.size() == 8 + 32 * f.peaks().size());
            for (std::size_t i = 0; i < 7; ++i) CHECK(bytes[i] == '\0');
            CHECK(std::size_t{static_cast<std::uint8_t>(bytes[7])} == n);
            const auto parsed = merkle::frontier::parse(bytes);
            REQUIRE(parsed.has_value());
            CHECK(*parsed == f);
            CHECK(parsed->root() == t.root(n));
            if (n < 70) {
                auto next = *parsed;
                next.append(t.leaf(n));
                CHECK(next == t.frontiers[n + 1]);
            }
        }
    }
    SUBCASE("the size is big-endian") {
        std::string bytes = std::string("\x01\x00\x00\x00\x00\x00\x00\x00", 8) + std::string(32, 'x');
        const auto f = merkle::frontier::parse(bytes);
        REQUIRE(f.has_value());
        CHECK(f->size() == (std::uint64_t{1} << 56));
        CHECK(f->peaks().size() == 1);
        CHECK(f->serialize() == bytes);
        bytes = std::string(8, '\xff') + std::string(64 * 32, 'y');
        CHECK(merkle::frontier::parse(bytes)->size() == UINT64_MAX);
    }
    SUBCASE("bad lengths are refused") {
        CHECK_FALSE(merkle::frontier::parse("").has_value());
        CHECK_FALSE(merkle::frontier::parse(std::string(7, '\0')).has_value());
        CHECK(merkle::frontier::parse(std::string(8, '\0')).has_value());
        for (const std::size_t n : {0u, 1u, 5u, 64u, 69u}) {
            CAPTURE(n);
            const std::string good = t.frontiers[n].serialize();
            CHECK_FALSE(merkle::frontier::parse(good + '\0').has_value());
            CHECK_FALSE(merkle::frontier::parse(good + std::string(32, '\0')).has_value());
            if (good.size() > 8) {
                CHECK_FALSE(merkle::frontier::parse(good.substr(0, good.size() - 1)).has_value());
                CHECK_FALSE(merkle::frontier::parse(good.substr(0, good.size() - 32)).has_value());
            }
            // The same peaks under a size with another number of bits set.
            std::size_t other_size = n + 1;
            while (bits_set(other_size) == bits_set(n)) ++other_size;
            std::string other = good;
            other[7] = static_cast<char>(other_size);
            CHECK_FALSE(merkle::frontier::parse(other).has_value());
        }
    }
}
