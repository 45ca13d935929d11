// The JSON mapping of the engine's vocabulary: what the command API and the
// CLI read and write (API.md).
//
// Out, generic: `to_json(x)` for every struct and enum the engine describes
// with Boost.Describe, and for the values they are made of:
//   - described struct    → object; member name = key; an absent std::optional
//                           member is left out (never written as null)
//   - described enum      → its enumerator name, a trailing '_' stripped
//                           (role::public_ → "public")
//   - named_type          → its value (ids are strings, versions numbers)
//   - calendar_date       → "YYYY-MM-DD"
//   - instant             → RFC 3339 in +08:00 ("2026-10-11T00:00:00+08:00")
//   - sha256_digest/digest→ 64 lower-case hex digits
//   - std::vector         → array;  std::variant → the held alternative
// Out, by hand: an event_record in the shape of the history routes, a
// log_position, and the one error body of API.md.
//
// In, strict: `from_json<T>` reads a described struct back, and
// `parse_command` reads a `POST /v1/commands` body. Strict means: the JSON
// types must match exactly (no number in a string, no 7.0 for 7), every
// member that is not a std::optional is required, and a key the type does not
// have is refused. A null stands for an absent optional member. Every failure
// is a rejection{errc::malformed, message, field} whose field is a JSON
// pointer (RFC 6901) to the offending value, e.g. "/record/industry_codes/0";
// the pointer is empty when the body as a whole is wrong. Domain rules
// (lengths, codes, who may do what) are not checked here: that is decide()'s
// job; this layer checks shape and types only.
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <boost/describe/enumerators.hpp>
#include <boost/describe/members.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <boost/mp11/algorithm.hpp>

#include "engine/commands.h"
#include "engine/envelope.h"
#include "engine/ids.h"
#include "engine/named_type.h"
#include "engine/result.h"
#include "engine/time.h"

namespace regledger::json {

// ---- Writing -----------------------------------------------------------------

// One event as the history routes show it (API.md): {"type", every envelope
// field (stream_id written as "stream"), "data": the event's fields, "hash",
// "prev_hash"}.
boost::json::value to_json(const event_record& record);

// {"partition": 0, "offset": 1234}
boost::json::value to_json(const log_position& position);

// The error body of API.md: {"error": {"code": "MALFORMED", "message": ...,
// "field": "/record/industry_codes/0"}}; "field" is left out when empty.
boost::json::value error_body(const rejection& r);

// ---- Reading -----------------------------------------------------------------

// A `POST /v1/commands` body: {"command_id", "type", "expected_version"?,
// "correlation_id"?, ...the fields of that command}. `type` is a command's
// `type_name` ("AcceptApplication"); the scheduler's timeout commands are not
// commands a client can send, so their names are unknown types here.
// The envelope's issued_by is `issuer` (who the token stands for).
result<command_envelope, rejection> parse_command(const boost::json::value& body, const actor& issuer);

// The same from the body's text; text that is not JSON is MALFORMED too.
result<command_envelope, rejection> parse_command_text(std::string_view body, const actor& issuer);

// ---- Building blocks of the generic mapping ------------------------------------

namespace detail {

template <typename>
inline constexpr bool always_false = false;

template <typename T>
struct is_optional : std::false_type {};
template <typename T>
struct is_optional<std::optional<T>> : std::true_type {};

template <typename T>
struct is_vector : std::false_type {};
template <typename T, typename A>
struct is_vector<std::vector<T, A>> : std::true_type {};

template <typename T>
struct is_variant : std::false_type {};
template <typename... T>
struct is_variant<std::variant<T...>> : std::true_type {};

template <typename T>
struct is_named_type : std::false_type {};
template <typename T, typename Tag>
struct is_named_type<named_type<T, Tag>> : std::true_type {};

template <typename T>
inline constexpr bool is_described_struct =
    boost::describe::has_describe_members<T>::value && std::is_class_v<T> && !std::is_union_v<T>;
template <typename T>
inline constexpr bool is_described_enum = boost::describe::has_describe_enumerators<T>::value;

template <typename T>
using members_of = boost::describe::describe_members<T, boost::describe::mod_public>;

// An enumerator's JSON name: the C++ name less a trailing '_' (which only
// keeps keywords such as `public` from clashing).
constexpr std::string_view enumerator_json_name(std::string_view name) noexcept {
    if (!name.empty() && name.back() == '_') name.remove_suffix(1);
    return name;
}

// Leaves of the mapping, in json.cc.
boost::json::value date_to_json(const calendar_date& d);
boost::json::value instant_to_json(const instant& t);
boost::json::value digest_to_json(const sha256_digest& d);

// "/" + the key escaped as a JSON pointer reference token (~ → ~0, / → ~1).
void append_pointer_token(std::string& pointer, std::string_view key);
void append_pointer_index(std::string& pointer, std::size_t index);

rejection malformed_at(const std::string& pointer, std::string message);
rejection wrong_type(const boost::json::value& got, std::string_view expected, const std::string& pointer);
rejection unknown_field(const std::string& pointer);
rejection missing_field(const std::string& pointer);

result<std::string, rejection> read_string(const boost::json::value& v, const std::string& pointer);
result<bool, rejection> read_bool(const boost::json::value& v, const std::string& pointer);
result<std::int64_t, rejection> read_int(const boost::json::value& v, std::int64_t min, std::int64_t max,
                                         const std::string& pointer);
result<std::uint64_t, rejection> read_uint(const boost::json::value& v, std::uint64_t max, const std::string& pointer);
result<calendar_date, rejection> read_date(const boost::json::value& v, const std::string& pointer);
result<instant, rejection> read_instant(const boost::json::value& v, const std::string& pointer);
result<sha256_digest, rejection> read_digest(const boost::json::value& v, const std::string& pointer);
rejection unknown_enumerator(std::string_view got, std::span<const std::string_view> names, const std::string& pointer);

// Restores a JSON pointer to its length at construction when it goes out of
// scope, so that each level of the walk can append its own token.
class pointer_scope {
public:
    explicit pointer_scope(std::string& pointer) : pointer_(pointer), size_(pointer.size()) {}
    pointer_scope(const pointer_scope&) = delete;
    pointer_scope& operator=(const pointer_scope&) = delete;
    ~pointer_scope() { pointer_.resize(size_); }

private:
    std::string& pointer_;
    std::size_t size_;
};

template <typename T>
bool is_member_name(std::string_view key) {
    bool found = false;
    boost::mp11::mp_for_each<members_of<T>>([&](auto d) { found = found || key == d.name; });
    return found;
}

}  // namespace detail

template <typename T>
boost::json::value to_json(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
        return boost::json::value(v);
    } else if constexpr (std::is_integral_v<T>) {
        if constexpr (std::is_signed_v<T>) {
            return boost::json::value(static_cast<std::int64_t>(v));
        } else {
            return boost::json::value(static_cast<std::uint64_t>(v));
        }
    } else if constexpr (std::is_same_v<T, std::string>) {
        return boost::json::value(boost::json::string(v));
    } else if constexpr (std::is_same_v<T, calendar_date>) {
        return detail::date_to_json(v);
    } else if constexpr (std::is_same_v<T, instant>) {
        return detail::instant_to_json(v);
    } else if constexpr (std::is_same_v<T, sha256_digest>) {
        return detail::digest_to_json(v);
    } else if constexpr (detail::is_named_type<T>::value) {
        return to_json(v.value());
    } else if constexpr (detail::is_optional<T>::value) {
        return v ? to_json(*v) : boost::json::value(nullptr);
    } else if constexpr (detail::is_vector<T>::value) {
        boost::json::array out;
        out.reserve(v.size());
        for (const auto& element : v) out.push_back(to_json(element));
        return out;
    } else if constexpr (detail::is_variant<T>::value) {
        return std::visit([](const auto& alternative) { return to_json(alternative); }, v);
    } else if constexpr (detail::is_described_enum<T>) {
        std::string_view name;
        boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto d) {
            if (v == d.value) name = detail::enumerator_json_name(d.name);
        });
        // An enum value outside its enumerators is a programmer error upstream;
        // write it as its number rather than invent a name.
        if (name.empty()) return boost::json::value(static_cast<std::int64_t>(v));
        return boost::json::value(boost::json::string(name));
    } else if constexpr (detail::is_described_struct<T>) {
        boost::json::object out;
        boost::mp11::mp_for_each<detail::members_of<T>>([&](auto d) {
            const auto& member = v.*d.pointer;
            using member_type = std::remove_cvref_t<decltype(member)>;
            if constexpr (detail::is_optional<member_type>::value) {
                if (!member) return;
            }
            out[d.name] = to_json(member);
        });
        return out;
    } else {
        static_assert(detail::always_false<T>, "no JSON mapping for this type: describe it with Boost.Describe");
    }
}

namespace detail {
// Appends `s` as a JSON string escaped as boost::json::serialize escapes it:
// '"' and '\\' with a backslash; \b \t \n \f \r; other bytes below 0x20 as
// \u00xx; everything else (UTF-8 included) as it is.
void append_json_string(std::string& out, std::string_view s);
void append_json_uint(std::string& out, std::uint64_t v);
void append_json_int(std::string& out, std::int64_t v);
}  // namespace detail

// Appends the text of to_json(v) to `out`, exactly as
// boost::json::serialize(to_json(v)) writes it, without building the value:
// for the documents the writer stores with every command.
template <typename T>
void append_json(std::string& out, const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
        out += v ? "true" : "false";
    } else if constexpr (std::is_integral_v<T>) {
        if constexpr (std::is_signed_v<T>) {
            detail::append_json_int(out, static_cast<std::int64_t>(v));
        } else {
            detail::append_json_uint(out, static_cast<std::uint64_t>(v));
        }
    } else if constexpr (std::is_same_v<T, std::string>) {
        detail::append_json_string(out, v);
    } else if constexpr (std::is_same_v<T, calendar_date>) {
        detail::append_json_string(out, v.to_string());
    } else if constexpr (std::is_same_v<T, instant> || std::is_same_v<T, sha256_digest>) {
        const boost::json::value text = to_json(v);
        detail::append_json_string(out, std::string_view(text.get_string().data(), text.get_string().size()));
    } else if constexpr (detail::is_named_type<T>::value) {
        append_json(out, v.value());
    } else if constexpr (detail::is_optional<T>::value) {
        if (v) {
            append_json(out, *v);
        } else {
            out += "null";
        }
    } else if constexpr (detail::is_vector<T>::value) {
        out.push_back('[');
        bool first = true;
        for (const auto& element : v) {
            if (!first) out.push_back(',');
            first = false;
            append_json(out, element);
        }
        out.push_back(']');
    } else if constexpr (detail::is_variant<T>::value) {
        std::visit([&out](const auto& alternative) { append_json(out, alternative); }, v);
    } else if constexpr (detail::is_described_enum<T>) {
        std::string_view name;
        boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto d) {
            if (v == d.value) name = detail::enumerator_json_name(d.name);
        });
        if (name.empty()) {
            detail::append_json_int(out, static_cast<std::int64_t>(v));
        } else {
            detail::append_json_string(out, name);
        }
    } else if constexpr (detail::is_described_struct<T>) {
        out.push_back('{');
        bool first = true;
        boost::mp11::mp_for_each<detail::members_of<T>>([&](auto d) {
            const auto& member = v.*d.pointer;
            using member_type = std::remove_cvref_t<decltype(member)>;
            if constexpr (detail::is_optional<member_type>::value) {
                if (!member) return;
            }
            if (!first) out.push_back(',');
            first = false;
            detail::append_json_string(out, d.name);
            out.push_back(':');
            append_json(out, member);
        });
        out.push_back('}');
    } else {
        static_assert(detail::always_false<T>, "no JSON mapping for this type: describe it with Boost.Describe");
    }
}

// Writes one JSON object into a string, member by member, as
// boost::json::serialize writes an object built with the same members in the
// same order.
class object_writer {
public:
    explicit object_writer(std::string& out) : out_(out) { out_.push_back('{'); }
    object_writer(const object_writer&) = delete;
    object_writer& operator=(const object_writer&) = delete;

    template <typename T>
    void put(std::string_view key, const T& v) {
        append_json(this->key(key), v);
    }
    void put_string(std::string_view key, std::string_view v) { detail::append_json_string(this->key(key), v); }
    void put_null(std::string_view key) { this->key(key) += "null"; }
    // The member's key, then `out` to append its value to.
    std::string& key(std::string_view key) {
        if (!first_) out_.push_back(',');
        first_ = false;
        detail::append_json_string(out_, key);
        out_.push_back(':');
        return out_;
    }
    // Closes the object. Call once, last.
    void close() { out_.push_back('}'); }

private:
    std::string& out_;
    bool first_ = true;
};

// Reads a T (see the rules at the top). `pointer` is where `v` sits in the
// whole document; it is used for errors and is unchanged on return.
template <typename T>
result<T, rejection> from_json(const boost::json::value& v, std::string& pointer);

namespace detail {

// Reads the members of a described struct from `o`. Keys in `also_allowed`
// belong to an enclosing shape (the command envelope) and are skipped.
template <typename T>
result<T, rejection> struct_from_object(const boost::json::object& o, std::string& pointer,
                                        std::span<const std::string_view> also_allowed) {
    for (const auto& entry : o) {
        const std::string_view key(entry.key().data(), entry.key().size());
        if (is_member_name<T>(key)) continue;
        bool allowed = false;
        for (std::string_view a : also_allowed) allowed = allowed || a == key;
        if (allowed) continue;
        pointer_scope scope(pointer);
        append_pointer_token(pointer, key);
        return failure(unknown_field(pointer));
    }
    T out{};
    std::optional<rejection> error;
    boost::mp11::mp_for_each<members_of<T>>([&](auto d) {
        if (error) return;
        auto& member = out.*d.pointer;
        using member_type = std::remove_cvref_t<decltype(member)>;
        pointer_scope scope(pointer);
        append_pointer_token(pointer, d.name);
        const boost::json::value* found = o.if_contains(d.name);
        if constexpr (is_optional<member_type>::value) {
            if (found == nullptr || found->is_null()) return;
            auto r = from_json<typename member_type::value_type>(*found, pointer);
            if (r) {
                member = std::move(r).value();
            } else {
                error = std::move(r).error();
            }
        } else {
            if (found == nullptr) {
                error = missing_field(pointer);
                return;
            }
            auto r = from_json<member_type>(*found, pointer);
            if (r) {
                member = std::move(r).value();
            } else {
                error = std::move(r).error();
            }
        }
    });
    if (error) return failure(std::move(*error));
    return success(std::move(out));
}

template <typename E>
constexpr auto enumerator_names() {
    using list = boost::describe::describe_enumerators<E>;
    std::array<std::string_view, boost::mp11::mp_size<list>::value> names{};
    std::size_t i = 0;
    boost::mp11::mp_for_each<list>([&](auto d) { names[i++] = enumerator_json_name(d.name); });
    return names;
}

}  // namespace detail

template <typename T>
result<T, rejection> from_json(const boost::json::value& v, std::string& pointer) {
    if constexpr (std::is_same_v<T, bool>) {
        return detail::read_bool(v, pointer);
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
        auto r = detail::read_int(v, std::numeric_limits<T>::min(), std::numeric_limits<T>::max(), pointer);
        if (!r) return failure(std::move(r).error());
        return success(static_cast<T>(r.value()));
    } else if constexpr (std::is_integral_v<T>) {
        auto r = detail::read_uint(v, std::numeric_limits<T>::max(), pointer);
        if (!r) return failure(std::move(r).error());
        return success(static_cast<T>(r.value()));
    } else if constexpr (std::is_same_v<T, std::string>) {
        return detail::read_string(v, pointer);
    } else if constexpr (std::is_same_v<T, calendar_date>) {
        return detail::read_date(v, pointer);
    } else if constexpr (std::is_same_v<T, instant>) {
        return detail::read_instant(v, pointer);
    } else if constexpr (std::is_same_v<T, sha256_digest>) {
        return detail::read_digest(v, pointer);
    } else if constexpr (detail::is_named_type<T>::value) {
        auto r = from_json<typename T::value_type>(v, pointer);
        if (!r) return failure(std::move(r).error());
        return success(T(std::move(r).value()));
    } else if constexpr (detail::is_vector<T>::value) {
        const boost::json::array* a = v.if_array();
        if (a == nullptr) return failure(detail::wrong_type(v, "an array", pointer));
        T out;
        out.reserve(a->size());
        for (std::size_t i = 0; i < a->size(); ++i) {
            detail::pointer_scope scope(pointer);
            detail::append_pointer_index(pointer, i);
            auto r = from_json<typename T::value_type>((*a)[i], pointer);
            if (!r) return failure(std::move(r).error());
            out.push_back(std::move(r).value());
        }
        return success(std::move(out));
    } else if constexpr (detail::is_described_enum<T>) {
        const boost::json::string* s = v.if_string();
        if (s == nullptr) return failure(detail::wrong_type(v, "a string", pointer));
        const std::string_view text(s->data(), s->size());
        std::optional<T> out;
        boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto d) {
            if (text == detail::enumerator_json_name(d.name)) out = d.value;
        });
        if (!out) {
            static constexpr auto names = detail::enumerator_names<T>();
            return failure(detail::unknown_enumerator(text, names, pointer));
        }
        return success(*out);
    } else if constexpr (detail::is_described_struct<T>) {
        const boost::json::object* o = v.if_object();
        if (o == nullptr) return failure(detail::wrong_type(v, "an object", pointer));
        return detail::struct_from_object<T>(*o, pointer, {});
    } else {
        static_assert(detail::always_false<T>, "no JSON mapping for this type: describe it with Boost.Describe");
    }
}

// The same, for a whole document.
template <typename T>
result<T, rejection> from_json(const boost::json::value& v) {
    std::string pointer;
    return from_json<T>(v, pointer);
}

}  // namespace regledger::json
