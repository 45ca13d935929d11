#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include <boost/describe/enumerators.hpp>
#include <boost/mp11/algorithm.hpp>

#include "engine/sha256.h"
#include "events/canonical.h"
#include "events/described.h"
#include "tests/events/samples.h"

using namespace regledger;
using namespace regledger::events;

namespace {

std::string hex(const std::vector<std::uint8_t>& b) {
    std::string out;
    static constexpr char digits[] = "0123456789abcdef";
    for (const auto x : b) {
        out.push_back(digits[x >> 4]);
        out.push_back(digits[x & 0xf]);
    }
    return out;
}

template <typename E>
E next_enumerator(E value) {
    std::vector<E> all;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto d) { all.push_back(d.value); });
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (all[i] == value) return all[(i + 1) % all.size()];
    }
    return all.front();
}

// Every copy of `value` that differs from it in exactly one place: one leaf
// changed, one optional emptied or filled, one vector element added or
// removed. Generic over the described structs, so a new field is covered
// without touching this test.
template <typename T>
std::vector<T> mutations(const T& value) {
    using namespace regledger::events::detail;
    std::vector<T> out;
    if constexpr (std::is_same_v<T, bool>) {
        out.push_back(!value);
    } else if constexpr (std::is_enum_v<T>) {
        out.push_back(next_enumerator(value));
    } else if constexpr (std::is_integral_v<T>) {
        out.push_back(static_cast<T>(value + 1));
    } else if constexpr (std::is_same_v<T, calendar_date>) {
        out.push_back(value.plus_days(1));
    } else if constexpr (std::is_same_v<T, instant>) {
        out.push_back(value.plus_us(1));
    } else if constexpr (std::is_same_v<T, sha256_digest>) {
        T copy = value;
        copy[31] ^= 1;
        out.push_back(copy);
    } else if constexpr (std::is_same_v<T, std::string>) {
        out.push_back(value + "x");
        if (!value.empty()) out.push_back(value.substr(0, value.size() - 1));
    } else if constexpr (is_named_type_v<T>) {
        for (auto&& m : mutations(value.value())) out.push_back(T(std::move(m)));
    } else if constexpr (is_optional_v<T>) {
        if (value) {
            out.push_back(std::nullopt);
            for (auto&& m : mutations(*value)) out.push_back(std::move(m));
        } else {
            out.push_back(typename T::value_type{});
        }
    } else if constexpr (is_vector_v<T>) {
        T longer = value;
        longer.emplace_back();
        out.push_back(longer);
        if (!value.empty()) out.push_back(T(value.begin(), value.end() - 1));
        for (std::size_t i = 0; i < value.size(); ++i) {
            for (auto&& m : mutations(value[i])) {
                T copy = value;
                copy[i] = std::move(m);
                out.push_back(std::move(copy));
            }
        }
    } else {
        static_assert(is_described_struct_v<T>);
        for_each_member<T>([&](auto d, std::size_t) {
            for (auto&& m : mutations(value.*d.pointer)) {
                T copy = value;
                copy.*d.pointer = std::move(m);
                out.push_back(std::move(copy));
            }
        });
    }
    return out;
}

std::vector<event_record> all_samples() {
    std::vector<event_record> out;
    for (event_type_id id = 1; id <= event_type_count; ++id) {
        if (auto rec = samples::full_record(id)) out.push_back(*rec);
        out.push_back(samples::minimal_record(id));
    }
    return out;
}

}  // namespace

TEST_CASE("the canonical encoding is the one canonical.h documents") {
    // An independent implementation (Python's struct and hashlib) of the
    // rules in canonical.h gave these bytes and digests.
    const event e = account_verified{account_id("a1"), institution_id("inst-210000")};
    const envelope env{};
    const auto bytes = canonical_bytes(env, e);
    CHECK(hex(bytes) ==
          "000000127265676c65646765722e6576656e742e7631"  // S(tag)
          "00000000" "00000000"                            // event_id, stream_id
          "0000000000000000" "0001" "0000000000000000"     // version, schema_version, occurred_at
          "00000000" "04" "00"                             // actor: account, role public_, no institution
          "00000000" "00000000" "00000000" "00000000"      // command, correlation, causation, rule set
          + std::string(3 * 64, '0') +                     // calendar_version, config_hash, prev_hash
          "0002"                                           // type id: AccountVerified
          "0000000261310000000b696e73742d323130303030");   // the payload of canonical.h's example
    CHECK(to_hex(compute_hash(env, e).value()) == "b24a2ab5ba2f466c17fe06fecfbad7aaa00356a6649ba0fafa54a8a77a6b83d4");

    envelope full;
    full.event_id = event_id("acct-a1/2");
    full.stream_id = stream_id("acct-a1");
    full.version = stream_version(2);
    full.occurred_at = instant::from_unix_us(-1);
    full.actor = actor{account_id("clerk-1"), role::clerk, institution_id("inst-210000")};
    full.command_id = command_id("cmd-1");
    full.correlation_id = correlation_id("corr-1");
    full.causation_id = causation_id("cmd-1");
    full.rule_set = rule_set_id("LN-2025");
    full.calendar_version.value().fill(0xaa);
    full.config_hash.value().fill(0xbb);
    full.prev_hash.value().fill(0xcc);
    full.hash.value().fill(0xdd);
    CHECK(to_hex(compute_hash(full, e).value()) == "ee31e5c99faf8c610436c29046b601ddeb7cc5ac9a111ecc669aa3bb49d0ddb3");
}

TEST_CASE("the hash changes when any single field of the envelope or the event changes") {
    for (const auto& rec : all_samples()) {
        CAPTURE(type_name_of(rec.event));
        const digest original = compute_hash(rec.envelope, rec.event);
        std::set<sha256_digest> seen{original.value()};
        std::size_t variants = 0;

        detail::for_each_member<envelope>([&](auto d, std::size_t) {
            if (std::string_view(d.name) == "hash") return;
            CAPTURE(d.name);
            for (auto&& m : mutations(rec.envelope.*d.pointer)) {
                envelope changed = rec.envelope;
                changed.*d.pointer = std::move(m);
                CHECK(seen.insert(compute_hash(changed, rec.event).value()).second);
                ++variants;
            }
        });
        std::visit(
            [&](const auto& payload) {
                for (auto&& m : mutations(payload)) {
                    CHECK(seen.insert(compute_hash(rec.envelope, event(std::move(m))).value()).second);
                    ++variants;
                }
            },
            rec.event);
        CHECK(variants > 15);
    }
}

TEST_CASE("the hash covers the event type, not only the payload's fields") {
    // Two events with the same fields: ReviewPassed and ApplicationWithdrawn.
    const envelope env{};
    CHECK(compute_hash(env, review_passed{application_id("a")}) !=
          compute_hash(env, application_withdrawn{application_id("a")}));
}

TEST_CASE("length prefixes keep adjacent fields apart") {
    const envelope env{};
    CHECK(compute_hash(env, application_rejected{application_id("ab"), "c"}) !=
          compute_hash(env, application_rejected{application_id("a"), "bc"}));
    CHECK(compute_hash(env, supplement_requested{application_id("a"), {"x", "y"}, ""}) !=
          compute_hash(env, supplement_requested{application_id("a"), {"x"}, "y"}));
}

TEST_CASE("the hash does not cover the hash field itself") {
    auto rec = *samples::full_record(type_id_of(code_issued{}));
    const digest before = compute_hash(rec.envelope, rec.event);
    rec.envelope.hash.value().fill(0x5a);
    CHECK(compute_hash(rec.envelope, rec.event) == before);
}

TEST_CASE("hash_matches detects tampering") {
    const auto rec = *samples::full_record(type_id_of(application_submitted{}));
    REQUIRE(hash_matches(rec));

    SUBCASE("a payload field") {
        auto t = rec;
        std::get<application_submitted>(t.event).record->data_name += "（修订）";
        CHECK_FALSE(hash_matches(t));
    }
    SUBCASE("an envelope field") {
        auto t = rec;
        t.envelope.actor.role = role::subject;
        CHECK_FALSE(hash_matches(t));
    }
    SUBCASE("the chain link") {
        auto t = rec;
        t.envelope.prev_hash.value()[0] ^= 0x01;
        CHECK_FALSE(hash_matches(t));
    }
    SUBCASE("the stored hash") {
        auto t = rec;
        t.envelope.hash.value()[31] ^= 0x80;
        CHECK_FALSE(hash_matches(t));
    }
}
