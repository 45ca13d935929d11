// The codec maps each described C++ struct to the FlatBuffers table of the
// same name by field position: member i of the struct (Boost.Describe order)
// is field i of the table (vtable slot 4 + 2i). The walk is generic, so an
// event added to engine/events.h and schemas/events.fbs needs no code here.
// schema_mismatch() compares the two through the generated mini-reflection
// tables (--reflect-names); it runs once before the first encode or decode.
//
// Encoding writes every field that is not an absent optional, scalars
// included, and never shares strings, vectors or tables between fields. Hence
// a record written here occupies at least as many buffer bytes as the sum of
// its objects' sizes; decode() keeps that sum within the buffer size, which
// bounds the memory a hostile buffer can make it allocate.
#include "events/codec.h"

#include <array>
#include <cassert>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/describe/enumerators.hpp>
#include <boost/mp11/algorithm.hpp>
#include <fmt/format.h>

#include "events/described.h"
#include "generated/events_generated.h"

namespace regledger::events {
namespace {

namespace fb = regledger::fb;
using detail::for_each_member;
using detail::is_described_enum_v;
using detail::is_described_struct_v;
using detail::is_named_type_v;
using detail::is_optional_v;
using detail::is_vector_v;
using detail::member_count_v;
using detail::member_type_t;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;
using flatbuffers::Table;
using flatbuffers::uoffset_t;
using flatbuffers::voffset_t;

static_assert(sizeof(fb::Digest) == sizeof(sha256_digest));
static_assert(static_cast<std::size_t>(fb::Event::MAX) == event_type_count,
              "the union Event of schemas/events.fbs and regledger::event must list the same events");
static_assert(event_type_count <= 255, "a FlatBuffers union holds at most 255 members");

// The vtable slot of the index-th field of a table.
constexpr voffset_t field_slot(std::size_t index) { return static_cast<voffset_t>(4 + 2 * index); }

// The envelope's own fields come first, then the payload union (two slots).
constexpr voffset_t payload_type_slot = field_slot(member_count_v<envelope>);
constexpr voffset_t payload_slot = field_slot(member_count_v<envelope> + 1);
static_assert(payload_type_slot == fb::Envelope::VT_PAYLOAD_TYPE && payload_slot == fb::Envelope::VT_PAYLOAD,
              "Envelope in schemas/events.fbs must list the envelope's fields, then `payload`");

// Every valid calendar_date lies within 0001-01-01 .. 9999-12-31; the instants
// that fall on those days (Asia/Shanghai) are the valid instants.
constexpr std::int32_t days_min = -719162;  // 0001-01-01
constexpr std::int32_t days_max = 2932896;  // 9999-12-31
constexpr std::int64_t us_min = days_min * us_per_day - shanghai_offset_us;
constexpr std::int64_t us_max = (days_max + std::int64_t{1}) * us_per_day - shanghai_offset_us - 1;

// A FlatBuffers header: the root table offset and the file identifier.
constexpr std::size_t header_bytes = sizeof(uoffset_t) + flatbuffers::kFileIdentifierLength;
// Each table begins with a 32-bit offset to its vtable.
constexpr std::size_t table_bytes_min = sizeof(flatbuffers::soffset_t);

// ---- Type classification ----------------------------------------------------

// T without std::optional and named_type wrappers.
template <typename T>
struct bare {
    using type = T;
};
template <typename T>
struct bare<std::optional<T>> : bare<T> {};
template <typename T, typename Tag>
struct bare<named_type<T, Tag>> : bare<T> {};
template <typename T>
using bare_t = typename bare<T>::type;

// Stored in the table itself (a scalar or the Digest struct) rather than
// behind an offset.
template <typename T>
constexpr bool is_inline() {
    using B = bare_t<T>;
    return std::is_arithmetic_v<B> || std::is_enum_v<B> || std::is_same_v<B, calendar_date> ||
           std::is_same_v<B, instant> || std::is_same_v<B, sha256_digest>;
}

// The alignment of a field inside its table; fields are written largest
// first, as flatc's generated builders do, to keep padding small.
template <typename T>
constexpr std::size_t field_alignment() {
    using B = bare_t<T>;
    if constexpr (std::is_same_v<B, sha256_digest>) {
        return alignof(fb::Digest);
    } else if constexpr (std::is_same_v<B, calendar_date>) {
        return sizeof(std::int32_t);
    } else if constexpr (std::is_same_v<B, instant>) {
        return sizeof(std::int64_t);
    } else if constexpr (std::is_arithmetic_v<B> || std::is_enum_v<B>) {
        static_assert(!std::is_floating_point_v<B>, "the ledger has no floating-point fields");
        return sizeof(B);
    } else {
        return sizeof(uoffset_t);
    }
}

constexpr std::array<std::size_t, 4> alignments_largest_first = {8, 4, 2, 1};

// ---- Encoding ---------------------------------------------------------------

template <typename T>
uoffset_t write_table(FlatBufferBuilder& b, const T& value);

// A string, vector or table; 0 for an absent optional.
template <typename T>
uoffset_t write_object(FlatBufferBuilder& b, const T& value) {
    if constexpr (is_optional_v<T>) {
        return value ? write_object(b, *value) : 0;
    } else if constexpr (is_named_type_v<T>) {
        return write_object(b, value.value());
    } else if constexpr (std::is_same_v<T, std::string>) {
        return b.CreateString(value.data(), value.size()).o;
    } else if constexpr (is_vector_v<T>) {
        static_assert(!is_inline<typename T::value_type>(), "vectors hold strings or tables");
        std::vector<Offset<void>> elements;
        elements.reserve(value.size());
        for (const auto& e : value) elements.emplace_back(write_object(b, e));
        return b.CreateVector(elements).o;
    } else {
        static_assert(is_described_struct_v<T>, "a field type the codec does not know");
        return write_table(b, value);
    }
}

template <typename T>
void add_inline(FlatBufferBuilder& b, voffset_t slot, const T& value) {
    if constexpr (is_optional_v<T>) {
        if (value) add_inline(b, slot, *value);
    } else if constexpr (is_named_type_v<T>) {
        add_inline(b, slot, value.value());
    } else if constexpr (std::is_same_v<T, bool>) {
        b.AddElement<std::uint8_t>(slot, value ? 1 : 0);
    } else if constexpr (std::is_enum_v<T>) {
        b.AddElement<std::underlying_type_t<T>>(slot, static_cast<std::underlying_type_t<T>>(value));
    } else if constexpr (std::is_arithmetic_v<T>) {
        b.AddElement<T>(slot, value);
    } else if constexpr (std::is_same_v<T, calendar_date>) {
        b.AddElement<std::int32_t>(slot, value.days_since_epoch());
    } else if constexpr (std::is_same_v<T, instant>) {
        b.AddElement<std::int64_t>(slot, value.unix_us());
    } else {
        static_assert(std::is_same_v<T, sha256_digest>);
        const fb::Digest d(flatbuffers::make_span(value));
        b.AddStruct(slot, &d);
    }
}

// Strings, vectors and tables must exist before the table that refers to
// them is started: this writes them and keeps their offsets by member index.
template <typename T>
std::array<uoffset_t, member_count_v<T>> write_member_objects(FlatBufferBuilder& b, const T& value) {
    std::array<uoffset_t, member_count_v<T>> offsets{};
    for_each_member<T>([&](auto d, std::size_t i) {
        using M = member_type_t<decltype(d)>;
        if constexpr (!is_inline<M>()) offsets[i] = write_object(b, value.*d.pointer);
    });
    return offsets;
}

template <typename T>
void add_members(FlatBufferBuilder& b, const T& value, const std::array<uoffset_t, member_count_v<T>>& offsets,
                 std::size_t alignment) {
    for_each_member<T>([&](auto d, std::size_t i) {
        using M = member_type_t<decltype(d)>;
        if (field_alignment<M>() != alignment) return;
        if constexpr (is_inline<M>()) {
            add_inline(b, field_slot(i), value.*d.pointer);
        } else if (offsets[i] != 0) {
            b.AddOffset(field_slot(i), Offset<void>(offsets[i]));
        }
    });
}

template <typename T>
uoffset_t write_table(FlatBufferBuilder& b, const T& value) {
    const auto offsets = write_member_objects(b, value);
    const uoffset_t start = b.StartTable();
    for (const std::size_t alignment : alignments_largest_first) add_members(b, value, offsets, alignment);
    return b.EndTable(start);
}

// ---- Decoding ---------------------------------------------------------------

std::error_code error(codec_errc e) { return make_error_code(e); }

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
// U+10FFFF.
bool is_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t n = 0;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return false;
        }
        if (s.size() - i <= n) return false;
        for (std::size_t k = 1; k <= n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            const unsigned char min = k == 1 ? lo : 0x80;
            const unsigned char max = k == 1 ? hi : 0xBF;
            if (cc < min || cc > max) return false;
        }
        i += n + 1;
    }
    return true;
}

// What decoding may still allocate, in buffer bytes (see the top of the file).
class budget {
public:
    explicit budget(std::size_t bytes) : bytes_(bytes) {}
    [[nodiscard]] bool consume(std::size_t n) noexcept {
        if (n > bytes_) return false;
        bytes_ -= n;
        return true;
    }

private:
    std::size_t bytes_;
};

template <typename T>
std::error_code read_table(budget& r, const Table& t, T& out);

std::error_code read_string(budget& r, const flatbuffers::String* s, std::string& out) {
    if (s == nullptr) return error(codec_errc::invalid_field);
    if (!r.consume(sizeof(uoffset_t) + s->size())) return error(codec_errc::verification_failed);
    const std::string_view text(s->c_str(), s->size());
    if (!is_utf8(text)) return error(codec_errc::invalid_field);
    out.assign(text);
    return {};
}

// The value of a present inline field.
template <typename T>
std::error_code read_inline(const Table& t, voffset_t slot, T& out) {
    if constexpr (is_named_type_v<T>) {
        return read_inline(t, slot, out.value());
    } else if constexpr (std::is_same_v<T, bool>) {
        out = t.GetField<std::uint8_t>(slot, 0) != 0;
    } else if constexpr (std::is_enum_v<T>) {
        static_assert(is_described_enum_v<T>);
        const auto e = static_cast<T>(t.GetField<std::underlying_type_t<T>>(slot, 0));
        if (!detail::is_enumerator(e)) return error(codec_errc::invalid_field);
        out = e;
    } else if constexpr (std::is_arithmetic_v<T>) {
        out = t.GetField<T>(slot, 0);
    } else if constexpr (std::is_same_v<T, calendar_date>) {
        const auto days = t.GetField<std::int32_t>(slot, 0);
        if (days < days_min || days > days_max) return error(codec_errc::invalid_field);
        out = calendar_date::from_days(days);
    } else if constexpr (std::is_same_v<T, instant>) {
        const auto us = t.GetField<std::int64_t>(slot, 0);
        if (us < us_min || us > us_max) return error(codec_errc::invalid_field);
        out = instant::from_unix_us(us);
    } else {
        static_assert(std::is_same_v<T, sha256_digest>);
        const auto* d = t.GetStruct<const fb::Digest*>(slot);
        if (d == nullptr) return error(codec_errc::invalid_field);
        std::memcpy(out.data(), d, out.size());
    }
    return {};
}

template <typename M>
std::error_code read_member(budget& r, const Table& t, voffset_t slot, M& out) {
    if constexpr (is_optional_v<M>) {
        if (!t.CheckField(slot)) {
            out.reset();
            return {};
        }
        typename M::value_type value{};
        if (auto ec = read_member(r, t, slot, value)) return ec;
        out = std::move(value);
        return {};
    } else if constexpr (is_inline<M>()) {
        if (!t.CheckField(slot)) return error(codec_errc::invalid_field);
        return read_inline(t, slot, out);
    } else if constexpr (is_named_type_v<M>) {
        return read_member(r, t, slot, out.value());
    } else if constexpr (std::is_same_v<M, std::string>) {
        return read_string(r, t.GetPointer<const flatbuffers::String*>(slot), out);
    } else if constexpr (is_vector_v<M>) {
        using E = typename M::value_type;
        using element = std::conditional_t<std::is_same_v<bare_t<E>, std::string>, flatbuffers::String, Table>;
        const auto* v = t.GetPointer<const flatbuffers::Vector<Offset<element>>*>(slot);
        if (v == nullptr) return error(codec_errc::invalid_field);
        if (!r.consume(sizeof(uoffset_t) * (1 + std::size_t{v->size()}))) {
            return error(codec_errc::verification_failed);
        }
        out.assign(v->size(), E{});
        for (uoffset_t i = 0; i < v->size(); ++i) {
            const element* p = v->Get(i);
            if constexpr (std::is_same_v<element, flatbuffers::String>) {
                if constexpr (is_named_type_v<E>) {
                    if (auto ec = read_string(r, p, out[i].value())) return ec;
                } else {
                    if (auto ec = read_string(r, p, out[i])) return ec;
                }
            } else {
                if (p == nullptr) return error(codec_errc::invalid_field);
                if (auto ec = read_table(r, *p, out[i])) return ec;
            }
        }
        return {};
    } else {
        static_assert(is_described_struct_v<M>, "a field type the codec does not know");
        const auto* p = t.GetPointer<const Table*>(slot);
        if (p == nullptr) return error(codec_errc::invalid_field);
        return read_table(r, *p, out);
    }
}

template <typename T>
std::error_code read_table(budget& r, const Table& t, T& out) {
    if (!r.consume(table_bytes_min)) return error(codec_errc::verification_failed);
    std::error_code ec;
    for_each_member<T>([&](auto d, std::size_t i) {
        if (!ec) ec = read_member(r, t, field_slot(i), out.*d.pointer);
    });
    return ec;
}

template <std::size_t I>
std::error_code read_event(budget& r, const Table& t, event& out) {
    std::variant_alternative_t<I, event> value{};
    if (auto ec = read_table(r, t, value)) return ec;
    out.emplace<I>(std::move(value));
    return {};
}

using event_reader = std::error_code (*)(budget&, const Table&, event&);

template <std::size_t... I>
constexpr std::array<event_reader, sizeof...(I)> make_event_readers(std::index_sequence<I...>) {
    return {&read_event<I>...};
}

// Indexed by type id - 1.
constexpr auto event_readers = make_event_readers(std::make_index_sequence<event_type_count>{});

// Checks the bytes up to the FlatBuffers verifier; on success `data` points to
// a verified, 8-byte aligned copy or to the input itself.
class verified_buffer {
public:
    std::error_code verify(std::span<const std::uint8_t> bytes) {
        if (bytes.empty()) return error(codec_errc::empty);
        if (bytes.size() < header_bytes) return error(codec_errc::truncated);
        if (bytes.size() > record_bytes_max) return error(codec_errc::too_large);
        if (!flatbuffers::BufferHasIdentifier(bytes.data(), fb::EnvelopeIdentifier())) {
            return error(codec_errc::not_a_record);
        }
        data_ = bytes.data();
        size_ = bytes.size();
        // FlatBuffers reads scalars in place: the buffer must start on the
        // largest scalar's alignment (RocksDB and Kafka give no such promise).
        if (reinterpret_cast<std::uintptr_t>(data_) % alignof(std::uint64_t) != 0) {
            copy_.resize((size_ + sizeof(std::uint64_t) - 1) / sizeof(std::uint64_t));
            std::memcpy(copy_.data(), data_, size_);
            data_ = reinterpret_cast<const std::uint8_t*>(copy_.data());
        }
        flatbuffers::Verifier::Options options;
        options.max_depth = 16;
        options.max_tables = static_cast<uoffset_t>(record_bytes_max / table_bytes_min);
        flatbuffers::Verifier verifier(data_, size_, options);
        if (!fb::VerifyEnvelopeBuffer(verifier)) return error(codec_errc::verification_failed);
        return {};
    }

    const std::uint8_t* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }

private:
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
    std::vector<std::uint64_t> copy_;
};

// ---- Schema agreement -------------------------------------------------------

using flatbuffers::TypeTable;

template <typename T>
std::optional<std::string> check_table(const TypeTable* tt, const std::string& where, std::size_t extra_fields);

template <typename E>
std::optional<std::string> check_enum(const TypeTable* tt, const std::string& where) {
    static_assert(std::is_same_v<std::underlying_type_t<E>, std::uint8_t>, "enums are ubyte on the wire");
    if (tt->st != flatbuffers::ST_ENUM) return fmt::format("{}: not an enum", where);
    if (tt->num_elems != detail::enumerator_count_v<E>) {
        return fmt::format("{}: {} enumerators in the schema, {} in C++", where, tt->num_elems,
                           detail::enumerator_count_v<E>);
    }
    std::optional<std::string> mismatch;
    std::size_t i = 0;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) {
        const std::int64_t value = tt->values != nullptr ? tt->values[i] : static_cast<std::int64_t>(i);
        if (!mismatch && (std::string_view(tt->names[i]) != d.name || value != static_cast<std::int64_t>(d.value))) {
            mismatch = fmt::format("{}: enumerator {} is {} = {} in the schema, {} = {} in C++", where, i,
                                   tt->names[i], value, d.name, static_cast<std::int64_t>(d.value));
        }
        ++i;
    });
    return mismatch;
}

// The referenced type table of a field, or nullptr.
const TypeTable* referenced(const TypeTable* tt, std::size_t i) {
    const auto code = tt->type_codes[i];
    return code.sequence_ref >= 0 ? tt->type_refs[code.sequence_ref]() : nullptr;
}

// The type of a (vector) element: B is a bare type.
template <typename B>
std::optional<std::string> check_element(const TypeTable* tt, std::size_t i, const std::string& where) {
    const auto code = tt->type_codes[i];
    const auto expect = [&](flatbuffers::ElementaryType et) -> std::optional<std::string> {
        if (code.base_type == et) return std::nullopt;
        return fmt::format("{}: elementary type {} in the schema, {} expected", where, code.base_type, int{et});
    };
    if constexpr (std::is_same_v<B, std::string>) {
        return expect(flatbuffers::ET_STRING);
    } else if constexpr (std::is_same_v<B, bool>) {
        return expect(flatbuffers::ET_BOOL);
    } else if constexpr (std::is_same_v<B, std::uint8_t>) {
        return expect(flatbuffers::ET_UCHAR);
    } else if constexpr (std::is_same_v<B, std::uint16_t>) {
        return expect(flatbuffers::ET_USHORT);
    } else if constexpr (std::is_same_v<B, std::uint32_t>) {
        return expect(flatbuffers::ET_UINT);
    } else if constexpr (std::is_same_v<B, std::uint64_t>) {
        return expect(flatbuffers::ET_ULONG);
    } else if constexpr (std::is_same_v<B, std::int32_t> || std::is_same_v<B, calendar_date>) {
        return expect(flatbuffers::ET_INT);
    } else if constexpr (std::is_same_v<B, std::int64_t> || std::is_same_v<B, instant>) {
        return expect(flatbuffers::ET_LONG);
    } else if constexpr (std::is_enum_v<B>) {
        if (auto m = expect(flatbuffers::ET_UCHAR)) return m;
        const TypeTable* ref = referenced(tt, i);
        if (ref == nullptr) return fmt::format("{}: not an enum", where);
        return check_enum<B>(ref, where);
    } else if constexpr (std::is_same_v<B, sha256_digest>) {
        if (auto m = expect(flatbuffers::ET_SEQUENCE)) return m;
        const TypeTable* ref = referenced(tt, i);
        if (ref == nullptr || ref->st != flatbuffers::ST_STRUCT || ref->num_elems != 1 ||
            ref->type_codes[0].base_type != flatbuffers::ET_UCHAR || !ref->type_codes[0].is_repeating ||
            ref->array_sizes == nullptr || ref->array_sizes[0] != 32) {
            return fmt::format("{}: not a Digest struct of 32 ubytes", where);
        }
        return std::nullopt;
    } else {
        static_assert(is_described_struct_v<B>, "a field type the codec does not know");
        if (auto m = expect(flatbuffers::ET_SEQUENCE)) return m;
        const TypeTable* ref = referenced(tt, i);
        if (ref == nullptr) return fmt::format("{}: not a table", where);
        return check_table<B>(ref, where, 0);
    }
}

template <typename M>
std::optional<std::string> check_field(const TypeTable* tt, std::size_t i, const std::string& where) {
    using B = bare_t<M>;
    const bool repeating = tt->type_codes[i].is_repeating;
    if constexpr (is_vector_v<B>) {
        if (!repeating) return fmt::format("{}: a vector in C++, not in the schema", where);
        return check_element<bare_t<typename B::value_type>>(tt, i, where);
    } else {
        if (repeating) return fmt::format("{}: a vector in the schema, not in C++", where);
        return check_element<B>(tt, i, where);
    }
}

template <typename T>
std::optional<std::string> check_table(const TypeTable* tt, const std::string& where, std::size_t extra_fields) {
    if (tt->st != flatbuffers::ST_TABLE) return fmt::format("{}: not a table", where);
    if (tt->names == nullptr) return fmt::format("{}: generated without --reflect-names", where);
    if (tt->num_elems != member_count_v<T> + extra_fields) {
        return fmt::format("{}: {} fields in the schema, {} in C++", where, tt->num_elems,
                           member_count_v<T> + extra_fields);
    }
    std::optional<std::string> mismatch;
    for_each_member<T>([&](auto d, std::size_t i) {
        if (mismatch) return;
        if (std::string_view(tt->names[i]) != d.name) {
            mismatch = fmt::format("{}: field {} is `{}` in the schema, `{}` in C++", where, i, tt->names[i], d.name);
            return;
        }
        mismatch = check_field<member_type_t<decltype(d)>>(tt, i, where + "." + d.name);
    });
    return mismatch;
}

template <std::size_t... I>
std::optional<std::string> check_union(const TypeTable* tt, std::index_sequence<I...>) {
    if (tt == nullptr || tt->st != flatbuffers::ST_UNION) return "Envelope.payload: not a union";
    if (tt->num_elems != 1 + sizeof...(I)) {
        return fmt::format("union Event: {} members in the schema, {} in C++", tt->num_elems - 1, sizeof...(I));
    }
    std::optional<std::string> mismatch;
    const auto check_member = [&](auto alternative, std::size_t index) {
        using A = typename decltype(alternative)::type;
        if (mismatch) return;
        const std::size_t tag = index + 1;
        if (std::string_view(tt->names[tag]) != A::type_name) {
            mismatch = fmt::format("union Event: tag {} is {} in the schema, {} in C++", tag, tt->names[tag],
                                   A::type_name);
            return;
        }
        const TypeTable* ref = referenced(tt, tag);
        if (ref == nullptr) {
            mismatch = fmt::format("union Event: tag {} has no table", tag);
            return;
        }
        mismatch = check_table<A>(ref, std::string(A::type_name), 0);
    };
    (check_member(std::type_identity<std::variant_alternative_t<I, event>>{}, I), ...);
    return mismatch;
}

void assert_schema_agrees() {
    static const bool agrees = [] {
        const auto mismatch = schema_mismatch();
        if (mismatch) std::fprintf(stderr, "regledger: schemas/events.fbs disagrees with the engine: %s\n", mismatch->c_str());
        return !mismatch;
    }();
    assert(agrees && "schemas/events.fbs and the engine's structs must agree");
    (void)agrees;
}

class codec_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "regledger.codec"; }
    std::string message(int code) const override {
        switch (static_cast<codec_errc>(code)) {
            case codec_errc::empty: return "empty record";
            case codec_errc::truncated: return "record shorter than a FlatBuffers header";
            case codec_errc::too_large: return "record larger than record_bytes_max";
            case codec_errc::not_a_record: return "not an event record (file identifier is not RLEV)";
            case codec_errc::verification_failed: return "record failed FlatBuffers verification";
            case codec_errc::unsupported_schema_version: return "unsupported schema version";
            case codec_errc::unknown_event_type: return "unknown event type";
            case codec_errc::invalid_field: return "missing or invalid field";
        }
        return "unknown codec error";
    }
};

}  // namespace

const std::error_category& codec_category() noexcept {
    static const codec_category_impl category;
    return category;
}

std::optional<std::string> schema_mismatch() {
    const TypeTable* tt = fb::EnvelopeTypeTable();
    if (auto m = check_table<envelope>(tt, "Envelope", 2)) return m;
    const std::size_t type_index = member_count_v<envelope>;
    if (std::string_view(tt->names[type_index]) != "payload_type" ||
        tt->type_codes[type_index].base_type != flatbuffers::ET_UTYPE ||
        std::string_view(tt->names[type_index + 1]) != "payload") {
        return "Envelope: the fields after the envelope's must be the union `payload`";
    }
    return check_union(referenced(tt, type_index + 1), std::make_index_sequence<event_type_count>{});
}

std::vector<std::uint8_t> encode(const event_record& rec) {
    assert_schema_agrees();
    assert(rec.envelope.schema_version == current_schema_version);
    FlatBufferBuilder b(1024);
    const uoffset_t payload = std::visit([&](const auto& e) { return write_table(b, e); }, rec.event);
    const auto offsets = write_member_objects(b, rec.envelope);
    const uoffset_t start = b.StartTable();
    for (const std::size_t alignment : alignments_largest_first) {
        add_members(b, rec.envelope, offsets, alignment);
        if (alignment == sizeof(uoffset_t)) b.AddOffset(payload_slot, Offset<void>(payload));
        if (alignment == 1) b.AddElement<std::uint8_t>(payload_type_slot, static_cast<std::uint8_t>(type_id_of(rec.event)));
    }
    b.Finish(Offset<void>(b.EndTable(start)), fb::EnvelopeIdentifier());
    return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

result<event_record> decode(std::span<const std::uint8_t> bytes) {
    assert_schema_agrees();
    verified_buffer buffer;
    if (auto ec = buffer.verify(bytes)) return failure(ec);
    const auto* env = flatbuffers::GetRoot<fb::Envelope>(buffer.data());
    const auto& root = *flatbuffers::GetRoot<Table>(buffer.data());

    const std::uint16_t schema_version = env->schema_version();
    if (schema_version < oldest_readable_schema_version || schema_version > current_schema_version) {
        return failure(error(codec_errc::unsupported_schema_version));
    }
    const auto type = static_cast<std::size_t>(env->payload_type());
    if (type == 0 || env->payload() == nullptr) return failure(error(codec_errc::invalid_field));
    if (type > event_type_count) return failure(error(codec_errc::unknown_event_type));

    budget r(buffer.size());
    event_record rec;
    if (auto ec = read_table(r, root, rec.envelope)) return failure(ec);
    if (auto ec = event_readers[type - 1](r, *root.GetPointer<const Table*>(payload_slot), rec.event)) {
        return failure(ec);
    }
    return rec;
}

std::optional<event_type_id> peek_type(std::span<const std::uint8_t> bytes) {
    verified_buffer buffer;
    if (buffer.verify(bytes)) return std::nullopt;
    const auto type = static_cast<std::size_t>(flatbuffers::GetRoot<fb::Envelope>(buffer.data())->payload_type());
    if (type == 0 || type > event_type_count) return std::nullopt;
    return static_cast<event_type_id>(type);
}

}  // namespace regledger::events
