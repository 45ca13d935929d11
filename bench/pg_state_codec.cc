#include "bench/pg_state_codec.h"

#include <array>
#include <cstddef>
#include <string>
#include <utility>
#include <variant>

#include <boost/describe/class.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "events/json.h"

// The states of engine/state.h are plain structs that the engine does not
// describe (nothing inside the ledger serializes them); describing them here,
// member for member, gives them the generic JSON mapping of events/json.h.
// The macros must sit in the structs' own namespace. A member left out here
// would not survive a round trip: tests/bench/pg_state_codec_test.cc compares
// every state of the workload after encode and decode.
namespace regledger {

BOOST_DESCRIBE_STRUCT(objection_state, (), (id, objector, grounds, evidence, open, upheld))
BOOST_DESCRIBE_STRUCT(application_state, (),
                      (id, kind, status, institution_id, submitted_by, applicants, record, materials, acceptance_due,
                       review_due, publicity_start, publicity_end, calendar_provisional, acceptance_overdue,
                       review_overdue, review_delay_explanations, publicity_ended, objections))
BOOST_DESCRIBE_STRUCT(revocation_state, (), (revoked_by, grounds, announcement, filed_with))
BOOST_DESCRIBE_STRUCT(registration_state, (),
                      (id, version, status, institution_id, applicants, record, record_version, code, code_scheme,
                       valid_from, valid_until, renewal_window_opens, renewal_window_notified, validity_expired,
                       awaiting_renewal_outcome, revocation, applications))
BOOST_DESCRIBE_STRUCT(account_state, (), (id, version, name, uscc, subject_type, region_code, verified, verified_by))

}  // namespace regledger

namespace regledger::bench {
namespace {

result<boost::json::value, rejection> parse_text(std::string_view text) {
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
    if (ec) return failure(reject(errc::malformed, "not valid JSON: " + ec.message()));
    return success(std::move(parsed));
}

using event_reader = result<event, rejection> (*)(const boost::json::value&);

template <std::size_t I>
result<event, rejection> read_alternative(const boost::json::value& fields) {
    auto r = json::from_json<std::variant_alternative_t<I, event>>(fields);
    if (!r) return failure(std::move(r).error());
    return success(event(std::in_place_index<I>, std::move(r).value()));
}

// Indexed by type id - 1, as the variant.
template <std::size_t... I>
constexpr std::array<event_reader, sizeof...(I)> make_event_readers(std::index_sequence<I...>) {
    return {&read_alternative<I>...};
}
constexpr auto event_readers = make_event_readers(std::make_index_sequence<std::variant_size_v<event>>{});

}  // namespace

boost::json::value state_to_json(const registration_state& state) { return json::to_json(state); }
boost::json::value state_to_json(const account_state& state) { return json::to_json(state); }

result<registration_state, rejection> registration_state_from_json(const boost::json::value& v) {
    return json::from_json<registration_state>(v);
}

result<account_state, rejection> account_state_from_json(const boost::json::value& v) {
    return json::from_json<account_state>(v);
}

std::string encode_state(const registration_state& state) { return boost::json::serialize(state_to_json(state)); }
std::string encode_state(const account_state& state) { return boost::json::serialize(state_to_json(state)); }

result<registration_state, rejection> decode_registration_state(std::string_view text) {
    auto parsed = parse_text(text);
    if (!parsed) return failure(std::move(parsed).error());
    return registration_state_from_json(parsed.value());
}

result<account_state, rejection> decode_account_state(std::string_view text) {
    auto parsed = parse_text(text);
    if (!parsed) return failure(std::move(parsed).error());
    return account_state_from_json(parsed.value());
}

boost::json::value event_to_json(const event& e) { return json::to_json(e); }
std::string encode_event(const event& e) { return boost::json::serialize(event_to_json(e)); }

result<event, rejection> event_from_json(std::string_view type_name, const boost::json::value& fields) {
    const auto id = type_id_of_name(type_name);
    if (!id || *id == 0 || *id > event_readers.size()) {
        return failure(reject(errc::malformed, "unknown event type '" + std::string(type_name) + "'"));
    }
    return event_readers[*id - 1](fields);
}

result<event, rejection> decode_event(std::string_view type_name, std::string_view fields) {
    auto parsed = parse_text(fields);
    if (!parsed) return failure(std::move(parsed).error());
    return event_from_json(type_name, parsed.value());
}

}  // namespace regledger::bench
