// Signed checkpoints of the log's Merkle tree (events/merkle.h): the bytes a
// checkpoint's signature covers, and signing and checking them.
//
// The signed message, for an auditor who re-implements the check (encodings
// as in events/canonical.h: big-endian integers, S = U32 length || UTF-8):
//
//   S("regledger.checkpoint.v1") || I32(partition) || U64(tree_size)
//   || root_hash (32 raw bytes) || I64(signed_at, µs since the epoch)
//   || S(key_id)
//
// signature = Ed25519(private key, message), stored as 128 hex digits in the
// LedgerCheckpointed event; `openssl pkeyutl -verify -rawin` checks it.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/events.h"
#include "engine/result.h"
#include "events/merkle.h"
#include "events/signing.h"

namespace regledger::events {

std::vector<std::uint8_t> checkpoint_message(const ledger_checkpointed& checkpoint);

// A checkpoint of `tree` for `partition`, signed at `now` with `key`.
result<ledger_checkpointed> sign_checkpoint(std::int32_t partition, const merkle::frontier& tree, instant now,
                                            const signing_key& key);

// Whether `checkpoint`'s signature is `key`'s over its message (and names
// `key`).
bool checkpoint_signed_by(const ledger_checkpointed& checkpoint, const verify_key& key) noexcept;

}  // namespace regledger::events
