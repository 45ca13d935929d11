#include "events/json.h"

#include <charconv>
#include <cstddef>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <boost/json/parse.hpp>
#include <boost/mp11/algorithm.hpp>

#include "engine/sha256.h"

namespace regledger::json {
namespace {

// Keys of a command body that belong to the envelope, not to the command.
constexpr std::array<std::string_view, 4> envelope_keys = {"command_id", "type", "expected_version", "correlation_id"};

// A command whose member shared a name with an envelope key could not be
// written in the flat body shape; refuse to compile rather than misread it.
template <typename C>
constexpr bool collides_with_envelope_key() {
    bool collides = false;
    boost::mp11::mp_for_each<detail::members_of<C>>([&](auto d) {
        for (std::string_view key : envelope_keys) collides = collides || key == std::string_view(d.name);
    });
    return collides;
}

template <std::size_t... I>
constexpr bool any_command_collides(std::index_sequence<I...>) {
    return (collides_with_envelope_key<std::variant_alternative_t<I, command>>() || ...);
}
static_assert(!any_command_collides(std::make_index_sequence<std::variant_size_v<command>>{}),
              "a command member is named like an envelope key of the JSON body");

std::string_view kind_name(const boost::json::value& v) noexcept {
    switch (v.kind()) {
        case boost::json::kind::null: return "null";
        case boost::json::kind::bool_: return "a boolean";
        case boost::json::kind::int64:
        case boost::json::kind::uint64: return "an integer";
        case boost::json::kind::double_: return "a number with a fraction or exponent";
        case boost::json::kind::string: return "a string";
        case boost::json::kind::array: return "an array";
        case boost::json::kind::object: return "an object";
    }
    return "an unknown kind";
}

using command_parser = result<command, rejection> (*)(const boost::json::object&, std::string&);

template <std::size_t I>
result<command, rejection> parse_alternative(const boost::json::object& body, std::string& pointer) {
    using alternative = std::variant_alternative_t<I, command>;
    auto r = detail::struct_from_object<alternative>(body, pointer, envelope_keys);
    if (!r) return failure(std::move(r).error());
    return success(command(std::in_place_index<I>, std::move(r).value()));
}

struct command_entry {
    std::string_view type_name;
    command_parser parse;
    // Timeout commands are the scheduler's; no client may send one.
    bool client_may_send;
};

template <std::size_t... I>
std::array<command_entry, sizeof...(I)> make_command_table(std::index_sequence<I...>) {
    return {command_entry{std::variant_alternative_t<I, command>::type_name, &parse_alternative<I>,
                          !is_timeout_command(command(std::in_place_index<I>))}...};
}

const command_entry* find_client_command(std::string_view type_name) {
    static const auto table = make_command_table(std::make_index_sequence<std::variant_size_v<command>>{});
    for (const auto& entry : table) {
        if (entry.client_may_send && entry.type_name == type_name) return &entry;
    }
    return nullptr;
}

}  // namespace

// ---- Writing -----------------------------------------------------------------

namespace detail {

boost::json::value date_to_json(const calendar_date& d) { return boost::json::string(d.to_string()); }

boost::json::value instant_to_json(const instant& t) { return boost::json::string(t.to_string()); }

boost::json::value digest_to_json(const sha256_digest& d) { return boost::json::string(to_hex(d)); }

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.reserve(out.size() + s.size() + 2);
    out.push_back('"');
    std::size_t plain = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto ch = static_cast<unsigned char>(s[i]);
        if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
        out.append(s.data() + plain, i - plain);
        plain = i + 1;
        out.push_back('\\');
        switch (ch) {
            case '"': out.push_back('"'); break;
            case '\\': out.push_back('\\'); break;
            case '\b': out.push_back('b'); break;
            case '\t': out.push_back('t'); break;
            case '\n': out.push_back('n'); break;
            case '\f': out.push_back('f'); break;
            case '\r': out.push_back('r'); break;
            default:
                out += "u00";
                out.push_back(hex[ch >> 4]);
                out.push_back(hex[ch & 15]);
        }
    }
    out.append(s.data() + plain, s.size() - plain);
    out.push_back('"');
}

void append_json_uint(std::string& out, std::uint64_t v) {
    char digits[20];
    const auto r = std::to_chars(std::begin(digits), std::end(digits), v);
    out.append(digits, r.ptr);
}

void append_json_int(std::string& out, std::int64_t v) {
    char digits[21];
    const auto r = std::to_chars(std::begin(digits), std::end(digits), v);
    out.append(digits, r.ptr);
}

}  // namespace detail

boost::json::value to_json(const event_record& record) {
    boost::json::object out;
    out["type"] = type_name_of(record.event);
    boost::mp11::mp_for_each<detail::members_of<envelope>>([&](auto d) {
        const std::string_view name(d.name);
        // The chain links close the document, after the data they seal.
        if (name == "hash" || name == "prev_hash") return;
        out[name == "stream_id" ? std::string_view("stream") : name] = to_json(record.envelope.*d.pointer);
    });
    out["data"] = to_json(record.event);
    out["hash"] = to_json(record.envelope.hash);
    out["prev_hash"] = to_json(record.envelope.prev_hash);
    return out;
}

boost::json::value to_json(const log_position& position) {
    return boost::json::object{{"partition", position.partition.value()}, {"offset", position.offset.value()}};
}

boost::json::value error_body(const rejection& r) {
    boost::json::object error;
    error["code"] = api_code(r.code);
    error["message"] = r.message;
    if (!r.field.empty()) error["field"] = r.field;
    return boost::json::object{{"error", std::move(error)}};
}

// ---- Reading -----------------------------------------------------------------

namespace detail {

void append_pointer_token(std::string& pointer, std::string_view key) {
    pointer.push_back('/');
    for (char c : key) {
        if (c == '~') {
            pointer += "~0";
        } else if (c == '/') {
            pointer += "~1";
        } else {
            pointer.push_back(c);
        }
    }
}

void append_pointer_index(std::string& pointer, std::size_t index) {
    pointer.push_back('/');
    pointer += std::to_string(index);
}

rejection malformed_at(const std::string& pointer, std::string message) {
    return reject(errc::malformed, std::move(message), pointer);
}

rejection wrong_type(const boost::json::value& got, std::string_view expected, const std::string& pointer) {
    std::string message = "expected ";
    message += expected;
    message += ", got ";
    message += kind_name(got);
    return malformed_at(pointer, std::move(message));
}

rejection unknown_field(const std::string& pointer) { return malformed_at(pointer, "unknown field"); }

rejection missing_field(const std::string& pointer) { return malformed_at(pointer, "missing required field"); }

result<std::string, rejection> read_string(const boost::json::value& v, const std::string& pointer) {
    const boost::json::string* s = v.if_string();
    if (s == nullptr) return failure(wrong_type(v, "a string", pointer));
    return success(std::string(s->data(), s->size()));
}

result<bool, rejection> read_bool(const boost::json::value& v, const std::string& pointer) {
    const bool* b = v.if_bool();
    if (b == nullptr) return failure(wrong_type(v, "a boolean", pointer));
    return success(*b);
}

result<std::int64_t, rejection> read_int(const boost::json::value& v, std::int64_t min, std::int64_t max,
                                         const std::string& pointer) {
    std::int64_t n = 0;
    if (const std::int64_t* i = v.if_int64()) {
        n = *i;
    } else if (const std::uint64_t* u = v.if_uint64()) {
        if (*u > static_cast<std::uint64_t>(max)) return failure(malformed_at(pointer, "integer out of range"));
        n = static_cast<std::int64_t>(*u);
    } else {
        return failure(wrong_type(v, "an integer", pointer));
    }
    if (n < min || n > max) return failure(malformed_at(pointer, "integer out of range"));
    return success(n);
}

result<std::uint64_t, rejection> read_uint(const boost::json::value& v, std::uint64_t max,
                                           const std::string& pointer) {
    std::uint64_t n = 0;
    if (const std::uint64_t* u = v.if_uint64()) {
        n = *u;
    } else if (const std::int64_t* i = v.if_int64()) {
        if (*i < 0) return failure(malformed_at(pointer, "expected an unsigned integer, got a negative one"));
        n = static_cast<std::uint64_t>(*i);
    } else {
        return failure(wrong_type(v, "an unsigned integer", pointer));
    }
    if (n > max) return failure(malformed_at(pointer, "integer out of range"));
    return success(n);
}

result<calendar_date, rejection> read_date(const boost::json::value& v, const std::string& pointer) {
    const boost::json::string* s = v.if_string();
    if (s == nullptr) return failure(wrong_type(v, "a date string (YYYY-MM-DD)", pointer));
    const auto d = calendar_date::parse(std::string_view(s->data(), s->size()));
    if (!d) return failure(malformed_at(pointer, "not a date (YYYY-MM-DD): \"" + std::string(s->c_str()) + "\""));
    return success(*d);
}

result<instant, rejection> read_instant(const boost::json::value& v, const std::string& pointer) {
    const boost::json::string* s = v.if_string();
    if (s == nullptr) return failure(wrong_type(v, "an RFC 3339 time string", pointer));
    const auto t = instant::parse(std::string_view(s->data(), s->size()));
    if (!t) {
        return failure(malformed_at(pointer, "not an RFC 3339 time with offset: \"" + std::string(s->c_str()) + "\""));
    }
    return success(*t);
}

result<sha256_digest, rejection> read_digest(const boost::json::value& v, const std::string& pointer) {
    const boost::json::string* s = v.if_string();
    if (s == nullptr) return failure(wrong_type(v, "a SHA-256 hex string", pointer));
    const auto d = digest_from_hex(std::string_view(s->data(), s->size()));
    if (!d) return failure(malformed_at(pointer, "not 64 hex digits"));
    return success(*d);
}

rejection unknown_enumerator(std::string_view got, std::span<const std::string_view> names,
                             const std::string& pointer) {
    std::string message = "unknown value \"";
    message += got;
    message += "\"; expected one of:";
    for (std::size_t i = 0; i < names.size(); ++i) {
        message += i == 0 ? " " : ", ";
        message += names[i];
    }
    return malformed_at(pointer, std::move(message));
}

}  // namespace detail

result<command_envelope, rejection> parse_command(const boost::json::value& body, const actor& issuer) {
    const boost::json::object* o = body.if_object();
    if (o == nullptr) return failure(detail::wrong_type(body, "a command object", ""));

    std::string pointer = "/type";
    const boost::json::value* type = o->if_contains("type");
    if (type == nullptr) return failure(detail::missing_field(pointer));
    auto type_name = detail::read_string(*type, pointer);
    if (!type_name) return failure(std::move(type_name).error());
    const command_entry* entry = find_client_command(type_name.value());
    if (entry == nullptr) {
        return failure(detail::malformed_at(pointer, "unknown command type \"" + type_name.value() + "\""));
    }

    command_envelope out;
    out.issued_by = issuer;

    pointer = "/command_id";
    const boost::json::value* id = o->if_contains("command_id");
    if (id == nullptr) return failure(detail::missing_field(pointer));
    auto command_id = from_json<regledger::command_id>(*id, pointer);
    if (!command_id) return failure(std::move(command_id).error());
    out.command_id = std::move(command_id).value();

    pointer = "/expected_version";
    if (const boost::json::value* v = o->if_contains("expected_version"); v != nullptr && !v->is_null()) {
        auto version = from_json<stream_version>(*v, pointer);
        if (!version) return failure(std::move(version).error());
        out.expected_version = version.value();
    }

    pointer = "/correlation_id";
    if (const boost::json::value* v = o->if_contains("correlation_id"); v != nullptr && !v->is_null()) {
        auto correlation = from_json<regledger::correlation_id>(*v, pointer);
        if (!correlation) return failure(std::move(correlation).error());
        out.correlation_id = std::move(correlation).value();
    }

    pointer.clear();
    auto parsed = entry->parse(*o, pointer);
    if (!parsed) return failure(std::move(parsed).error());
    out.body = std::move(parsed).value();
    return success(std::move(out));
}

result<command_envelope, rejection> parse_command_text(std::string_view body, const actor& issuer) {
    boost::system::error_code ec;
    const boost::json::value parsed = boost::json::parse(boost::json::string_view(body.data(), body.size()), ec);
    if (ec) return failure(reject(errc::malformed, "not valid JSON: " + ec.message()));
    return parse_command(parsed, issuer);
}

}  // namespace regledger::json
