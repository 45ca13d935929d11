#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "events/canonical.h"
#include "events/codec.h"
#include "tests/events/samples.h"

using namespace regledger;
using namespace regledger::events;

namespace {

using bytes = std::vector<std::uint8_t>;

// Field slots of schemas/events.fbs (vtable offset = 4 + 2 * field index),
// for tests that patch or hand-build records.
constexpr flatbuffers::voffset_t slot(int index) { return static_cast<flatbuffers::voffset_t>(4 + 2 * index); }
constexpr flatbuffers::voffset_t envelope_schema_version = slot(3);
constexpr flatbuffers::voffset_t envelope_payload_type = slot(14);
constexpr flatbuffers::voffset_t envelope_payload = slot(15);

event_record full(event_type_id id) {
    auto rec = samples::full_record(id);
    REQUIRE_MESSAGE(rec, "no full sample for event type ", id, " (", *type_name_of_id(id), ")");
    return *rec;
}

codec_errc error_of(const result<event_record>& r) {
    REQUIRE(r.has_error());
    REQUIRE(r.error().category() == codec_category());
    return static_cast<codec_errc>(r.error().value());
}

flatbuffers::Table& root_of(bytes& b) { return *flatbuffers::GetMutableRoot<flatbuffers::Table>(b.data()); }
flatbuffers::Table& payload_of(bytes& b) { return *root_of(b).GetPointer<flatbuffers::Table*>(envelope_payload); }

// A hand-built record: a valid envelope written field by field, around a
// payload that the caller writes.
template <typename WritePayload>
bytes raw_record(std::uint8_t type, WritePayload write_payload) {
    flatbuffers::FlatBufferBuilder b;
    const auto payload = write_payload(b);
    std::vector<flatbuffers::Offset<flatbuffers::String>> strings;
    for (const char* s : {"reg-R1/1", "reg-R1"}) strings.push_back(b.CreateString(s));
    const auto account = b.CreateString("acct-1");
    const auto actor_start = b.StartTable();
    b.AddOffset(slot(0), account);
    b.AddElement<std::uint8_t>(slot(1), 0);
    const auto actor = flatbuffers::Offset<void>(b.EndTable(actor_start));
    std::vector<flatbuffers::Offset<flatbuffers::String>> ids;
    for (const char* s : {"cmd-1", "corr-1", "cmd-1", "LN-2025"}) ids.push_back(b.CreateString(s));
    const std::array<std::uint8_t, 32> zeros{};
    const auto start = b.StartTable();
    b.AddOffset(slot(0), strings[0]);
    b.AddOffset(slot(1), strings[1]);
    b.AddElement<std::uint64_t>(slot(2), 1);
    b.AddElement<std::uint16_t>(slot(3), 1);
    b.AddElement<std::int64_t>(slot(4), 0);
    b.AddOffset(slot(5), actor);
    for (int i = 0; i < 4; ++i) b.AddOffset(slot(6 + i), ids[static_cast<std::size_t>(i)]);
    for (int i = 0; i < 4; ++i) b.AddStruct(slot(10 + i), &zeros);
    b.AddElement<std::uint8_t>(envelope_payload_type, type);
    b.AddOffset(envelope_payload, payload);
    b.Finish(flatbuffers::Offset<void>(b.EndTable(start)), "RLEV");
    return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

const event_type_id review_passed_id = type_id_of(review_passed{});
const event_type_id supplement_requested_id = type_id_of(supplement_requested{});
const event_type_id account_opened_id = type_id_of(account_opened{});

}  // namespace

TEST_CASE("the schema and the engine's structs agree") {
    const auto mismatch = schema_mismatch();
    CHECK_MESSAGE(!mismatch, mismatch.value_or(""));
}

TEST_CASE("every event round-trips, fully populated and minimal") {
    for (event_type_id id = 1; id <= event_type_count; ++id) {
        CAPTURE(*type_name_of_id(id));
        for (const auto& rec : {full(id), samples::minimal_record(id)}) {
            REQUIRE(type_id_of(rec.event) == id);
            const bytes encoded = encode(rec);
            const auto decoded = decode(encoded);
            REQUIRE_MESSAGE(decoded.has_value(), decoded.error().message());
            CHECK(decoded.value() == rec);
            CHECK(hash_matches(decoded.value()));
            CHECK(peek_type(encoded) == id);
        }
    }
}

TEST_CASE("the full samples leave no optional empty") {
    // Guards the round-trip test: a present optional must survive the codec.
    const auto rec = full(type_id_of(application_submitted{}));
    const auto& submitted = std::get<application_submitted>(rec.event);
    REQUIRE(submitted.record);
    const auto& r = *submitted.record;
    CHECK((r.coverage_time && r.update_frequency && r.data_scale && r.security_level && r.access_method &&
           r.product_form && r.authorization));
    CHECK(rec.envelope.actor.institution);
    CHECK(std::get<registration_deregistered>(full(type_id_of(registration_deregistered{})).event).application_id);
}

TEST_CASE("encoding is deterministic") {
    for (event_type_id id = 1; id <= event_type_count; ++id) {
        const auto rec = full(id);
        CHECK(encode(rec) == encode(rec));
        auto copy = rec;
        CHECK(encode(copy) == encode(rec));
    }
}

TEST_CASE("an absent optional and an empty one stay apart") {
    auto rec = samples::minimal_record(review_passed_id);
    rec.envelope.actor.institution = institution_id("");
    const auto decoded = decode(encode(rec));
    REQUIRE(decoded.has_value());
    CHECK(decoded.value().envelope.actor.institution == institution_id(""));
}

TEST_CASE("decode accepts a buffer at any alignment") {
    const bytes encoded = encode(full(type_id_of(application_submitted{})));
    for (std::size_t shift = 1; shift < 8; ++shift) {
        bytes storage(encoded.size() + shift);
        std::memcpy(storage.data() + shift, encoded.data(), encoded.size());
        const auto decoded = decode(std::span<const std::uint8_t>(storage.data() + shift, encoded.size()));
        REQUIRE(decoded.has_value());
        CHECK(decoded.value() == full(type_id_of(application_submitted{})));
    }
}

TEST_CASE("decode refuses what is not a record, with a typed error") {
    const bytes good = encode(full(review_passed_id));

    SUBCASE("empty") { CHECK(error_of(decode({})) == codec_errc::empty); }
    SUBCASE("shorter than a header") {
        CHECK(error_of(decode(std::span(good).first(7))) == codec_errc::truncated);
    }
    SUBCASE("cut short") {
        CHECK(error_of(decode(std::span(good).first(good.size() - 1))) == codec_errc::verification_failed);
    }
    SUBCASE("too large") {
        bytes huge(record_bytes_max + 1, 0);
        std::memcpy(huge.data(), good.data(), good.size());
        CHECK(error_of(decode(huge)) == codec_errc::too_large);
    }
    SUBCASE("another file identifier") {
        bytes other = good;
        std::memcpy(other.data() + 4, "RLEX", 4);
        CHECK(error_of(decode(other)) == codec_errc::not_a_record);
        CHECK(peek_type(other) == std::nullopt);
    }
    SUBCASE("a root offset past the end") {
        bytes other = good;
        other[0] = 0xff;
        other[1] = 0xff;
        CHECK(error_of(decode(other)) == codec_errc::verification_failed);
    }
}

TEST_CASE("an unknown union tag is an unknown event type") {
    bytes b = encode(full(review_passed_id));
    REQUIRE(root_of(b).SetField<std::uint8_t>(envelope_payload_type, event_type_count + 1, 0));
    CHECK(error_of(decode(b)) == codec_errc::unknown_event_type);
    CHECK(peek_type(b) == std::nullopt);

    REQUIRE(root_of(b).SetField<std::uint8_t>(envelope_payload_type, 255, 0));
    CHECK(error_of(decode(b)) == codec_errc::unknown_event_type);
}

TEST_CASE("a record without a payload is invalid") {
    bytes b = encode(full(review_passed_id));
    REQUIRE(root_of(b).SetField<std::uint8_t>(envelope_payload_type, 0, 0));
    CHECK(error_of(decode(b)) == codec_errc::invalid_field);
}

TEST_CASE("schema versions this build does not read are refused") {
    bytes b = encode(full(review_passed_id));
    REQUIRE(root_of(b).SetField<std::uint16_t>(envelope_schema_version, current_schema_version + 1, 0));
    CHECK(error_of(decode(b)) == codec_errc::unsupported_schema_version);
    REQUIRE(root_of(b).SetField<std::uint16_t>(envelope_schema_version, 0, 0));
    CHECK(error_of(decode(b)) == codec_errc::unsupported_schema_version);
}

TEST_CASE("field values outside their type are invalid") {
    SUBCASE("an enum value with no enumerator") {
        bytes b = encode(full(account_opened_id));
        REQUIRE(payload_of(b).SetField<std::uint8_t>(slot(3), 5, 0));  // subject_type: 0..4
        CHECK(error_of(decode(b)) == codec_errc::invalid_field);
        REQUIRE(payload_of(b).SetField<std::uint8_t>(slot(3), 4, 0));
        CHECK(decode(b).has_value());
    }
    SUBCASE("an optional enum value with no enumerator") {
        const auto id = type_id_of(registration_changed{});
        bytes b = encode(full(id));
        auto& record = *payload_of(b).GetPointer<flatbuffers::Table*>(slot(1));
        REQUIRE(record.SetField<std::uint8_t>(slot(9), 3, 0));  // access_method: 0..2
        CHECK(error_of(decode(b)) == codec_errc::invalid_field);
    }
    SUBCASE("a date outside 0001-01-01 .. 9999-12-31") {
        const auto id = type_id_of(acceptance_overdue{});
        bytes b = encode(full(id));
        for (const std::int32_t days : {std::numeric_limits<std::int32_t>::max(), 2932897, -719163,
                                        std::numeric_limits<std::int32_t>::min()}) {
            CAPTURE(days);
            REQUIRE(payload_of(b).SetField<std::int32_t>(slot(1), days, 0));
            CHECK(error_of(decode(b)) == codec_errc::invalid_field);
        }
        REQUIRE(payload_of(b).SetField<std::int32_t>(slot(1), 2932896, 0));
        REQUIRE(decode(b).has_value());
        CHECK(std::get<acceptance_overdue>(decode(b).value().event).acceptance_due.to_string() == "9999-12-31");
    }
    SUBCASE("an instant outside the valid days") {
        bytes b = encode(full(review_passed_id));
        REQUIRE(root_of(b).SetField<std::int64_t>(slot(4), std::numeric_limits<std::int64_t>::max(), 0));
        CHECK(error_of(decode(b)) == codec_errc::invalid_field);
        REQUIRE(root_of(b).SetField<std::int64_t>(slot(4), std::numeric_limits<std::int64_t>::min(), 0));
        CHECK(error_of(decode(b)) == codec_errc::invalid_field);
    }
    SUBCASE("a string that is not UTF-8") {
        bytes b = encode(full(account_opened_id));
        REQUIRE(payload_of(b).GetPointer<flatbuffers::String*>(slot(1))->size() >= 3);  // "辽宁省交通运输厅"
        // A byte no UTF-8 text starts with, an overlong lead, a lone continuation.
        for (const std::uint8_t bad : {0xff, 0xc0, 0x80}) {
            bytes copy = b;
            auto* s = payload_of(copy).GetPointer<flatbuffers::String*>(slot(1));
            s->data()[0] = static_cast<char>(bad);
            CHECK(error_of(decode(copy)) == codec_errc::invalid_field);
        }
    }
}

TEST_CASE("a missing field is invalid") {
    SUBCASE("an envelope without its fields") {
        flatbuffers::FlatBufferBuilder b;
        const auto app = b.CreateString("app-1");
        const auto payload_start = b.StartTable();
        b.AddOffset(slot(0), app);
        const auto payload = flatbuffers::Offset<void>(b.EndTable(payload_start));
        const auto start = b.StartTable();
        b.AddElement<std::uint16_t>(envelope_schema_version, 1);
        b.AddElement<std::uint8_t>(envelope_payload_type, static_cast<std::uint8_t>(review_passed_id));
        b.AddOffset(envelope_payload, payload);
        b.Finish(flatbuffers::Offset<void>(b.EndTable(start)), "RLEV");
        const bytes raw(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
        CHECK(error_of(decode(raw)) == codec_errc::invalid_field);
        CHECK(peek_type(raw) == review_passed_id);
    }
    SUBCASE("a payload without a required string") {
        const bytes raw = raw_record(static_cast<std::uint8_t>(review_passed_id), [](auto& b) {
            return flatbuffers::Offset<void>(b.EndTable(b.StartTable()));
        });
        CHECK(error_of(decode(raw)) == codec_errc::invalid_field);
    }
    SUBCASE("a payload without a required scalar") {
        const auto id = type_id_of(application_accepted{});
        const bytes raw = raw_record(static_cast<std::uint8_t>(id), [](auto& b) {
            const auto app = b.CreateString("app-1");
            const auto start = b.StartTable();
            b.AddOffset(slot(0), app);
            b.template AddElement<std::uint8_t>(slot(2), 1);  // calendar_provisional, but no review_due
            return flatbuffers::Offset<void>(b.EndTable(start));
        });
        CHECK(error_of(decode(raw)) == codec_errc::invalid_field);
    }
    SUBCASE("the hand-built record is otherwise valid") {
        const bytes raw = raw_record(static_cast<std::uint8_t>(review_passed_id), [](auto& b) {
            const auto app = b.CreateString("app-1");
            const auto start = b.StartTable();
            b.AddOffset(slot(0), app);
            return flatbuffers::Offset<void>(b.EndTable(start));
        });
        const auto decoded = decode(raw);
        REQUIRE(decoded.has_value());
        CHECK(std::get<review_passed>(decoded.value().event).application_id == application_id("app-1"));
        CHECK(decoded.value().envelope.event_id == event_id("reg-R1/1"));
    }
}

TEST_CASE("a record whose strings are shared cannot inflate on decode") {
    // SupplementRequested.items: many entries pointing at one large string.
    // The verifier accepts it; the decoder would allocate entries x length.
    const auto make = [](std::size_t entries) {
        return raw_record(static_cast<std::uint8_t>(supplement_requested_id), [&](auto& b) {
            const auto big = b.CreateString(std::string(64 * 1024, 'x'));
            const std::vector<flatbuffers::Offset<flatbuffers::String>> shared(entries, big);
            const auto items = b.CreateVector(shared);
            const auto app = b.CreateString("app-1");
            const auto note = b.CreateString("");
            const auto start = b.StartTable();
            b.AddOffset(slot(0), app);
            b.AddOffset(slot(1), items);
            b.AddOffset(slot(2), note);
            return flatbuffers::Offset<void>(b.EndTable(start));
        });
    };
    const auto one = decode(make(1));
    REQUIRE(one.has_value());
    CHECK(std::get<supplement_requested>(one.value().event).items.size() == 1);
    CHECK(error_of(decode(make(1000))) == codec_errc::verification_failed);
}

TEST_CASE("codec errors have their own category") {
    const std::error_code ec = codec_errc::unknown_event_type;
    CHECK(std::string(ec.category().name()) == "regledger.codec");
    CHECK(ec.message() == "unknown event type");
    CHECK(ec != make_error_code(errc::malformed));
    CHECK(ec.value() == 7);
}
