// The broker stopped in the middle of a load: commands answer UNAVAILABLE
// within a bound, the ledger stays up, and when the broker returns it goes
// on; every acknowledged command is in the topic exactly once, and a command
// answered UNAVAILABLE, repeated with its id, ends up there exactly once too.
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "events/codec.h"
#include "events/log_verify.h"
#include "tests/kafka/kafka_env.h"
#include "tests/projections/ledger_fixture.h"

using namespace regledger;
using namespace regledger::testing;
using kind = projections::command_outcome::kind;

namespace {

// scripts/kafka ACTION for the test broker's port.
void broker(std::string_view action) {
    const std::string brokers = kafka_brokers();
    const std::string port = brokers.substr(brokers.rfind(':') + 1);
    const std::string command =
        fmt::format("{}/scripts/kafka {} --port {} >/dev/null 2>&1", REGLEDGER_SOURCE_DIR, action, port);
    REQUIRE_MESSAGE(std::system(command.c_str()) == 0, command);
}

}  // namespace

TEST_CASE("Kafka faults: the broker stopped mid-load, then back: UNAVAILABLE meanwhile, exactly once after") {
    auto options = kafka_test_options("outage");
    options.timeout = std::chrono::milliseconds(2000);
    ledger_fixture f(options);

    std::mutex mutex;
    std::map<std::string, kind> outcomes;  // command id -> answer
    std::vector<double> unavailable_seconds;
    std::atomic<bool> stop{false};
    std::atomic<int> applied_after_outage{0};
    std::atomic<bool> outage_seen{false};
    std::string last_unavailable;  // under `mutex`: what the last UNAVAILABLE said
    std::thread load([&] {
        for (int i = 0; !stop; ++i) {
            auto c = initial_application(fmt::format("app-{}", i));
            c.registration_id = registration_id(fmt::format("reg-{}", i));
            const std::string id = fmt::format("load-{}", i);
            const auto started = std::chrono::steady_clock::now();
            const auto o = f.run(c, subject("acct-a"), id);
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            {
                std::lock_guard lock(mutex);
                outcomes[id] = o.result_kind;
                if (o.result_kind == kind::unavailable) {
                    unavailable_seconds.push_back(seconds);
                    last_unavailable = o.error.message;
                    outage_seen = true;
                } else if (outage_seen && o.result_kind == kind::applied) {
                    ++applied_after_outage;
                }
            }
            // A client backs off after a 503, as a real one would; each
            // command refused meanwhile is repeated below.
            if (o.result_kind == kind::unavailable) std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    });
    auto wait_for = [&](auto condition, int seconds) {
        for (int i = 0; i < seconds * 10 && !condition(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return condition();
    };
    REQUIRE(wait_for([&] {
        std::lock_guard lock(mutex);
        return outcomes.size() >= 20;
    }, 60));
    // The broker crashes (SIGKILL), as a machine losing power would. A
    // graceful stop of a single-node cluster can instead complete a commit
    // without writing its markers ("partitions are likely deleted already"
    // in the broker's log): a hanging transaction no read_committed reader
    // gets past, which the ledger then refuses to serve around.
    broker("kill");
    const bool saw_outage = wait_for([&] { return outage_seen.load(); }, 60);
    // The broker stays away longer than a minute: past librdkafka's default
    // transaction timeout (60 s), after which the coordinator would abort the
    // writer's open transaction and fence it for good on its return; the
    // writer's own (kafka_options::transaction_timeout) outlasts it.
    std::this_thread::sleep_for(std::chrono::seconds(65));
    broker("start");
    const bool recovered = wait_for([&] { return applied_after_outage.load() >= 5; }, 120);
    stop = true;
    load.join();
    REQUIRE(saw_outage);
    {
        std::lock_guard lock(mutex);
        REQUIRE_MESSAGE(recovered, "still unavailable: ", last_unavailable);
    }
    {
        std::lock_guard lock(mutex);
        // Answered within the bound: the produce/commit timeout plus the
        // resync's read, not an open-ended hang.
        for (double s : unavailable_seconds) CHECK(s < 20.0);
    }

    // Repeat every command that was answered UNAVAILABLE, with its id.
    for (const auto& [id, k] : outcomes) {
        if (k != kind::unavailable) continue;
        const int i = std::stoi(id.substr(5));
        auto c = initial_application(fmt::format("app-{}", i));
        c.registration_id = registration_id(fmt::format("reg-{}", i));
        const auto again = f.run(c, subject("acct-a"), id);
        CHECK(again.result_kind == kind::applied);
    }
    // Every command id is in the topic exactly once; the chains verify.
    std::map<std::string, int> seen;
    for (std::int32_t p = 0; p < f.ledger().log().partition_count(); ++p) {
        // The markers of the last commit may follow its answer.
        const auto end = f.ledger().log().end(partition_id(p));
        REQUIRE(end.has_value());
        REQUIRE(f.ledger().log().await_stable(partition_id(p), end.value()).has_value());
        log_offset next(0);
        for (;;) {
            auto records = f.ledger().log().read({partition_id(p), next}, 1000);
            REQUIRE(records.has_value());
            if (records.value().empty()) break;
            for (const auto& r : records.value()) {
                const auto rec = events::decode(r.value);
                REQUIRE(rec.has_value());
                ++seen[rec.value().envelope.command_id.value()];
            }
            next = log_offset(records.value().back().position.offset.value() + 1);
        }
    }
    for (const auto& [id, k] : outcomes) {
        CAPTURE(id);
        CHECK(seen[id] == 1);
    }
    events::verify_options vo;
    CHECK(events::verify_log(f.ledger().log(), vo).has_value());
}
