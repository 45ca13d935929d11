// A repeated command id returns the first outcome: the same status and the
// same body, byte for byte, also after a restart on the same data directory
// (API.md "A command id seen before returns the first outcome again").
#include "tests/api/server_fixture.h"

using namespace regledger::api_testing;

namespace {


}  // namespace

TEST_CASE("Idempotency: a repeated command id returns the first status and body byte for byte") {
    server_fixture f;
    f.seed_accounts();
    const auto submit_cmd = submit("c-submit", "app-1", "reg-1");
    const auto first = f.run(submit_cmd, tokens::subject_a);
    REQUIRE(first.status == 200);
    const auto refused_cmd = on_application("AcceptApplication", "c-accept-none", "app-none");
    const auto refused = f.run(refused_cmd, tokens::clerk_sy);
    check_error(refused, 404, "NOT_FOUND");
    // Time passes and the stream moves on before the repeat.
    f.advance("2026-03-03T10:00:00+08:00");
    f.ok(on_application("AcceptApplication", "c-accept", "app-1"), tokens::clerk_sy);
    const auto end = f.log_end();

    const auto check_repeats = [&] {
        const auto again = f.run(submit_cmd, tokens::subject_a);
        CHECK(again.status == first.status);
        CHECK(again.body == first.body);
        const auto refused_again = f.run(refused_cmd, tokens::clerk_sy);
        CHECK(refused_again.status == refused.status);
        CHECK(refused_again.body == refused.body);
        // The repeats wrote nothing.
        CHECK(f.log_end(end) == end);
    };
    SUBCASE("while the server runs") { check_repeats(); }
    SUBCASE("after a restart on the same data directory") {
        f.restart();
        check_repeats();
        f.restart();
        check_repeats();
    }
    SUBCASE("on one kept-alive connection") {
        client c(f.port());
        for (int i = 0; i < 3; ++i) {
            const auto again = c.post("/v1/commands", submit_cmd, tokens::subject_a);
            CHECK(again.body == first.body);
            CHECK(again.keep_alive);
        }
        CHECK(f.log_end(end) == end);
    }
}

TEST_CASE("Idempotency: the repeat of a command that changed something does not change it again") {
    server_fixture f;
    f.seed_accounts();
    const auto accept = on_application("AcceptApplication", "c-accept", "app-1");
    f.ok(submit("c-submit", "app-1", "reg-1"), tokens::subject_a);
    const auto first = f.run(accept, tokens::clerk_sy);
    REQUIRE(first.status == 200);
    f.restart();
    const auto again = f.run(accept, tokens::clerk_sy);
    CHECK(again.body == first.body);
    // A new id for the same thing is a new command, refused in the current state.
    auto other = accept;
    other["command_id"] = "c-accept-2";
    check_error(f.run(other, tokens::clerk_sy), 409, "INVALID_STATE");
    const auto history = f.get("/v1/registrations/reg-1/history", tokens::auditor).obj();
    CHECK(history.at("events").as_array().size() == 2);
}
