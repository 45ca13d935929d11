// `regledger verify` against the signed checkpoints (projections/verify.h,
// events/log_verify.h): the checkpoints a ledger signs match the Merkle tree
// of the records before them, and each kind of tampering is caught and named
// with its position: a changed byte, a record dropped (the later ones
// renumbered to hide the gap), two records of different streams swapped
// (every stream's own chain still holds: only the tree shows it), a
// checkpoint swapped with another, and a checkpoint forged with another key.
#include <rocksdb/write_batch.h>

#include "events/canonical.h"
#include "events/checkpoint.h"
#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/verify.h"
#include "tests/projections/ledger_fixture.h"

using namespace regledger;
using namespace regledger::testing;

namespace {

using rows = std::vector<std::string>;

// The log's records of a closed data directory, in order.
rows log_records(const std::filesystem::path& data_dir) {
    auto store = open_raw_store(data_dir);
    rows out;
    std::unique_ptr<rocksdb::Iterator> it(
        store->db().NewIterator(rocksdb::ReadOptions(), store->cf(events::embedded_log::column_family)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.push_back(it->value().ToString());
    return out;
}

// Replaces the whole log with `records` at offsets 0, 1, 2, ...
void rewrite_log(const std::filesystem::path& data_dir, const rows& records, std::size_t old_size) {
    auto store = open_raw_store(data_dir);
    rocksdb::WriteBatch b;
    auto* family = store->cf(events::embedded_log::column_family);
    for (std::size_t i = 0; i < old_size; ++i) b.Delete(family, events::embedded_log::key_of(static_cast<std::int64_t>(i)));
    for (std::size_t i = 0; i < records.size(); ++i) {
        b.Put(family, events::embedded_log::key_of(static_cast<std::int64_t>(i)), records[i]);
    }
    REQUIRE(store->write(b).has_value());
}

event_record decoded(const std::string& value) {
    auto rec = events::decode({reinterpret_cast<const std::uint8_t*>(value.data()), value.size()});
    REQUIRE(rec.has_value());
    return std::move(rec).value();
}

std::string encoded(const event_record& rec) {
    const auto bytes = events::encode(rec);
    return std::string(bytes.begin(), bytes.end());
}

bool is_checkpoint(const std::string& record) { return std::holds_alternative<ledger_checkpointed>(decoded(record).event); }

using keys = test_keys;

// verify_store with the ledger's public key; REQUIREs a failure and returns it.
projections::verify_problem verify_fails(const std::filesystem::path& data_dir, const events::verify_key& key) {
    projections::verify_store_options o;
    o.data_dir = data_dir;
    o.public_key = &key;
    auto report = projections::verify_store(o);
    REQUIRE_MESSAGE(!report.has_value(), "the tampered log verified");
    return report.error();
}

}  // namespace

TEST_CASE("Audit verify: a signed ledger verifies, and every kind of tampering is caught and named") {
    keys k;
    ledger_fixture f;
    projections::writer_options wo;
    wo.signing_key = &*k.signing;
    wo.checkpoint_events_max = 4;
    f.reopen(wo);
    f.make_valid("reg-1", "app-1");
    f.make_valid("reg-2", "app-2");
    f.advance("2026-03-18T00:00:00+08:00");
    f.ok(later_application("chg-1", application_kind::change), subject("acct-a"));
    f.close();

    const rows records = log_records(f.data_dir());
    std::vector<std::size_t> checkpoints;
    for (std::size_t i = 0; i < records.size(); ++i) {
        if (is_checkpoint(records[i])) checkpoints.push_back(i);
    }
    REQUIRE(checkpoints.size() >= 3);
    // A stopped writer signs what the last checkpoint did not cover: the log
    // ends with a checkpoint of every record before it.
    REQUIRE(checkpoints.back() == records.size() - 1);
    CHECK(std::get<ledger_checkpointed>(decoded(records.back()).event).tree_size == records.size() - 1);
    // The one before the last, so that records follow it.
    const std::size_t last = checkpoints[checkpoints.size() - 2];

    {
        projections::verify_store_options o;
        o.data_dir = f.data_dir();
        o.public_key = &*k.verifying;
        const auto report = projections::verify_store(o);
        REQUIRE_MESSAGE(report.has_value(), (report ? std::string() : report.error().what));
        CHECK(report.value().checkpoints == checkpoints.size());
        CHECK(report.value().signatures_checked == checkpoints.size());
    }

    SUBCASE("a changed byte") {
        rows changed = records;
        const std::size_t at = last - 1;
        const auto rec = decoded(changed[at]);
        const auto pos = changed[at].find(rec.envelope.stream_id.value());
        REQUIRE(pos != std::string::npos);
        changed[at][pos + rec.envelope.stream_id.value().size() - 1] ^= 0x01;
        rewrite_log(f.data_dir(), changed, records.size());
        const auto p = verify_fails(f.data_dir(), *k.verifying);
        REQUIRE(p.position.has_value());
        CHECK(p.position->offset.value() == static_cast<std::int64_t>(at));
        CHECK(p.what.find("hash") != std::string::npos);
    }

    SUBCASE("a record dropped, the later ones renumbered") {
        // A record before the last checkpoint whose removal leaves every
        // stream's chain whole: the last event of its stream.
        std::optional<std::size_t> victim;
        for (std::size_t i = last; i-- > 0;) {
            const auto s = decoded(records[i]).envelope.stream_id;
            bool later = false;
            for (std::size_t j = i + 1; j < records.size(); ++j) later = later || decoded(records[j]).envelope.stream_id == s;
            if (!later && !is_checkpoint(records[i])) {
                victim = i;
                break;
            }
        }
        REQUIRE(victim.has_value());
        rows dropped = records;
        dropped.erase(dropped.begin() + static_cast<std::ptrdiff_t>(*victim));
        rewrite_log(f.data_dir(), dropped, records.size());
        const auto p = verify_fails(f.data_dir(), *k.verifying);
        REQUIRE(p.position.has_value());
        // The next checkpoint, which counted the record, names it.
        std::size_t next_checkpoint = 0;
        for (std::size_t c : checkpoints) {
            if (c > *victim) {
                next_checkpoint = c - 1;
                break;
            }
        }
        CHECK(p.position->offset.value() == static_cast<std::int64_t>(next_checkpoint));
        CHECK(p.what.find("tree size") != std::string::npos);
    }

    SUBCASE("two records of different streams swapped") {
        // Adjacent, before the last checkpoint, of two different streams,
        // neither a checkpoint: each stream's chain still holds.
        std::optional<std::size_t> first;
        for (std::size_t i = 0; i + 1 < last; ++i) {
            if (is_checkpoint(records[i]) || is_checkpoint(records[i + 1])) continue;
            if (decoded(records[i]).envelope.stream_id != decoded(records[i + 1]).envelope.stream_id) first = i;
        }
        REQUIRE(first.has_value());
        rows swapped = records;
        std::swap(swapped[*first], swapped[*first + 1]);
        rewrite_log(f.data_dir(), swapped, records.size());
        const auto p = verify_fails(f.data_dir(), *k.verifying);
        REQUIRE(p.position.has_value());
        std::size_t next_checkpoint = 0;
        for (std::size_t c : checkpoints) {
            if (c > *first + 1) {
                next_checkpoint = c;
                break;
            }
        }
        CHECK(p.position->offset.value() == static_cast<std::int64_t>(next_checkpoint));
        CHECK(p.what.find("root") != std::string::npos);
    }

    SUBCASE("a checkpoint swapped with another") {
        rows swapped = records;
        std::swap(swapped[checkpoints[0]], swapped[checkpoints[1]]);
        rewrite_log(f.data_dir(), swapped, records.size());
        const auto p = verify_fails(f.data_dir(), *k.verifying);
        REQUIRE(p.position.has_value());
        CHECK(p.position->offset.value() == static_cast<std::int64_t>(checkpoints[0]));
    }

    SUBCASE("a checkpoint forged with another key, its hash and chain made whole") {
        keys other;
        rows forged = records;
        auto rec = decoded(forged[last]);
        auto& c = std::get<ledger_checkpointed>(rec.event);
        const auto resigned = events::sign_checkpoint(c.partition, [&] {
            events::merkle::frontier tree;
            for (std::size_t i = 0; i < last; ++i) {
                tree.append(events::merkle::leaf_hash(
                    std::span(reinterpret_cast<const std::uint8_t*>(records[i].data()), records[i].size())));
            }
            return tree;
        }(), c.signed_at, *other.signing);
        REQUIRE(resigned.has_value());
        rec.event = resigned.value();
        rec.envelope.hash = events::compute_hash(rec.envelope, rec.event);
        forged[last] = encoded(rec);
        // Caught at the forged checkpoint itself, before the next checkpoint
        // (whose prev_hash names the original) breaks the chain.
        rewrite_log(f.data_dir(), forged, records.size());
        const auto p = verify_fails(f.data_dir(), *k.verifying);
        REQUIRE(p.position.has_value());
        CHECK(p.position->offset.value() == static_cast<std::int64_t>(last));
        CHECK(p.what.find(fmt::format("signed by key {}, not by the ledger's key {}", other.signing->id(),
                                      k.signing->id())) != std::string::npos);
    }
}
