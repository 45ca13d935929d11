// The broker failing in the middle of a load: commands answer UNAVAILABLE
// within a bound, the ledger stays up, and when the broker returns it goes
// on; every acknowledged command is in the topic exactly once, and a command
// answered UNAVAILABLE, repeated with its id, ends up there exactly once too.
//
// Two failures: the broker crashing (SIGKILL) and staying away past the
// transaction timeouts, and the broker freezing (SIGSTOP), which takes the
// requests in flight, the commit among them, and answers none until resumed:
// a commit the ledger had to answer UNAVAILABLE then completes after all.
#include <atomic>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <rocksdb/write_batch.h>

#include "events/canonical.h"
#include "events/codec.h"
#include "events/log_verify.h"
#include "tests/kafka/kafka_env.h"
#include "tests/projections/ledger_fixture.h"

using namespace regledger;
using namespace regledger::testing;
using kind = projections::command_outcome::kind;

namespace {

bool wait_for(const std::function<bool()>& condition, int seconds) {
    for (int i = 0; i < seconds * 10 && !condition(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return condition();
}

command initial_application_of(int i) {
    auto c = initial_application(fmt::format("app-{}", i));
    c.registration_id = registration_id(fmt::format("reg-{}", i));
    return c;
}

// One client submitting initial applications without pause, ids load-0,
// load-1, ..., and remembering each answer.
class load {
public:
    explicit load(ledger_fixture& f) : f_(f), thread_([this] { run(); }) {}
    load(const load&) = delete;
    load& operator=(const load&) = delete;
    ~load() { stop(); }

    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    std::size_t answered() const {
        std::lock_guard lock(mutex_);
        return outcomes_.size();
    }
    std::size_t applied() const { return applied_; }
    bool outage_seen() const { return outage_seen_; }
    std::string last_unavailable() const {
        std::lock_guard lock(mutex_);
        return last_unavailable_;
    }
    // After stop(): every answer, and how long each UNAVAILABLE took.
    const std::map<std::string, kind>& outcomes() const { return outcomes_; }
    const std::map<std::string, std::string>& messages() const { return messages_; }
    const std::vector<double>& unavailable_seconds() const { return unavailable_seconds_; }

private:
    void run() {
        for (int i = 0; !stop_; ++i) {
            const std::string id = fmt::format("load-{}", i);
            const auto started = std::chrono::steady_clock::now();
            const auto o = f_.run(initial_application_of(i), subject("acct-a"), id);
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            {
                std::lock_guard lock(mutex_);
                outcomes_[id] = o.result_kind;
                if (o.result_kind == kind::unavailable) {
                    unavailable_seconds_.push_back(seconds);
                    messages_[id] = o.error.message;
                    last_unavailable_ = o.error.message;
                    outage_seen_ = true;
                }
            }
            if (o.result_kind == kind::applied) ++applied_;
            // A client backs off after a 503, as a real one would; each
            // command refused meanwhile is repeated afterwards.
            if (o.result_kind == kind::unavailable) std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    }

    ledger_fixture& f_;
    mutable std::mutex mutex_;
    std::map<std::string, kind> outcomes_;  // command id -> answer
    std::map<std::string, std::string> messages_;  // command id -> UNAVAILABLE's message
    std::vector<double> unavailable_seconds_;
    std::string last_unavailable_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> outage_seen_{false};
    std::atomic<std::size_t> applied_{0};
    std::thread thread_;
};

// Repeats every command the client saw answered UNAVAILABLE, with its id;
// each is applied now, or answered as applied before: its first commit
// completed after all, and its UNAVAILABLE must not have said that nothing
// was written. Returns how many were the latter.
std::size_t repeat_unavailable(ledger_fixture& f, const load& client) {
    std::size_t completed_before = 0;
    for (const auto& [id, k] : client.outcomes()) {
        if (k != kind::unavailable) continue;
        const auto again = f.run(initial_application_of(std::stoi(id.substr(5))), subject("acct-a"), id);
        CAPTURE(id);
        CHECK(again.result_kind == kind::applied);
        if (!again.replayed) continue;
        ++completed_before;
        const std::string& first = client.messages().at(id);
        CAPTURE(first);
        CHECK(first.find("nothing was written") == std::string::npos);
        CHECK(first.find("repeat the command with the same command_id") != std::string::npos);
    }
    return completed_before;
}

// Every command id of `outcomes` is in the topic exactly once; the chains
// verify.
void check_exactly_once(ledger_fixture& f, const std::map<std::string, kind>& outcomes) {
    std::map<std::string, int> seen;
    std::map<std::string, std::vector<std::string>> where;  // command id -> each record's position and event
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
                const auto& e = rec.value().envelope;
                ++seen[e.command_id.value()];
                where[e.command_id.value()].push_back(fmt::format("{}@{} {} v{}", r.position.partition.value(),
                                                                  r.position.offset.value(), e.event_id.value(),
                                                                  e.version.value()));
            }
            next = log_offset(records.value().back().position.offset.value() + 1);
        }
    }
    for (const auto& [id, k] : outcomes) {
        CAPTURE(id);
        const std::string records = fmt::format("{}", fmt::join(where[id], ", "));
        CAPTURE(records);
        CHECK(seen[id] == 1);
    }
    events::verify_options vo;
    CHECK(events::verify_log(f.ledger().log(), vo).has_value());
}

}  // namespace

TEST_CASE("Kafka faults: the broker stopped mid-load, then back: UNAVAILABLE meanwhile, exactly once after") {
    auto options = kafka_test_options("outage");
    options.timeout = std::chrono::milliseconds(2000);
    ledger_fixture f(options);

    load client(f);
    REQUIRE(wait_for([&] { return client.answered() >= 20; }, 60));
    // The broker crashes (SIGKILL), as a machine losing power would. A
    // graceful stop of a single-node cluster can instead complete a commit
    // without writing its markers ("partitions are likely deleted already"
    // in the broker's log): a hanging transaction no read_committed reader
    // gets past, which the ledger then refuses to serve around.
    broker("kill");
    const bool saw_outage = wait_for([&] { return client.outage_seen(); }, 60);
    const std::size_t applied_before = client.applied();
    // The broker stays away longer than a minute: past librdkafka's default
    // transaction timeout (60 s), after which the coordinator would abort the
    // writer's open transaction and fence it for good on its return; the
    // writer's own (kafka_options::transaction_timeout) outlasts it.
    std::this_thread::sleep_for(std::chrono::seconds(65));
    broker("start");
    const bool recovered = wait_for([&] { return client.applied() >= applied_before + 5; }, 120);
    client.stop();
    REQUIRE(saw_outage);
    REQUIRE_MESSAGE(recovered, "still unavailable: ", client.last_unavailable());
    // Answered within the bound: the produce/commit timeout plus the resync's
    // read, not an open-ended hang.
    for (double s : client.unavailable_seconds()) CHECK(s < 20.0);

    repeat_unavailable(f, client);
    check_exactly_once(f, client.outcomes());
}

TEST_CASE("Kafka faults: the broker frozen mid-load, then resumed, again and again: a commit answered UNAVAILABLE "
          "that completes after all is never written twice") {
    auto options = kafka_test_options("frozen");
    options.timeout = std::chrono::milliseconds(2000);
    ledger_fixture f(options);

    load client(f);
    REQUIRE(wait_for([&] { return client.answered() >= 20; }, 60));
    // Each freeze outlasts the produce and commit bounds, so that whatever
    // the writer sent last (a batch, or its commit) goes unanswered; the
    // broker acts on it once resumed.
    for (int round = 0; round < 4; ++round) {
        CAPTURE(round);
        const std::size_t answered = client.answered();
        {
            paused_broker frozen;
            std::this_thread::sleep_for(std::chrono::milliseconds(6000 + 700 * round));
        }
        const std::size_t applied_before = client.applied();
        REQUIRE(wait_for([&] { return client.answered() > answered; }, 60));
        REQUIRE_MESSAGE(wait_for([&] { return client.applied() >= applied_before + 5; }, 120),
                        "still unavailable: ", client.last_unavailable());
    }
    client.stop();
    REQUIRE(client.outage_seen());

    const std::size_t completed_before = repeat_unavailable(f, client);
    MESSAGE("commands answered UNAVAILABLE whose first commit completed: ", completed_before);
    check_exactly_once(f, client.outcomes());
}

namespace {

// Three events of one stream, the command that wrote them named after it.
std::vector<events::log_record> records_for(const std::string& stream) {
    std::vector<events::log_record> records;
    for (int i = 1; i <= 3; ++i) {
        event_record rec;
        rec.envelope.stream_id = stream_id(stream);
        rec.envelope.event_id = event_id(fmt::format("{}/{}", stream, i));
        rec.envelope.command_id = command_id(stream);
        rec.envelope.version = stream_version(static_cast<std::uint64_t>(i));
        rec.envelope.occurred_at = at("2026-03-02T09:00:00+08:00");
        rec.event = account_verified{account_id(stream.substr(5)), institution_id("LN-SY")};
        rec.envelope.hash = events::compute_hash(rec.envelope, rec.event);
        records.push_back(
            {stream_id(stream), type_id_of(rec.event), events::encode(rec), std::nullopt, std::nullopt});
    }
    return records;
}

// How many records of each command partition 0 holds, read to its end.
std::map<std::string, int> commands_in_log(const events::kafka_log& log) {
    std::map<std::string, int> seen;
    const auto end = log.end(partition_id(0));
    REQUIRE(end.has_value());
    REQUIRE(log.await_stable(partition_id(0), end.value()).has_value());
    log_offset next(0);
    for (;;) {
        auto read = log.read({partition_id(0), next}, 1000);
        REQUIRE(read.has_value());
        if (read.value().empty()) return seen;
        for (const auto& r : read.value()) ++seen[events::decode(r.value).value().envelope.command_id.value()];
        next = log_offset(read.value().back().position.offset.value() + 1);
    }
}

// A Kafka log on a fresh topic with a 2 s bound, and its local store.
struct short_bound_log {
    temp_dir dir;
    std::unique_ptr<events::rocks_store> store;
    std::unique_ptr<events::kafka_log> log;

    explicit short_bound_log(std::string_view what) {
        events::store_options so;
        so.dir = dir.path() / "local";
        auto opened_store = events::rocks_store::open(so, projections::ledger::kafka_families());
        REQUIRE(opened_store.has_value());
        store = std::move(opened_store.value());
        auto options = kafka_test_options(what);
        options.timeout = std::chrono::milliseconds(2000);
        auto opened = events::kafka_log::open(options);
        REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message()));
        log = std::move(opened.value());
        log->set_local_store(store.get());
    }
};

}  // namespace

TEST_CASE("Kafka log: a commit the broker does not answer is UNKNOWN, and settled by the coordinator before the "
          "next transaction") {
    short_bound_log fixture("unanswered");
    events::kafka_log& log = *fixture.log;

    // Staged while the broker answers; the commit is sent to it frozen.
    REQUIRE(log.stage(records_for("acct-first")).has_value());
    {
        paused_broker frozen;
        rocksdb::WriteBatch local;
        const auto committed = log.commit(local);
        REQUIRE_FALSE(committed.has_value());
        CHECK(committed.error() == events::kafka_errc::commit_unknown);
        CHECK_FALSE(log.fatal());
    }
    // Resumed, the broker completes the commit it took. Before anything goes
    // on, the log settles: the coordinator has decided, and the decision is
    // readable.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    REQUIRE(wait_for([&] { return log.settle().has_value(); }, 60));
    CHECK(commands_in_log(log) == std::map<std::string, int>{{"acct-first", 3}});

    // The next transaction goes through, once.
    REQUIRE(log.stage(records_for("acct-second")).has_value());
    rocksdb::WriteBatch local;
    REQUIRE(log.commit(local).has_value());
    CHECK(commands_in_log(log) == std::map<std::string, int>{{"acct-first", 3}, {"acct-second", 3}});
}

TEST_CASE("Kafka log: after a batch whose delivery went unanswered, the next transaction's records are written, "
          "not taken for duplicates of it") {
    short_bound_log fixture("undelivered");
    events::kafka_log& log = *fixture.log;
    REQUIRE(log.stage(records_for("acct-before")).has_value());
    rocksdb::WriteBatch before;
    REQUIRE(log.commit(before).has_value());

    // The batch goes to a frozen broker: its delivery times out, while the
    // broker holds the messages and appends them once resumed.
    {
        paused_broker frozen;
        CHECK_FALSE(log.stage(records_for("acct-lost")).has_value());
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    REQUIRE(wait_for([&] { return log.settle().has_value(); }, 60));

    // The next batch carries new sequence numbers (a new producer epoch):
    // had it reused the failed batch's, the broker would have answered it
    // as their duplicate, delivered at their offsets, and written nothing.
    const auto positions = log.stage(records_for("acct-after"));
    REQUIRE(positions.has_value());
    rocksdb::WriteBatch after;
    REQUIRE(log.commit(after).has_value());
    CHECK(commands_in_log(log) == std::map<std::string, int>{{"acct-before", 3}, {"acct-after", 3}});
}
