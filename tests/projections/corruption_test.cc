// A damaged log is refused at open (projections/ledger.h): a changed byte, a
// missing record, records out of order, a log cut short behind the read
// models. The refusal names the first damaged position, and the ledger opens
// again once the damage is undone.
#include <algorithm>

#include "events/codec.h"
#include "events/log_verify.h"
#include "tests/projections/ledger_fixture.h"

using namespace regledger;
using namespace regledger::testing;

namespace {

using log_records = std::vector<std::pair<std::string, std::string>>;

// The log column family's rows of a closed data directory.
log_records log_rows(const std::filesystem::path& data_dir) {
    auto store = open_raw_store(data_dir);
    std::vector<std::pair<std::string, std::string>> rows;
    std::unique_ptr<rocksdb::Iterator> it(
        store->db().NewIterator(rocksdb::ReadOptions(), store->cf(events::embedded_log::column_family)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) rows.emplace_back(it->key().ToString(), it->value().ToString());
    REQUIRE(it->status().ok());
    return rows;
}

std::string get_record(const std::filesystem::path& data_dir, std::int64_t offset) {
    auto store = open_raw_store(data_dir);
    std::string value;
    const auto s = store->db().Get(rocksdb::ReadOptions(), store->cf(events::embedded_log::column_family),
                                   events::embedded_log::key_of(offset), &value);
    REQUIRE_MESSAGE(s.ok(), "no log record ", offset);
    return value;
}

void put_record(const std::filesystem::path& data_dir, std::int64_t offset, const std::string& value) {
    auto store = open_raw_store(data_dir);
    rocksdb::WriteBatch b;
    b.Put(store->cf(events::embedded_log::column_family), events::embedded_log::key_of(offset), value);
    REQUIRE(store->write(b).has_value());
}

void delete_record(const std::filesystem::path& data_dir, std::int64_t offset) {
    auto store = open_raw_store(data_dir);
    rocksdb::WriteBatch b;
    b.Delete(store->cf(events::embedded_log::column_family), events::embedded_log::key_of(offset));
    REQUIRE(store->write(b).has_value());
}

event_record decoded(const std::string& value) {
    const auto rec = events::decode({reinterpret_cast<const std::uint8_t*>(value.data()), value.size()});
    REQUIRE(rec.has_value());
    return rec.value();
}

// Opening must fail, naming `offset`; returns the message.
std::string refused_at(ledger_fixture& f, std::int64_t offset) {
    const auto l = open_ledger(f.data_dir(), f.clock(), f.institutions());
    REQUIRE_MESSAGE(!l.has_value(), "a damaged log was opened");
    const auto& failure = l.error();
    CAPTURE(failure.message);
    REQUIRE(failure.position.has_value());
    CHECK(failure.position->partition == partition_id(0));
    CHECK(failure.position->offset.value() == offset);
    CHECK(failure.message.find(fmt::format("0:{}", offset)) != std::string::npos);
    return failure.message;
}

// A few registrations through the procedure: a log of a few dozen records.
void some_history(ledger_fixture& f) {
    f.make_valid("reg-1", "app-1");
    f.make_valid("reg-2", "app-2");
    f.advance("2026-03-18T00:00:00+08:00");
    f.ok(later_application("chg-1", application_kind::change), subject("acct-a"));
}

}  // namespace

TEST_CASE("Corruption: a changed byte in a log record is refused at open, naming its position") {
    ledger_fixture f;
    some_history(f);
    const auto before = f.dump_all();
    const auto end = f.ledger().log().end(partition_id(0)).value().value();
    f.close();

    for (const std::int64_t offset : {std::int64_t(0), end / 2, end - 1}) {
        CAPTURE(offset);
        const std::string original = get_record(f.data_dir(), offset);
        // A byte of the payload that the hash covers: the stream id's last
        // character (every record names its stream).
        const auto rec = decoded(original);
        const std::string& stream = rec.envelope.stream_id.value();
        const auto at = original.find(stream);
        REQUIRE(at != std::string::npos);
        std::string damaged = original;
        damaged[at + stream.size() - 1] ^= 0x01;
        put_record(f.data_dir(), offset, damaged);
        const auto message = refused_at(f, offset);
        CHECK(message.find("hash") != std::string::npos);

        // Anywhere else in the record: refused as well, whether the codec or
        // the hash catches it.
        damaged = original;
        damaged[damaged.size() / 2] = static_cast<char>(~damaged[damaged.size() / 2]);
        put_record(f.data_dir(), offset, damaged);
        refused_at(f, offset);

        put_record(f.data_dir(), offset, original);
    }
    // Undamaged again: it opens, and nothing was lost.
    f.open();
    CHECK(f.dump_all() == before);
    CHECK(f.reads().registration(registration_id("reg-1"))->document.at("status").as_string() == "valid");
}

TEST_CASE("Corruption: a record missing from the middle of the log is refused at open, naming it") {
    ledger_fixture f;
    some_history(f);
    const auto end = f.ledger().log().end(partition_id(0)).value().value();
    f.close();
    const std::int64_t missing = end / 2;
    const std::string original = get_record(f.data_dir(), missing);
    delete_record(f.data_dir(), missing);
    const auto message = refused_at(f, missing);
    CHECK(message.find(fmt::format("record {} is missing", missing)) != std::string::npos);

    SUBCASE("two in a row") {
        const std::string next = get_record(f.data_dir(), missing + 1);
        delete_record(f.data_dir(), missing + 1);
        CHECK(refused_at(f, missing).find(fmt::format("records {} to {} are missing", missing, missing + 1)) !=
              std::string::npos);
        put_record(f.data_dir(), missing + 1, next);
    }
    put_record(f.data_dir(), missing, original);
    f.open();
    CHECK(events::verify_log(f.ledger().log(), {}).has_value());
}

TEST_CASE("Corruption: two records of a stream swapped are refused at open, naming the first") {
    ledger_fixture f;
    some_history(f);
    const auto end = f.ledger().log().end(partition_id(0)).value().value();
    f.close();

    // Two records of reg-reg-1, not next to each other.
    std::vector<std::int64_t> of_reg_1;
    for (std::int64_t offset = 0; offset < end; ++offset) {
        if (decoded(get_record(f.data_dir(), offset)).envelope.stream_id == stream_id("reg-reg-1")) {
            of_reg_1.push_back(offset);
        }
    }
    REQUIRE(of_reg_1.size() >= 3);
    const std::int64_t a = of_reg_1[0];
    const std::int64_t b = of_reg_1[2];
    const std::string record_a = get_record(f.data_dir(), a);
    const std::string record_b = get_record(f.data_dir(), b);
    put_record(f.data_dir(), a, record_b);
    put_record(f.data_dir(), b, record_a);
    const auto message = refused_at(f, a);
    CHECK(message.find("reg-reg-1") != std::string::npos);

    SUBCASE("a record repeated in place of another") {
        put_record(f.data_dir(), a, record_a);
        put_record(f.data_dir(), b, record_a);
        refused_at(f, b);
    }
    put_record(f.data_dir(), a, record_a);
    put_record(f.data_dir(), b, record_b);
    f.open();
    CHECK(f.reads().registration(registration_id("reg-1"))->document.at("status").as_string() == "valid");
}

TEST_CASE("Corruption: a log cut short behind the read models is refused at open") {
    ledger_fixture f;
    some_history(f);
    const auto end = f.ledger().log().end(partition_id(0)).value().value();
    f.close();
    // The last record lost: the read models (their checkpoint is `end`)
    // reflect a record the log no longer holds.
    const std::string last = get_record(f.data_dir(), end - 1);
    delete_record(f.data_dir(), end - 1);
    const auto message = refused_at(f, end - 1);
    CHECK(message.find("missing") != std::string::npos);
    put_record(f.data_dir(), end - 1, last);
    f.open();
    CHECK(f.ledger().log().end(partition_id(0)).value().value() == end);
}

TEST_CASE("Corruption: the log rows are untouched by a refused open") {
    ledger_fixture f;
    some_history(f);
    f.close();
    const auto rows = log_rows(f.data_dir());
    std::string damaged = rows[3].second;
    damaged[damaged.size() / 2] = static_cast<char>(~damaged[damaged.size() / 2]);
    put_record(f.data_dir(), 3, damaged);
    refused_at(f, 3);
    refused_at(f, 3);  // and again: nothing was repaired or half-applied
    auto after = log_rows(f.data_dir());
    after[3].second = rows[3].second;
    CHECK(after == rows);
}
