#include "events/checkpoint.h"

#include <string_view>

namespace regledger::events {
namespace {

void put_be(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void put_string(std::vector<std::uint8_t>& out, std::string_view s) {
    put_be(out, s.size(), 4);
    out.insert(out.end(), s.begin(), s.end());
}

}  // namespace

std::vector<std::uint8_t> checkpoint_message(const ledger_checkpointed& c) {
    std::vector<std::uint8_t> out;
    out.reserve(128);
    put_string(out, "regledger.checkpoint.v1");
    put_be(out, static_cast<std::uint32_t>(c.partition), 4);
    put_be(out, c.tree_size, 8);
    out.insert(out.end(), c.root_hash.value().begin(), c.root_hash.value().end());
    put_be(out, static_cast<std::uint64_t>(c.signed_at.unix_us()), 8);
    put_string(out, c.key_id);
    return out;
}

result<ledger_checkpointed> sign_checkpoint(std::int32_t partition, const merkle::frontier& tree, instant now,
                                            const signing_key& key) {
    ledger_checkpointed c;
    c.partition = partition;
    c.tree_size = tree.size();
    c.root_hash = digest(tree.root());
    c.signed_at = now;
    c.key_id = key.id();
    BOOST_OUTCOME_TRY(auto signature, key.sign(checkpoint_message(c)));
    c.signature = hex_of(signature);
    return c;
}

bool checkpoint_signed_by(const ledger_checkpointed& c, const verify_key& key) noexcept {
    if (c.key_id != key.id()) return false;
    const auto bytes = bytes_of_hex(c.signature);
    if (!bytes || bytes->size() != 64) return false;
    ed25519_signature signature;
    std::copy(bytes->begin(), bytes->end(), signature.begin());
    return key.verify(checkpoint_message(c), signature);
}

}  // namespace regledger::events
