// The auditor's routes: signed checkpoints of the log's Merkle tree, and the
// proofs an auditor checks without trusting the server. Every check here is
// done by code of this file alone (the RFC 9162 algorithms over the
// portable engine/sha256, the checkpoint message of events/checkpoint.h
// re-encoded by hand, Ed25519 through libcrypto's EVP API), never by the
// ledger's own verifier.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "engine/sha256.h"
#include "tests/api/server_fixture.h"

using namespace regledger::api_testing;
using hash = regledger::sha256_digest;

namespace {

// ---- An auditor's own tools -------------------------------------------------------

std::vector<std::uint8_t> unhex(std::string_view hex) {
    REQUIRE(hex.size() % 2 == 0);
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

hash hash_of_hex(std::string_view hex) {
    const auto bytes = unhex(hex);
    REQUIRE(bytes.size() == 32);
    hash h;
    std::copy(bytes.begin(), bytes.end(), h.begin());
    return h;
}

hash leaf(std::span<const std::uint8_t> bytes) {
    regledger::sha256 s;
    const std::uint8_t prefix = 0;
    s.update(std::span(&prefix, 1));
    s.update(bytes);
    return s.finish();
}

hash node(const hash& l, const hash& r) {
    regledger::sha256 s;
    const std::uint8_t prefix = 1;
    s.update(std::span(&prefix, 1));
    s.update(l);
    s.update(r);
    return s.finish();
}

// RFC 9162 §2.1.1: MTH by its definition.
hash mth(std::span<const hash> leaves) {
    if (leaves.empty()) return regledger::sha256::of(std::string_view());
    if (leaves.size() == 1) return leaves[0];
    std::size_t k = 1;
    while (k * 2 < leaves.size()) k *= 2;
    return node(mth(leaves.subspan(0, k)), mth(leaves.subspan(k)));
}

// RFC 9162 §2.1.3.2.
bool inclusion_holds(std::uint64_t index, std::uint64_t size, hash h, const std::vector<hash>& path, const hash& root) {
    if (index >= size) return false;
    std::uint64_t fn = index;
    std::uint64_t sn = size - 1;
    for (const hash& p : path) {
        if (sn == 0) return false;
        if ((fn & 1) == 1 || fn == sn) {
            h = node(p, h);
            if ((fn & 1) == 0) {
                while ((fn & 1) == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            h = node(h, p);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && h == root;
}

// RFC 9162 §2.1.4.2.
bool consistency_holds(std::uint64_t first, std::uint64_t second, const hash& first_root, const hash& second_root,
                       std::vector<hash> proof) {
    if (first == second) return proof.empty() && first_root == second_root;
    if (first == 0 || first > second || proof.empty()) return false;
    if ((first & (first - 1)) == 0) proof.insert(proof.begin(), first_root);
    std::uint64_t fn = first - 1;
    std::uint64_t sn = second - 1;
    while ((fn & 1) == 1) {
        fn >>= 1;
        sn >>= 1;
    }
    hash fr = proof[0];
    hash sr = proof[0];
    for (std::size_t i = 1; i < proof.size(); ++i) {
        const hash& c = proof[i];
        if (sn == 0) return false;
        if ((fn & 1) == 1 || fn == sn) {
            fr = node(c, fr);
            sr = node(c, sr);
            while ((fn & 1) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node(sr, c);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return fr == first_root && sr == second_root && sn == 0;
}

std::vector<hash> hashes(const value& v) {
    std::vector<hash> out;
    for (const auto& h : v.as_array()) out.push_back(hash_of_hex(h.as_string()));
    return out;
}

// events/checkpoint.h's message, encoded here from its comment.
std::vector<std::uint8_t> checkpoint_message(const object& c) {
    std::vector<std::uint8_t> m;
    auto be = [&](std::uint64_t v, int bytes) {
        for (int i = bytes - 1; i >= 0; --i) m.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    };
    auto str = [&](std::string_view s) {
        be(s.size(), 4);
        m.insert(m.end(), s.begin(), s.end());
    };
    str("regledger.checkpoint.v1");
    be(static_cast<std::uint32_t>(c.at("partition").to_number<std::int32_t>()), 4);
    be(c.at("tree_size").to_number<std::uint64_t>(), 8);
    const auto root = unhex(c.at("root_hash").as_string());
    m.insert(m.end(), root.begin(), root.end());
    const auto at = regledger::instant::parse(c.at("signed_at").as_string());
    REQUIRE(at.has_value());
    be(static_cast<std::uint64_t>(at->unix_us()), 8);
    str(c.at("key_id").as_string());
    return m;
}

// Ed25519 through libcrypto's EVP API, from the PEM the server published.
bool signature_holds(std::string_view public_pem, const object& checkpoint) {
    BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (key == nullptr) return false;
    const auto message = checkpoint_message(checkpoint);
    const auto signature = unhex(checkpoint.at("signature").as_string());
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
                    EVP_DigestVerify(ctx, signature.data(), signature.size(), message.data(), message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok;
}

// Some history: two accounts, registrations through publicity.
void populate(server_fixture& f, std::string_view suffix) {
    for (int i = 0; i < 3; ++i) {
        const std::string reg = fmt::format("reg-{}{}", suffix, i);
        const std::string app = fmt::format("app-{}{}", suffix, i);
        f.to_publicity(reg, app);
    }
}

// Every record of partition 0, in log order, as the log stores them.
std::vector<std::vector<std::uint8_t>> log_records(server_fixture& f) {
    std::vector<std::vector<std::uint8_t>> out;
    regledger::log_offset next(0);
    for (;;) {
        auto page = f.ledger().log().read({regledger::partition_id(0), next}, 1000);
        REQUIRE(page.has_value());
        if (page.value().empty()) return out;
        for (auto& r : page.value()) out.push_back(std::move(r.value));
        next = regledger::log_offset(page.value().back().position.offset.value() + 1);
    }
}

}  // namespace

TEST_CASE("Audit: checkpoints are signed roots of the whole log, and every proof checks out independently") {
    server_fixture f({.checkpoint_events = 7});
    f.seed_accounts();
    populate(f, "a");

    const auto key = f.get("/v1/audit/key", tokens::auditor);
    REQUIRE_MESSAGE(key.status == 200, describe(key));
    const std::string pem(key.obj().at("public_key_pem").as_string());
    CHECK(key.obj().at("key_id").as_string() == f.signing_key().id());

    // A checkpoint falls due with the records after it; the writer, idle,
    // looks every second.
    response listed = f.get("/v1/audit/checkpoints", tokens::auditor);
    for (int i = 0; i < 50 && listed.status == 200 && listed.obj().at("items").as_array().size() < 2; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        listed = f.get("/v1/audit/checkpoints", tokens::auditor);
    }
    REQUIRE_MESSAGE(listed.status == 200, describe(listed));
    const auto listed_body = listed.obj();
    const auto& items = listed_body.at("items").as_array();
    REQUIRE(items.size() >= 2);

    // Each checkpoint: a valid signature over the root of the first
    // tree_size records of the log, computed here from the records.
    const auto records = log_records(f);
    std::vector<hash> leaves;
    for (const auto& r : records) leaves.push_back(leaf(r));
    std::uint64_t previous = 0;
    for (const auto& item : items) {
        const auto& c = item.as_object();
        const auto size = c.at("tree_size").to_number<std::uint64_t>();
        CAPTURE(size);
        CHECK(size > previous);
        previous = size;
        REQUIRE(size <= leaves.size());
        CHECK(c.at("root_hash").as_string() == regledger::to_hex(mth(std::span(leaves).subspan(0, size))));
        CHECK(signature_holds(pem, c));
        // The checkpoint is itself the next leaf.
        CHECK(c.at("leaf_index").to_number<std::uint64_t>() == size);
        // A changed field breaks the signature.
        auto forged = c;
        forged["tree_size"] = size + 1;
        CHECK_FALSE(signature_holds(pem, forged));
    }
    const auto latest = f.get("/v1/audit/checkpoints/latest", tokens::auditor);
    REQUIRE(latest.status == 200);
    CHECK(latest.obj().at("tree_size") == items.back().at("tree_size"));

    SUBCASE("every event of a registration is in the latest checkpoint") {
        const auto checkpoint_size = latest.obj().at("tree_size").to_number<std::uint64_t>();
        int proven = 0;
        for (int version = 1;; ++version) {
            const auto r = f.get(fmt::format("/v1/audit/proofs/inclusion?stream=reg-reg-a0&version={}", version),
                                 tokens::auditor);
            if (r.status == 404) break;
            if (r.status == 409 || r.status == 422) {
                // After the latest checkpoint: not provable yet.
                break;
            }
            REQUIRE_MESSAGE(r.status == 200, describe(r));
            const auto p = r.obj();
            const auto record = unhex(p.at("record_hex").as_string());
            const hash leaf_hash = leaf(record);
            CHECK(regledger::to_hex(leaf_hash) == p.at("leaf_hash").as_string());
            const auto index = p.at("leaf_index").to_number<std::uint64_t>();
            CHECK(record == records.at(index));
            const auto root = hash_of_hex(p.at("checkpoint").at("root_hash").as_string());
            CHECK(p.at("tree_size").to_number<std::uint64_t>() == checkpoint_size);
            const auto path = hashes(p.at("audit_path"));
            CHECK(inclusion_holds(index, checkpoint_size, leaf_hash, path, root));
            // Tampering is caught: another record, another index, a changed path.
            auto changed = record;
            changed[changed.size() / 2] ^= 0x01;
            CHECK_FALSE(inclusion_holds(index, checkpoint_size, leaf(changed), path, root));
            CHECK_FALSE(inclusion_holds(index + 1, checkpoint_size, leaf_hash, path, root));
            if (!path.empty()) {
                auto bad = path;
                bad.back()[0] ^= 0x80;
                CHECK_FALSE(inclusion_holds(index, checkpoint_size, leaf_hash, bad, root));
            }
            ++proven;
        }
        CHECK(proven >= 4);
    }

    SUBCASE("every checkpoint's tree is a prefix of every later one") {
        for (std::size_t i = 0; i < items.size(); ++i) {
            for (std::size_t j = i; j < items.size(); ++j) {
                const auto m = items[i].at("tree_size").to_number<std::uint64_t>();
                const auto n = items[j].at("tree_size").to_number<std::uint64_t>();
                const auto r = f.get(fmt::format("/v1/audit/proofs/consistency?from={}&to={}", m, n), tokens::auditor);
                REQUIRE_MESSAGE(r.status == 200, describe(r));
                const auto proof = hashes(r.obj().at("proof"));
                const auto first_root = hash_of_hex(items[i].at("root_hash").as_string());
                const auto second_root = hash_of_hex(items[j].at("root_hash").as_string());
                CHECK(consistency_holds(m, n, first_root, second_root, proof));
                if (m != n) {
                    auto other = second_root;
                    other[5] ^= 0x10;
                    CHECK_FALSE(consistency_holds(m, n, first_root, other, proof));
                }
            }
        }
    }

    SUBCASE("after a restart the tree goes on from where it was") {
        const auto before = latest.obj();
        f.restart();
        populate(f, "b");
        const auto after = f.get("/v1/audit/checkpoints/latest", tokens::auditor).obj();
        const auto m = before.at("tree_size").to_number<std::uint64_t>();
        const auto n = after.at("tree_size").to_number<std::uint64_t>();
        REQUIRE(n > m);
        const auto r = f.get(fmt::format("/v1/audit/proofs/consistency?from={}&to={}", m, n), tokens::auditor);
        REQUIRE_MESSAGE(r.status == 200, describe(r));
        CHECK(consistency_holds(m, n, hash_of_hex(before.at("root_hash").as_string()),
                                hash_of_hex(after.at("root_hash").as_string()), hashes(r.obj().at("proof"))));
        CHECK(signature_holds(pem, after));
    }
}

TEST_CASE("Audit: an as-of answer comes with the proof of every event folded into it, and of the next one") {
    server_fixture f({.checkpoint_events = 3});
    f.seed_accounts();
    const std::string publicity_end = f.to_publicity("reg-h", "app-h");
    const std::string before_end = "2026-03-05T12:00:00+08:00";
    f.advance(before_end);
    f.advance(deadline_passed(publicity_end));  // publicity ends, the code is issued
    f.advance("2026-06-01T09:00:00+08:00");
    // Everything covered by a checkpoint: the clock moved past the interval,
    // and the idle writer looks every second.
    const auto covered = [&] {
        const auto latest = f.get("/v1/audit/checkpoints/latest", tokens::auditor);
        if (latest.status != 200) return false;
        // The checkpoint is the last record (on Kafka, a commit marker follows it).
        const auto end = f.get("/healthz").obj().at("log_end").to_number<std::int64_t>();
        return latest.obj().at("position").at("offset").to_number<std::int64_t>() + offsets_of(1, 1) == end;
    };
    for (int i = 0; i < 50 && !covered(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    REQUIRE(covered());
    const auto r =
        f.get("/v1/audit/proofs/as_of?registration=reg-h&as_of=2026-03-05T12:00:00%2B08:00", tokens::auditor);
    REQUIRE_MESSAGE(r.status == 200, describe(r));
    const auto body = r.obj();
    const auto& checkpoint = body.at("checkpoint").as_object();
    const auto size = checkpoint.at("tree_size").to_number<std::uint64_t>();
    const auto root = hash_of_hex(checkpoint.at("root_hash").as_string());
    const auto key = f.get("/v1/audit/key", tokens::auditor).obj();
    CHECK(signature_holds(key.at("public_key_pem").as_string(), checkpoint));

    auto proves = [&](const object& e) {
        const auto record = unhex(e.at("record_hex").as_string());
        return inclusion_holds(e.at("leaf_index").to_number<std::uint64_t>(), size, leaf(record),
                               hashes(e.at("audit_path")), root);
    };
    const auto& events = body.at("events").as_array();
    REQUIRE(events.size() == 4);  // submitted, accepted, review passed, publicity started
    for (std::size_t i = 0; i < events.size(); ++i) {
        CAPTURE(i);
        CHECK(events[i].at("version").to_number<std::uint64_t>() == i + 1);
        CHECK(proves(events[i].as_object()));
    }
    CHECK(body.at("document").at("version").to_number<std::uint64_t>() == events.size());
    CHECK(body.at("document").at("status").as_string() == "pending");
    // The next event occurred after the instant, and is in the log too.
    REQUIRE(body.at("next_event").is_object());
    const auto& next = body.at("next_event").as_object();
    CHECK(next.at("version").to_number<std::uint64_t>() == events.size() + 1);
    CHECK(*regledger::instant::parse(next.at("occurred_at").as_string()) >
          *regledger::instant::parse(before_end));
    CHECK(proves(next));

    check_error(f.get("/v1/audit/proofs/as_of?registration=reg-h&as_of=yesterday", tokens::auditor), 400, "MALFORMED",
                "/as_of");
    check_error(f.get("/v1/audit/proofs/as_of?registration=reg-h&as_of=2020-01-01T00:00:00%2B08:00", tokens::auditor),
                404, "NOT_FOUND");
    check_error(f.get("/v1/audit/proofs/as_of?registration=reg-h&as_of=2026-03-05T12:00:00%2B08:00", tokens::clerk_sy),
                403, "FORBIDDEN");
}

TEST_CASE("Audit: the routes answer auditors only, and say what is wrong with a request") {
    server_fixture f({.checkpoint_events = 5});
    f.seed_accounts();
    populate(f, "c");
    for (const auto* route : {"/v1/audit/key", "/v1/audit/checkpoints", "/v1/audit/checkpoints/latest",
                              "/v1/audit/proofs/inclusion?stream=reg-c0&version=1",
                              "/v1/audit/proofs/consistency?from=5&to=5"}) {
        CAPTURE(route);
        check_error(f.get(route), 401, "UNAUTHENTICATED");
        check_error(f.get(route, tokens::clerk_sy), 403, "FORBIDDEN");
        check_error(f.get(route, tokens::subject_a), 403, "FORBIDDEN");
    }
    check_error(f.get("/v1/audit/checkpoints/latest?partition=7", tokens::auditor), 400, "MALFORMED", "/partition");
    check_error(f.get("/v1/audit/checkpoints/latest?tree_size=x", tokens::auditor), 400, "MALFORMED", "/tree_size");
    check_error(f.get("/v1/audit/checkpoints/latest?tree_size=3", tokens::auditor), 404, "NOT_FOUND");
    check_error(f.get("/v1/audit/checkpoints?limit=0", tokens::auditor), 400, "MALFORMED", "/limit");
    check_error(f.get("/v1/audit/proofs/inclusion?version=1", tokens::auditor), 400, "MALFORMED", "/stream");
    check_error(f.get("/v1/audit/proofs/inclusion?stream=reg-c0&version=0", tokens::auditor), 400, "MALFORMED",
                "/version");
    check_error(f.get("/v1/audit/proofs/inclusion?stream=reg-nope&version=1", tokens::auditor), 404, "NOT_FOUND");
    check_error(f.get("/v1/audit/proofs/consistency?to=5", tokens::auditor), 400, "MALFORMED", "/from");
}

TEST_CASE("Audit: a ledger without a signing key keeps no checkpoints and says so") {
    server_fixture f;
    f.seed_accounts();
    check_error(f.get("/v1/audit/key", tokens::auditor), 404, "NOT_FOUND");
    check_error(f.get("/v1/audit/checkpoints/latest", tokens::auditor), 404, "NOT_FOUND");
    const auto listed = f.get("/v1/audit/checkpoints", tokens::auditor);
    REQUIRE(listed.status == 200);
    CHECK(listed.obj().at("items").as_array().empty());
}
