// The public facts of the public topic (projections/documents.h): which
// events make one, and the type each carries.
#include <doctest/doctest.h>

#include <string>

#include "engine/envelope.h"
#include "engine/state.h"
#include "projections/documents.h"

using namespace regledger;

namespace {

template <typename E>
std::optional<boost::json::object> fact_of(E e) {
    event_record record;
    record.envelope.occurred_at = *instant::parse("2026-03-18T09:00:00+08:00");
    record.event = std::move(e);
    return projections::public_fact(registration_state{}, record);
}

template <typename E>
void makes_public() {
    const auto fact = fact_of(E{});
    REQUIRE_MESSAGE(fact.has_value(), E::type_name);
    CHECK(fact->at("type").as_string() == E::type_name);
    CHECK(fact->at("occurred_at").as_string() == "2026-03-18T09:00:00+08:00");
}

}  // namespace

TEST_CASE("public_fact: publicity, codes, deregistration, revocation, annulment and renewal are public; nothing else") {
    makes_public<publicity_started>();
    makes_public<publicity_ended>();
    makes_public<code_issued>();
    makes_public<registration_deregistered>();
    makes_public<registration_revoked>();
    makes_public<revocation_annulled>();
    makes_public<renewal_granted>();
    CHECK_FALSE(fact_of(application_submitted{}).has_value());
    CHECK_FALSE(fact_of(objection_filed{}).has_value());
    CHECK_FALSE(fact_of(application_accepted{}).has_value());
    CHECK_FALSE(fact_of(account_opened{}).has_value());
}
