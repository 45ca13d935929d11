// Where the Kafka tests find their broker: REGLEDGER_KAFKA_BROKERS, which
// scripts/test sets after `scripts/kafka start`. Without it the tests fail
// with a message saying how to start one — they never pass without a broker.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unistd.h>

#include <fmt/format.h>

#include "events/kafka_log.h"

namespace regledger::testing {

inline std::string kafka_brokers() {
    const char* brokers = std::getenv("REGLEDGER_KAFKA_BROKERS");
    REQUIRE_MESSAGE(brokers != nullptr,
                    "REGLEDGER_KAFKA_BROKERS is not set: run the suite with scripts/test, which starts a broker "
                    "(scripts/kafka start) and sets it");
    return brokers;
}

// A topic name of its own for each test, so tests never see each other's
// records.
inline std::string fresh_topic(std::string_view what) {
    static std::atomic<int> counter{0};
    const auto now = std::chrono::system_clock::now().time_since_epoch().count();
    return fmt::format("test.{}.{}.{}.{}", what, ::getpid(), now % 1000000007, counter.fetch_add(1));
}

inline events::kafka_options kafka_test_options(std::string_view what, std::int32_t partitions = 1) {
    events::kafka_options o;
    o.brokers = kafka_brokers();
    o.topic = fresh_topic(what);
    o.public_topic = o.topic + ".public";
    o.partitions = partitions;
    // Generous: a shared machine under load slows the broker's JVM down.
    o.timeout = std::chrono::milliseconds(30000);
    return o;
}

// scripts/kafka ACTION (start, kill, pause, resume) for the test broker's
// port.
inline void broker(std::string_view action) {
    const std::string brokers = kafka_brokers();
    const std::string port = brokers.substr(brokers.rfind(':') + 1);
    const std::string command =
        fmt::format("{}/scripts/kafka {} --port {} >/dev/null 2>&1", REGLEDGER_SOURCE_DIR, action, port);
    REQUIRE_MESSAGE(std::system(command.c_str()) == 0, command);
}

// The test broker frozen (SIGSTOP) for the guard's lifetime: it takes
// requests and answers none. Resumed however the test ends, or every later
// test would find it frozen.
class paused_broker {
public:
    paused_broker() { broker("pause"); }
    paused_broker(const paused_broker&) = delete;
    paused_broker& operator=(const paused_broker&) = delete;
    ~paused_broker() { resume(); }
    void resume() {
        if (!paused_) return;
        paused_ = false;
        broker("resume");
    }

private:
    bool paused_ = true;
};

}  // namespace regledger::testing
