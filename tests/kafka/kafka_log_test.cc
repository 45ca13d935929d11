// The Kafka log against a real broker: transactions, read_committed reads,
// fencing, the public topic.
#include <map>

#include <rocksdb/write_batch.h>

#include "events/canonical.h"
#include "events/codec.h"
#include "events/kafka_log.h"
#include "tests/kafka/kafka_env.h"
#include "tests/projections/ledger_fixture.h"

using namespace regledger;
using namespace regledger::testing;

namespace {

events::log_record record_for(const std::string& stream, int n) {
    event_record rec;
    rec.envelope.stream_id = stream_id(stream);
    rec.envelope.event_id = event_id(fmt::format("{}/{}", stream, n));
    rec.envelope.version = stream_version(static_cast<std::uint64_t>(n));
    rec.envelope.occurred_at = at("2026-03-02T09:00:00+08:00");
    rec.event = account_verified{account_id(stream.substr(5)), institution_id("LN-SY")};
    rec.envelope.hash = events::compute_hash(rec.envelope, rec.event);
    return {stream_id(stream), type_id_of(rec.event), events::encode(rec), std::nullopt, std::nullopt};
}

std::vector<events::stored_record> read_all(const events::event_log& log, partition_id p) {
    std::vector<events::stored_record> out;
    log_offset next(0);
    for (;;) {
        auto r = log.read({p, next}, 1000);
        REQUIRE(r.has_value());
        if (r.value().empty()) return out;
        for (auto& x : r.value()) out.push_back(std::move(x));
        next = log_offset(out.back().position.offset.value() + 1);
    }
}

}  // namespace

TEST_CASE("Kafka log: committed batches are read back in order, at the positions staged") {
    temp_dir dir;
    events::store_options so;
    so.dir = dir.path() / "local";
    auto store = events::rocks_store::open(so, projections::ledger::kafka_families());
    REQUIRE(store.has_value());
    auto log = events::kafka_log::open(kafka_test_options("order"));
    REQUIRE_MESSAGE(log.has_value(), (log ? std::string() : log.error().message()));
    log.value()->set_local_store(store.value().get());
    std::vector<log_position> all;
    for (int batch = 0; batch < 3; ++batch) {
        std::vector<events::log_record> records;
        for (int i = 1; i <= 4; ++i) records.push_back(record_for(fmt::format("acct-b{}", batch), i));
        auto positions = log.value()->stage(records);
        REQUIRE(positions.has_value());
        rocksdb::WriteBatch local;
        REQUIRE(log.value()->commit(local).has_value());
        all.insert(all.end(), positions.value().begin(), positions.value().end());
    }
    const auto read = read_all(*log.value(), partition_id(0));
    REQUIRE(read.size() == 12);
    for (std::size_t i = 0; i < read.size(); ++i) {
        CHECK(read[i].position == all[i]);
        CHECK(events::decode(read[i].value).has_value());
    }
    // Commit markers leave gaps: offsets are not contiguous.
    CHECK(all.back().offset.value() > 11);
    CHECK(log.value()->end(partition_id(0)).value().value() > all.back().offset.value());
}

TEST_CASE("Kafka log: an aborted transaction is never seen by read_committed readers") {
    auto log = events::kafka_log::open(kafka_test_options("abort"));
    REQUIRE(log.has_value());
    temp_dir dir;
    events::store_options so;
    so.dir = dir.path() / "local";
    auto store = events::rocks_store::open(so, projections::ledger::kafka_families());
    log.value()->set_local_store(store.value().get());
    std::vector<events::log_record> aborted{record_for("acct-x", 1), record_for("acct-x", 2)};
    REQUIRE(log.value()->stage(aborted).has_value());
    log.value()->abort();
    std::vector<events::log_record> kept{record_for("acct-y", 1)};
    REQUIRE(log.value()->stage(kept).has_value());
    rocksdb::WriteBatch local;
    REQUIRE(log.value()->commit(local).has_value());
    const auto read = read_all(*log.value(), partition_id(0));
    REQUIRE(read.size() == 1);
    CHECK(events::decode(read[0].value).value().envelope.stream_id == stream_id("acct-y"));
}

TEST_CASE("Kafka log: a second writer with the same transactional id fences the first") {
    auto options = kafka_test_options("fence");
    auto first = events::kafka_log::open(options);
    REQUIRE(first.has_value());
    temp_dir dir;
    events::store_options so;
    so.dir = dir.path() / "local";
    auto store = events::rocks_store::open(so, projections::ledger::kafka_families());
    first.value()->set_local_store(store.value().get());
    std::vector<events::log_record> one{record_for("acct-f", 1)};
    REQUIRE(first.value()->stage(one).has_value());
    rocksdb::WriteBatch local;
    REQUIRE(first.value()->commit(local).has_value());

    auto second = events::kafka_log::open(options);
    REQUIRE(second.has_value());
    // The first can no longer commit; it knows it for good.
    std::vector<events::log_record> two{record_for("acct-f", 2)};
    auto staged = first.value()->stage(two);
    bool refused = !staged.has_value();
    if (!refused) {
        rocksdb::WriteBatch more;
        refused = !first.value()->commit(more).has_value();
    }
    CHECK(refused);
    CHECK(first.value()->fatal());
    CHECK_FALSE(second.value()->fatal());
    const auto read = read_all(*second.value(), partition_id(0));
    CHECK(read.size() == 1);
}

TEST_CASE("Kafka log: await_stable waits while a transaction below the end is open, and returns once it commits") {
    auto options = kafka_test_options("stable");
    temp_dir dir;
    events::store_options so;
    so.dir = dir.path() / "local";
    auto store = events::rocks_store::open(so, projections::ledger::kafka_families());
    REQUIRE(store.has_value());
    auto writer = events::kafka_log::open(options);
    REQUIRE(writer.has_value());
    writer.value()->set_local_store(store.value().get());
    // A reader of its own, with a short bound.
    auto reader_options = options;
    reader_options.read_only = true;
    reader_options.timeout = std::chrono::milliseconds(1500);
    auto reader = events::kafka_log::open(reader_options);
    REQUIRE(reader.has_value());

    std::vector<events::log_record> one{record_for("acct-s", 1), record_for("acct-s", 2)};
    REQUIRE(writer.value()->stage(one).has_value());
    // Staged, not committed: the records are below the end but unreadable.
    const auto open_end = reader.value()->end(partition_id(0));
    REQUIRE(open_end.has_value());
    CHECK(open_end.value().value() == 2);
    // A reader starting "from now" starts before the open transaction.
    CHECK(reader.value()->stable_end(partition_id(0)).value().value() == 0);
    const auto waited = reader.value()->await_stable(partition_id(0), open_end.value());
    REQUIRE_FALSE(waited.has_value());
    CHECK(waited.error() == events::kafka_errc::unstable);
    CHECK(read_all(*reader.value(), partition_id(0)).empty());

    rocksdb::WriteBatch local;
    REQUIRE(writer.value()->commit(local).has_value());
    const auto end = reader.value()->end(partition_id(0));
    REQUIRE(end.has_value());
    // Right after the commit's answer: wait for the markers, then every
    // record below the end is there.
    REQUIRE(reader.value()->await_stable(partition_id(0), end.value()).has_value());
    CHECK(read_all(*reader.value(), partition_id(0)).size() == 2);
}

TEST_CASE("Kafka log: streams keep their partition (Kafka's murmur2)") {
    // Values from Kafka's own partitioner (Utils.murmur2 & 0x7fffffff) % n.
    CHECK(events::kafka_log::murmur2_partition("", 1) == 0);
    std::map<std::int32_t, int> spread;
    for (int i = 0; i < 1000; ++i) spread[events::kafka_log::murmur2_partition(fmt::format("reg-{}", i), 4)]++;
    CHECK(spread.size() == 4);
    for (const auto& [p, n] : spread) CHECK(n > 150);
    CHECK(events::kafka_log::murmur2_partition("reg-1", 4) == events::kafka_log::murmur2_partition("reg-1", 4));
}
