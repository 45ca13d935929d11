// events/archive.h: a log written to an archive reads back record for record;
// the trailer catches any flipped byte and any truncation before anything
// else is read; a bad header or framing is named; and verify_log over an
// archive_log names the position of a record changed by someone who also
// fixed the trailer. The archives are parsed here a second time by a reader
// written from the format comment alone, with the engine's portable SHA-256
// (the library uses libcrypto's), as an auditor's tool would.
#include <doctest/doctest.h>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <rocksdb/write_batch.h>

#include "engine/sha256.h"
#include "events/archive.h"
#include "events/canonical.h"
#include "events/checkpoint.h"
#include "events/codec.h"
#include "events/embedded_log.h"
#include "events/merkle.h"
#include "events/rocks_store.h"
#include "tests/events/samples.h"
#include "tests/temp_dir.h"

using namespace regledger;
using namespace regledger::events;

namespace {

namespace fs = std::filesystem;

using testing::temp_dir;

std::string read_bytes(const fs::path& p) { return testing::read_file(p); }

void write_bytes(const fs::path& p, std::string_view bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

digest digest_of(std::string_view text) { return digest(sha256::of(text)); }

// The keys of the tests: the ledger's and another.
struct key_pair {
    temp_dir dir;
    std::optional<signing_key> signing;
    std::optional<verify_key> verifying;
    key_pair() {
        REQUIRE(signing_key::generate(dir / "k.key", dir / "k.pub").has_value());
        signing.emplace(signing_key::load(dir / "k.key").value());
        verifying.emplace(verify_key::load(dir / "k.pub").value());
    }
};

// An embedded log of well-formed records: the sample payloads spread over
// three streams, chained, under two configuration hashes, with a signed
// checkpoint of the Merkle tree after every `checkpoint_every` records.
class sample_ledger {
public:
    sample_ledger(std::size_t payloads, std::size_t checkpoint_every, const signing_key& key) {
        store_options o;
        o.dir = dir_ / "data";
        o.sync_writes = false;
        const std::string_view families[] = {embedded_log::column_family};
        store_ = std::move(rocks_store::open(o, families)).value();
        log_ = std::move(embedded_log::open(*store_)).value();
        std::size_t appended = 0;
        const char* streams[] = {"reg-a", "reg-b", "acct-c"};
        for (const event& e : samples::full_payloads()) {
            if (std::holds_alternative<ledger_checkpointed>(e)) continue;
            if (appended == payloads) break;
            append(stream_id(streams[appended % 3]), e, digest_of(appended < payloads / 2 ? "config-1" : "config-2"));
            ++appended;
            if (appended % checkpoint_every == 0) {
                auto c = sign_checkpoint(0, tree_, at(appended), key);
                REQUIRE(c.has_value());
                append(ledger_stream(0), c.value(), digest_of("config-2"));
            }
        }
    }

    const event_log& log() const { return *log_; }
    const std::vector<std::vector<std::uint8_t>>& records() const { return records_; }
    const fs::path& data_dir() const { return data_dir_; }

    // An archive of the log, as `regledger export` writes it.
    fs::path write(std::string_view name, const verify_key* key) {
        export_options o;
        o.source = "embedded " + data_dir_.string();
        o.created_at = instant::parse("2026-10-20T09:30:00+08:00").value();
        o.public_key = key;
        o.rule_set = rule_set_id("LN-2025");
        o.calendar_version = digest_of("calendar");
        const auto file = dir_ / name;
        auto report = write_archive(*log_, file, o);
        REQUIRE_MESSAGE(report.has_value(), (report ? std::string() : report.error().what));
        return file;
    }

private:
    static instant at(std::size_t n) {
        return instant::parse("2026-03-02T09:00:00+08:00").value().plus_us(static_cast<std::int64_t>(n) * 1'000'000);
    }

    void append(const stream_id& stream, const event& e, const digest& config) {
        auto& [version, head] = heads_[stream];
        envelope env;
        env.stream_id = stream;
        env.version = stream_version(version.value() + 1);
        env.event_id = event_id(fmt::format("{}/{}", stream.value(), env.version.value()));
        env.occurred_at = at(records_.size());
        env.actor = actor{account_id("acct-a"), role::subject, std::nullopt};
        env.command_id = command_id(fmt::format("cmd-{}", records_.size()));
        env.correlation_id = correlation_id(env.command_id.value());
        env.causation_id = causation_id(env.command_id.value());
        env.rule_set = rule_set_id("LN-2025");
        env.calendar_version = digest_of("calendar");
        env.config_hash = config;
        env.prev_hash = head;
        env.hash = compute_hash(env, e);
        const auto bytes = encode(event_record{env, e});
        log_record r;
        r.key = stream;
        r.type = type_id_of(e);
        r.value = bytes;
        REQUIRE(log_->stage({&r, 1}).has_value());
        rocksdb::WriteBatch nothing;
        REQUIRE(log_->commit(nothing).has_value());
        tree_.append(merkle::leaf_hash(bytes));
        records_.push_back(bytes);
        version = env.version;
        head = env.hash;
    }

    temp_dir dir_;
    fs::path data_dir_ = dir_ / "data";
    std::unique_ptr<rocks_store> store_;
    std::unique_ptr<embedded_log> log_;
    std::map<stream_id, std::pair<stream_version, digest>> heads_;
    merkle::frontier tree_;
    std::vector<std::vector<std::uint8_t>> records_;
};

// ---- An auditor's reader, from the format comment of events/archive.h -------

std::uint64_t be(std::string_view bytes, std::size_t at, std::size_t width) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<std::uint8_t>(bytes[at + i]);
    return v;
}

struct parsed_record {
    std::uint32_t partition;
    std::int64_t offset;
    // Where the record's bytes start in the file.
    std::size_t at;
    std::string bytes;
};

struct parsed_archive {
    std::string header;
    std::vector<parsed_record> records;
};

parsed_archive parse_by_hand(std::string_view file) {
    parsed_archive out;
    REQUIRE(file.substr(0, 18) == "REGLEDGER-ARCHIVE\n");
    const std::size_t body_end = file.size() - 46;
    REQUIRE(file.substr(body_end, 14) == "REGLEDGER-END\n");
    CHECK(to_hex(sha256::of(file.substr(0, body_end))) ==
          to_hex([&] {
              sha256_digest d;
              for (std::size_t i = 0; i < 32; ++i) d[i] = static_cast<std::uint8_t>(file[body_end + 14 + i]);
              return d;
          }()));
    const auto header_bytes = static_cast<std::size_t>(be(file, 18, 4));
    out.header = std::string(file.substr(22, header_bytes));
    for (std::size_t at = 22 + header_bytes; at < body_end;) {
        parsed_record r;
        r.partition = static_cast<std::uint32_t>(be(file, at, 4));
        r.offset = static_cast<std::int64_t>(be(file, at + 4, 8));
        const auto length = static_cast<std::size_t>(be(file, at + 12, 4));
        r.at = at + 16;
        r.bytes = std::string(file.substr(r.at, length));
        out.records.push_back(std::move(r));
        at += 16 + length;
    }
    return out;
}

// The bytes of an archive with this header text and these records, its
// trailer computed here.
std::string assemble(std::string_view header, const std::vector<parsed_record>& records) {
    std::string out("REGLEDGER-ARCHIVE\n");
    const auto put = [&](std::uint64_t v, int width) {
        for (int shift = 8 * (width - 1); shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
    };
    put(header.size(), 4);
    out += header;
    for (const auto& r : records) {
        put(r.partition, 4);
        put(static_cast<std::uint64_t>(r.offset), 8);
        put(r.bytes.size(), 4);
        out += r.bytes;
    }
    const auto d = sha256::of(out);
    out += "REGLEDGER-END\n";
    out.append(reinterpret_cast<const char*>(d.data()), d.size());
    return out;
}

// The archive again with its trailer recomputed: what a forger does.
std::string resealed(std::string file) {
    const auto body = file.substr(0, file.size() - 46);
    const auto d = sha256::of(body);
    return body + "REGLEDGER-END\n" + std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

archive_problem open_fails(const fs::path& file) {
    auto a = archive_log::open(file);
    REQUIRE_MESSAGE(!a.has_value(), "the archive opened");
    return a.error();
}

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

}  // namespace

TEST_CASE("Archive: a log written to an archive reads back record for record, with the header it states") {
    key_pair k;
    sample_ledger ledger(12, 4, *k.signing);
    const auto file = ledger.write("ledger.archive", &*k.verifying);
    const auto bytes = read_bytes(file);
    CHECK_FALSE(fs::exists(file.string() + ".partial"));

    auto opened = archive_log::open(file);
    REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().what));
    const archive_log& a = *opened.value();
    const archive_header& h = a.header();
    const auto n = ledger.records().size();
    CHECK(h.format == 1);
    CHECK(h.created_at == instant::parse("2026-10-20T09:30:00+08:00").value());
    CHECK(h.source == "embedded " + ledger.data_dir().string());
    REQUIRE(h.partitions.size() == 1);
    CHECK(h.partitions[0].records == n);
    CHECK(h.partitions[0].first_offset == log_offset(0));
    CHECK(h.partitions[0].last_offset == log_offset(static_cast<std::int64_t>(n) - 1));
    CHECK(h.records == n);
    CHECK(h.key_id == k.verifying->id());
    CHECK(h.public_key_pem == k.verifying->pem());
    REQUIRE(a.embedded_key().has_value());
    CHECK(a.embedded_key()->raw() == k.verifying->raw());
    CHECK(h.rule_set == rule_set_id("LN-2025"));
    CHECK(h.calendar_version == digest_of("calendar"));
    CHECK(h.config_hashes.size() == 2);
    CHECK(std::is_sorted(h.config_hashes.begin(), h.config_hashes.end()));
    CHECK(h.calendar_versions == std::vector<digest>{digest_of("calendar")});
    CHECK(a.file_bytes() == bytes.size());
    CHECK(a.contiguous_offsets());
    CHECK(a.partition_count() == 1);
    CHECK(a.end(partition_id(0)).value() == log_offset(static_cast<std::int64_t>(n)));
    CHECK(a.end(partition_id(1)).value() == log_offset(0));

    SUBCASE("read() gives the log's records, at their offsets, in batches of any size") {
        for (std::size_t batch : {std::size_t{1}, std::size_t{5}, n + 3}) {
            CAPTURE(batch);
            std::vector<std::vector<std::uint8_t>> seen;
            for (std::int64_t next = 0;;) {
                auto records = a.read({partition_id(0), log_offset(next)}, batch);
                REQUIRE(records.has_value());
                if (records.value().empty()) break;
                CHECK(records.value().size() <= batch);
                for (const auto& r : records.value()) {
                    CHECK(r.position.offset.value() == static_cast<std::int64_t>(seen.size()));
                    seen.push_back(r.value);
                }
                next = records.value().back().position.offset.value() + 1;
            }
            CHECK(seen == ledger.records());
        }
        CHECK(a.read({partition_id(0), log_offset(static_cast<std::int64_t>(n))}, 10).value().empty());
        CHECK(a.read({partition_id(3), log_offset(0)}, 10).value().empty());
        log_record r;
        CHECK(opened.value()->stage({&r, 1}).error() == archive_errc::read_only);
    }

    SUBCASE("an auditor's own reader finds the same records, header and digest") {
        const auto parsed = parse_by_hand(bytes);
        CHECK(parsed.header == header_json(h));
        REQUIRE(parsed.records.size() == n);
        for (std::size_t i = 0; i < n; ++i) {
            CHECK(parsed.records[i].partition == 0);
            CHECK(parsed.records[i].offset == static_cast<std::int64_t>(i));
            CHECK(parsed.records[i].bytes == std::string(ledger.records()[i].begin(), ledger.records()[i].end()));
        }
        const auto body = std::string_view(bytes).substr(0, bytes.size() - 46);
        CHECK(to_hex(a.file_digest().value()) == to_hex(sha256::of(body)));
    }

    SUBCASE("the header's JSON reads back to the same header") {
        const auto again = parse_header(header_json(h));
        REQUIRE(again.has_value());
        CHECK(again.value() == h);
    }

    SUBCASE("it verifies: with the pinned key, with its own, and without one") {
        archive_verify_options o;
        o.pinned_key = &*k.verifying;
        std::uint64_t last = 0;
        o.progress = [&](std::uint64_t done, std::uint64_t total) {
            CHECK(done <= total);
            last = done;
        };
        auto pinned = verify_archive(a, o);
        REQUIRE_MESSAGE(pinned.has_value(), (pinned ? std::string() : pinned.error().what));
        CHECK(last == n);
        CHECK(pinned.value().summary.records == n);
        CHECK(pinned.value().summary.streams == 4);
        CHECK(pinned.value().summary.checkpoints == 3);
        CHECK(pinned.value().summary.signatures_checked == 3);
        CHECK(pinned.value().key == key_origin::pinned);
        CHECK(pinned.value().key_id == k.verifying->id());

        auto own = verify_archive(a, {});
        REQUIRE(own.has_value());
        CHECK(own.value().key == key_origin::archive);
        CHECK(own.value().summary.signatures_checked == 3);

        const auto keyless_file = ledger.write("keyless.archive", nullptr);
        auto keyless = archive_log::open(keyless_file);
        REQUIRE(keyless.has_value());
        CHECK_FALSE(keyless.value()->header().key_id.has_value());
        auto unchecked = verify_archive(*keyless.value(), {});
        REQUIRE(unchecked.has_value());
        CHECK(unchecked.value().key == key_origin::none);
        CHECK(unchecked.value().summary.checkpoints == 3);
        CHECK(unchecked.value().summary.signatures_checked == 0);
    }

    SUBCASE("a pinned key other than the archive's is refused, naming both") {
        key_pair other;
        archive_verify_options o;
        o.pinned_key = &*other.verifying;
        const auto refused = verify_archive(a, o);
        REQUIRE_FALSE(refused.has_value());
        CHECK(refused.error().code == archive_errc::key_mismatch);
        CHECK(contains(refused.error().what, k.verifying->id()));
        CHECK(contains(refused.error().what, other.verifying->id()));
    }

    SUBCASE("export never overwrites an archive, and refuses a key the checkpoints do not name") {
        export_options o;
        o.source = "embedded x";
        auto again = write_archive(ledger.log(), file, o);
        REQUIRE_FALSE(again.has_value());
        CHECK(again.error().code == archive_errc::exists);
        CHECK(read_bytes(file) == bytes);

        key_pair other;
        o.public_key = &*other.verifying;
        const auto wrong = file.parent_path() / "wrong-key.archive";
        auto refused = write_archive(ledger.log(), wrong, o);
        REQUIRE_FALSE(refused.has_value());
        CHECK(refused.error().code == archive_errc::bad_source);
        REQUIRE(refused.error().position.has_value());
        CHECK(refused.error().position->offset == log_offset(4));
        CHECK(contains(refused.error().what, other.verifying->id()));
        CHECK_FALSE(fs::exists(wrong));
        CHECK_FALSE(fs::exists(wrong.string() + ".partial"));
    }
}

TEST_CASE("Archive: the trailer catches a flipped byte anywhere, and any truncation, before anything else") {
    key_pair k;
    sample_ledger ledger(4, 2, *k.signing);
    const auto file = ledger.write("small.archive", &*k.verifying);
    const std::string bytes = read_bytes(file);
    const std::size_t body_end = bytes.size() - archive_trailer_bytes;
    const auto damaged = file.parent_path() / "damaged.archive";

    SUBCASE("a flipped bit in any byte") {
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            CAPTURE(i);
            std::string flipped = bytes;
            flipped[i] = static_cast<char>(flipped[i] ^ 0x10);
            write_bytes(damaged, flipped);
            const auto p = open_fails(damaged);
            if (i >= body_end && i < body_end + archive_trailer_magic.size()) {
                // The trailer's magic itself: no trailer where it belongs.
                CHECK(p.code == archive_errc::truncated);
            } else {
                CHECK(p.code == archive_errc::digest_mismatch);
                CHECK(contains(p.what,
                               fmt::format("does not match its trailer: its first {} bytes hash to", body_end)));
            }
        }
    }

    SUBCASE("cut short anywhere, or lengthened") {
        for (std::size_t size = 0; size < bytes.size(); ++size) {
            CAPTURE(size);
            write_bytes(damaged, std::string_view(bytes).substr(0, size));
            const auto p = open_fails(damaged);
            if (size < archive_magic.size()) {
                CHECK(p.code == archive_errc::not_an_archive);
            } else {
                CHECK(p.code == archive_errc::truncated);
                CHECK(contains(p.what, fmt::format("is truncated: its {} bytes do not end with the trailer", size)));
            }
        }
        write_bytes(damaged, bytes + "x");
        CHECK(open_fails(damaged).code == archive_errc::truncated);
    }

    SUBCASE("something else entirely, and a file that is not there") {
        write_bytes(damaged, "{\"not\": \"an archive at all, but long enough to hold a trailer somewhere\"}\n");
        CHECK(open_fails(damaged).code == archive_errc::not_an_archive);
        const auto missing = open_fails(file.parent_path() / "missing.archive");
        CHECK(missing.code == archive_errc::io);
        CHECK(contains(missing.what, "missing.archive"));
    }
}

TEST_CASE("Archive: a header or framing that disagrees with itself is named, even under a valid trailer") {
    key_pair k;
    sample_ledger ledger(4, 2, *k.signing);
    const auto file = ledger.write("base.archive", &*k.verifying);
    const auto base = parse_by_hand(read_bytes(file));
    const archive_header h = archive_log::open(file).value()->header();
    const auto crafted = file.parent_path() / "crafted.archive";
    const auto refused = [&](std::string_view header, const std::vector<parsed_record>& records) {
        write_bytes(crafted, assemble(header, records));
        return open_fails(crafted);
    };
    const auto with = [&](auto change) {
        archive_header x = h;
        change(x);
        return header_json(x);
    };

    SUBCASE("not JSON, not an object, a member missing or of the wrong type") {
        CHECK(refused("{\"format\": 1,", base.records).code == archive_errc::bad_header);
        CHECK(refused("[1, 2]", base.records).code == archive_errc::bad_header);
        std::string no_records = base.header;
        no_records.replace(no_records.rfind(",\"records\":"), std::string::npos, "}");
        const auto missing = refused(no_records, base.records);
        CHECK(missing.code == archive_errc::bad_header);
        CHECK(contains(missing.what, "\"records\" is missing"));
        std::string bad_created = base.header;
        bad_created.replace(bad_created.find("2026-10-20"), 10, "2026-13-20");
        CHECK(contains(refused(bad_created, base.records).what, "\"created_at\""));
        std::string bad_hex = base.header;
        bad_hex.replace(bad_hex.find("\"calendar_version\":\"") + 20, 2, "zz");
        CHECK(contains(refused(bad_hex, base.records).what, "\"calendar_version\" is not 64 hex digits"));
    }

    SUBCASE("a later format is named as such") {
        const auto p = refused(with([](archive_header& x) { x.format = 2; }), base.records);
        CHECK(p.code == archive_errc::unsupported_format);
        CHECK(contains(p.what, "format 2"));
    }

    SUBCASE("a key id that is not the embedded key's") {
        const auto p = refused(with([](archive_header& x) { x.key_id = "0123456789abcdef"; }), base.records);
        CHECK(p.code == archive_errc::bad_header);
        CHECK(contains(p.what, "0123456789abcdef"));
    }

    SUBCASE("counts and offsets the records do not have") {
        auto p = refused(with([](archive_header& x) { x.records += 1; }), base.records);
        CHECK(p.code == archive_errc::bad_record);
        p = refused(with([](archive_header& x) {
                        x.partitions[0].records += 1;
                        x.records += 1;
                    }),
                    base.records);
        CHECK(p.code == archive_errc::bad_record);
        CHECK(contains(p.what, "partition 0 holds"));
        auto shorter = base.records;
        shorter.pop_back();
        p = refused(base.header, shorter);
        CHECK(p.code == archive_errc::bad_record);
    }

    SUBCASE("records out of order, in a partition not listed, or longer than the file") {
        auto swapped = base.records;
        std::swap(swapped[1], swapped[2]);
        auto p = refused(base.header, swapped);
        CHECK(p.code == archive_errc::bad_record);
        REQUIRE(p.position.has_value());
        CHECK(p.position->offset == log_offset(1));
        CHECK(contains(p.what, "not after the previous record's 2"));

        auto elsewhere = base.records;
        elsewhere[3].partition = 7;
        p = refused(base.header, elsewhere);
        CHECK(p.code == archive_errc::bad_record);
        CHECK(contains(p.what, "partition 7"));

        std::string overlong = assemble(base.header, base.records);
        const std::size_t last_length_at = base.records.back().at - 4;
        overlong[last_length_at] = static_cast<char>(0x01);
        write_bytes(crafted, resealed(overlong));
        p = open_fails(crafted);
        CHECK(p.code == archive_errc::bad_record);
        CHECK(contains(p.what, "runs past the records' end"));
    }

    SUBCASE("a header length past the end") {
        std::string bytes = assemble(base.header, base.records);
        bytes[18] = static_cast<char>(0x7f);
        write_bytes(crafted, resealed(bytes));
        const auto p = open_fails(crafted);
        CHECK(p.code == archive_errc::bad_header);
        CHECK(contains(p.what, "runs past"));
    }
}

TEST_CASE("Archive: verify_log over an archive_log names the position of a record changed under a valid trailer") {
    key_pair k;
    sample_ledger ledger(12, 4, *k.signing);
    const auto file = ledger.write("ledger.archive", &*k.verifying);
    const std::string bytes = read_bytes(file);
    const auto parsed = parse_by_hand(bytes);
    const auto forged = file.parent_path() / "forged.archive";
    const auto verify_fails = [&](const std::string& archive_bytes) {
        write_bytes(forged, archive_bytes);
        auto a = archive_log::open(forged);
        REQUIRE_MESSAGE(a.has_value(), (a ? std::string() : a.error().what));
        archive_verify_options o;
        o.pinned_key = &*k.verifying;
        auto report = verify_archive(*a.value(), o);
        REQUIRE_MESSAGE(!report.has_value(), "the forged archive verified");
        return report.error();
    };

    SUBCASE("a byte of a record's contents, at each record") {
        for (std::size_t i = 0; i < parsed.records.size(); ++i) {
            CAPTURE(i);
            const auto rec = decode({reinterpret_cast<const std::uint8_t*>(parsed.records[i].bytes.data()),
                                     parsed.records[i].bytes.size()});
            REQUIRE(rec.has_value());
            const auto& command = rec.value().envelope.command_id.value();
            const auto in_record = parsed.records[i].bytes.find(command);
            REQUIRE(in_record != std::string::npos);
            std::string changed = bytes;
            changed[parsed.records[i].at + in_record + command.size() - 1] ^= 0x01;
            const auto p = verify_fails(resealed(changed));
            CHECK(p.code == archive_errc::damaged);
            REQUIRE(p.position.has_value());
            CHECK(p.position->partition == partition_id(0));
            CHECK(p.position->offset == log_offset(static_cast<std::int64_t>(i)));
            CHECK(contains(p.what, fmt::format("archive position 0:{}: the hash of", i)));
        }
    }

    SUBCASE("a record dropped: a gap in an embedded log's offsets, or the next checkpoint's tree size") {
        // Offset 13 is the last event of its stream, just before the third
        // checkpoint (14): every stream's chain still holds without it.
        auto dropped = parsed.records;
        dropped.erase(dropped.begin() + 13);
        archive_header h = archive_log::open(file).value()->header();
        h.partitions[0].records -= 1;
        h.records -= 1;
        auto p = verify_fails(assemble(header_json(h), dropped));
        REQUIRE(p.position.has_value());
        CHECK(p.position->offset == log_offset(13));
        CHECK(contains(p.what, "record 13 is missing"));

        // From Kafka, offsets have gaps: the checkpoint after it counts it.
        h.source = "kafka 127.0.0.1:9092 regledger.events";
        p = verify_fails(assemble(header_json(h), dropped));
        REQUIRE(p.position.has_value());
        CHECK(p.position->offset == log_offset(14));
        CHECK(contains(p.what, "tree size 14"));
    }

    SUBCASE("config hashes in the header that the records do not carry") {
        archive_header h = archive_log::open(file).value()->header();
        h.config_hashes.pop_back();
        const auto p = verify_fails(assemble(header_json(h), parsed.records));
        CHECK(p.code == archive_errc::bad_header);
        CHECK(contains(p.what, "config hashes"));
    }
}

TEST_CASE("Archive: restore_log writes offsets 0, 1, 2, ... into a new directory only, from one partition only") {
    key_pair k;
    sample_ledger ledger(8, 4, *k.signing);
    const auto file = ledger.write("ledger.archive", &*k.verifying);
    const auto parsed = parse_by_hand(read_bytes(file));
    archive_header h = archive_log::open(file).value()->header();
    temp_dir target;

    SUBCASE("a Kafka partition's gaps are closed up, and the restored log verifies") {
        auto gapped = parsed.records;
        for (auto& r : gapped) r.offset = 3 * r.offset + 2;
        h.source = "kafka 127.0.0.1:9092 regledger.events";
        h.partitions[0].first_offset = log_offset(gapped.front().offset);
        h.partitions[0].last_offset = log_offset(gapped.back().offset);
        const auto kafka_file = target / "kafka.archive";
        write_bytes(kafka_file, assemble(header_json(h), gapped));
        auto a = archive_log::open(kafka_file);
        REQUIRE_MESSAGE(a.has_value(), (a ? std::string() : a.error().what));
        CHECK_FALSE(a.value()->contiguous_offsets());
        REQUIRE(verify_archive(*a.value(), {}).has_value());
        std::uint64_t progress = 0;
        restore_options o;
        o.write_batch_records = 3;
        o.progress = [&](std::uint64_t done, std::uint64_t) { progress = done; };
        const auto restored = restore_log(*a.value(), target / "data", o);
        REQUIRE_MESSAGE(restored.has_value(), (restored ? std::string() : restored.error().what));
        CHECK(restored.value().records == parsed.records.size());
        CHECK(progress == parsed.records.size());

        store_options so;
        so.dir = target / "data";
        so.create_if_missing = false;
        const std::string_view families[] = {embedded_log::column_family};
        auto store = rocks_store::open(so, families);
        REQUIRE(store.has_value());
        auto log = embedded_log::open(*store.value());
        REQUIRE(log.has_value());
        const auto size = static_cast<std::int64_t>(parsed.records.size());
        CHECK(log.value()->end(partition_id(0)).value() == log_offset(size));
        const auto all = log.value()->read({partition_id(0), log_offset(0)}, 1000).value();
        REQUIRE(all.size() == parsed.records.size());
        for (std::size_t i = 0; i < all.size(); ++i) {
            CHECK(all[i].position.offset == log_offset(static_cast<std::int64_t>(i)));
            CHECK(std::string(all[i].value.begin(), all[i].value.end()) == parsed.records[i].bytes);
        }
        verify_options vo;
        vo.public_key = &*k.verifying;
        const auto summary = verify_log(*log.value(), vo);
        REQUIRE_MESSAGE(summary.has_value(), (summary ? std::string() : summary.error().what));
        CHECK(summary.value().signatures_checked == 2);
    }

    SUBCASE("a directory that is not empty is refused and left alone") {
        fs::create_directories(target / "data");
        write_bytes(target / "data" / "keep.txt", "mine");
        auto a = archive_log::open(file);
        REQUIRE(a.has_value());
        const auto p = restore_log(*a.value(), target / "data", {});
        REQUIRE_FALSE(p.has_value());
        CHECK(p.error().code == archive_errc::exists);
        CHECK(read_bytes(target / "data" / "keep.txt") == "mine");
        CHECK(std::distance(fs::directory_iterator(target / "data"), fs::directory_iterator()) == 1);
    }

    SUBCASE("records in a second partition are refused, and nothing is written") {
        auto split = parsed.records;
        h.source = "kafka 127.0.0.1:9092 regledger.events";
        h.partitions.push_back({1, 2, log_offset(0), log_offset(1)});
        h.partitions[0].records -= 2;
        h.partitions[0].last_offset = log_offset(split[split.size() - 3].offset);
        split[split.size() - 2].partition = 1;
        split[split.size() - 2].offset = 0;
        split[split.size() - 1].partition = 1;
        split[split.size() - 1].offset = 1;
        const auto two = target / "two.archive";
        write_bytes(two, assemble(header_json(h), split));
        auto a = archive_log::open(two);
        REQUIRE_MESSAGE(a.has_value(), (a ? std::string() : a.error().what));
        CHECK(a.value()->partition_count() == 2);
        const auto p = restore_log(*a.value(), target / "data", {});
        REQUIRE_FALSE(p.has_value());
        CHECK(p.error().code == archive_errc::not_restorable);
        CHECK(contains(p.error().what, "2 partitions"));
        CHECK_FALSE(fs::exists(target / "data"));
    }
}

TEST_CASE("Archive: an empty log archives, verifies and restores as an empty log") {
    key_pair k;
    sample_ledger ledger(0, 4, *k.signing);
    const auto file = ledger.write("empty.archive", nullptr);
    auto a = archive_log::open(file);
    REQUIRE_MESSAGE(a.has_value(), (a ? std::string() : a.error().what));
    const auto& h = a.value()->header();
    CHECK(h.records == 0);
    REQUIRE(h.partitions.size() == 1);
    CHECK_FALSE(h.partitions[0].first_offset.has_value());
    CHECK(h.config_hashes.empty());
    CHECK(a.value()->end(partition_id(0)).value() == log_offset(0));
    const auto report = verify_archive(*a.value(), {});
    REQUIRE(report.has_value());
    CHECK(report.value().summary.records == 0);
    temp_dir target;
    const auto restored = restore_log(*a.value(), target / "data", {});
    REQUIRE(restored.has_value());
    CHECK(restored.value().records == 0);
    CHECK(fs::exists(target / "data" / "CURRENT"));
}
