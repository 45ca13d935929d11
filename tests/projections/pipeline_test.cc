// The writer's overlapping commits (projections/writer.h): batch N+1 is
// decided while batch N's commit is still running, on top of N. A log that
// holds each commit until the test lets it through makes the overlap certain:
// N+1 must see N's states, application ids, counters and stored outcomes
// though none of them is in the store yet, and must be decided again when
// N's commit fails.
#include <condition_variable>
#include <mutex>
#include <system_error>

#include <rocksdb/write_batch.h>

#include "projections/verify.h"
#include "tests/projections/ledger_fixture.h"

using namespace regledger;
using namespace regledger::testing;
using kind = projections::command_outcome::kind;

namespace {

// Forwards to the embedded log, but each commit waits for a permit, and the
// commit numbered `fail` (from 1) fails without writing.
class gated_log final : public events::event_log {
public:
    explicit gated_log(events::event_log& inner) : inner_(inner) {}

    void allow(int commits) {
        {
            std::lock_guard lock(mutex_);
            permits_ += commits;
        }
        changed_.notify_all();
    }
    void fail_commit(int number) {
        std::lock_guard lock(mutex_);
        fail_ = number;
    }
    // Waits until stage() has been called `n` times in all.
    void await_stages(int n) {
        std::unique_lock lock(mutex_);
        REQUIRE(changed_.wait_for(lock, std::chrono::seconds(30), [&] { return stages_ >= n; }));
    }
    int commits() {
        std::lock_guard lock(mutex_);
        return commits_;
    }

    std::int32_t partition_count() const noexcept override { return inner_.partition_count(); }
    partition_id partition_of(const stream_id& key) const noexcept override { return inner_.partition_of(key); }
    bool overlaps_commits() const noexcept override { return inner_.overlaps_commits(); }
    result<std::vector<log_position>> stage(std::span<const events::log_record> records) override {
        auto staged = inner_.stage(records);
        {
            std::lock_guard lock(mutex_);
            ++stages_;
        }
        changed_.notify_all();
        return staged;
    }
    result<void> commit(rocksdb::WriteBatch& local) override {
        {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return permits_ > 0; });
            --permits_;
            if (++commits_ == fail_) return std::make_error_code(std::errc::io_error);
        }
        return inner_.commit(local);
    }
    void abort() noexcept override { inner_.abort(); }
    result<std::vector<events::stored_record>> read(log_position from, std::size_t max_records) const override {
        return inner_.read(from, max_records);
    }
    result<log_offset> end(partition_id partition) const override { return inner_.end(partition); }

private:
    events::event_log& inner_;
    std::mutex mutex_;
    std::condition_variable changed_;
    int permits_ = 0;
    int stages_ = 0;
    int commits_ = 0;
    int fail_ = 0;
};

// A writer of one command per batch on the fixture's data directory (its
// accounts opened and verified), over a gated log.
struct gated_world {
    ledger_fixture fixture;
    std::unique_ptr<events::rocks_store> store;
    std::unique_ptr<events::embedded_log> inner;
    std::unique_ptr<gated_log> log;
    std::unique_ptr<projections::read_model> reads;
    std::unique_ptr<projections::writer> writer;

    gated_world() {
        fixture.close();
        store = open_raw_store(fixture.data_dir());
        inner = events::embedded_log::open(*store).value();
        log = std::make_unique<gated_log>(*inner);
        reads = std::make_unique<projections::read_model>(*store, *log);
        projections::writer_options o;
        o.batch_commands_max = 1;
        writer = std::make_unique<projections::writer>(
            *store, *log, *reads, fixture.clock(),
            projections::ledger_context{&rules::rule_set::ln_2025(), &fixture.institutions(), digest{}}, o);
        writer->start();
    }
    ~gated_world() { stop(); }
    // Lets every commit through, stops the writer and closes the store.
    void stop() {
        if (!writer) return;
        log->allow(1'000'000);
        writer.reset();
        reads.reset();
        log.reset();
        inner.reset();
        store.reset();
    }
    // What `regledger verify` says of the data directory: every read model
    // is what a rebuild derives from the log.
    void verify_stopped() {
        stop();
        projections::verify_store_options o;
        o.data_dir = fixture.data_dir();
        auto report = projections::verify_store(o);
        CHECK_MESSAGE(report.has_value(),
                      (report ? std::string() : report.error().what + " " + report.error().family + " " +
                                                    report.error().key));
    }

    std::future<projections::command_outcome> submit(const command& c, const actor& issuer, std::string id) {
        auto promise = std::make_shared<std::promise<projections::command_outcome>>();
        auto future = promise->get_future();
        writer->submit(fixture.envelope(c, issuer, std::move(id)),
                       [promise](projections::command_outcome o) { promise->set_value(std::move(o)); });
        return future;
    }
};

submit_application application(const std::string& reg, const std::string& app) {
    auto c = initial_application(app);
    c.registration_id = registration_id(reg);
    return c;
}

}  // namespace

TEST_CASE("Writer: a batch decided while the one before it commits builds on that batch") {
    gated_world w;
    // 1: submit app-x. Its commit waits; meanwhile 2 is decided and staged.
    auto first = w.submit(application("reg-x", "app-x"), subject("acct-a"), "p-1");
    w.log->await_stages(1);
    // 2: the application id is known only to batch 1, and so is the
    // registration's state.
    auto second = w.submit(accept_application{application_id("app-x")}, clerk("LN-SY"), "p-2");
    w.log->await_stages(2);
    CHECK(w.log->commits() == 0);  // the first commit is still waiting
    w.log->allow(1);
    // 3: a submission under an id batch 2 has not written yet waits for it,
    // and returns its outcome.
    auto third = w.submit(accept_application{application_id("app-x")}, clerk("LN-SY"), "p-2");
    w.log->allow(1);
    w.log->await_stages(3);
    w.log->allow(1);
    // 4 and 5: two applications, the second decided while the first
    // commits. Both count in the same figures of the service report.
    auto fourth = w.submit(application("reg-y", "app-y"), subject("acct-a"), "p-4");
    w.log->await_stages(4);
    w.log->allow(1);
    auto fifth = w.submit(application("reg-z", "app-z"), subject("acct-a"), "p-5");
    w.log->await_stages(5);
    w.log->allow(2);

    const auto o1 = first.get();
    const auto o2 = second.get();
    const auto o3 = third.get();
    const auto o4 = fourth.get();
    const auto o5 = fifth.get();
    REQUIRE_MESSAGE(o1.result_kind == kind::applied, o1.error.message);
    REQUIRE_MESSAGE(o2.result_kind == kind::applied, o2.error.message);
    CHECK(o2.version == stream_version(2));
    REQUIRE(o2.events.size() == 1);
    CHECK(o2.events[0].envelope.prev_hash == o1.events[0].envelope.hash);
    CHECK(o2.positions[0].offset.value() == o1.positions[0].offset.value() + 1);
    REQUIRE(o3.result_kind == kind::applied);
    CHECK(o3.replayed);
    CHECK(o3.positions == o2.positions);
    REQUIRE_MESSAGE(o4.result_kind == kind::applied, o4.error.message);
    CHECK(o4.positions[0].offset.value() == o2.positions[0].offset.value() + 1);
    REQUIRE_MESSAGE(o5.result_kind == kind::applied, o5.error.message);
    CHECK(o5.positions[0].offset.value() == o4.positions[0].offset.value() + 1);
    CHECK(w.reads->application(application_id("app-x"))->document.at("status").as_string() == "accepted");

    // Everything the overlapping batches wrote is what a rebuild derives
    // (the counters batch 5 found in batch 4 included).
    w.verify_stopped();
}

TEST_CASE("Writer: when a commit fails, the batch decided on top of it is decided again without it") {
    gated_world w;
    w.log->fail_commit(1);
    auto first = w.submit(application("reg-x", "app-x"), subject("acct-a"), "f-1");
    w.log->await_stages(1);
    // Decided on batch 1 (app-x exists, at version 1) and staged with it.
    auto second = w.submit(accept_application{application_id("app-x")}, clerk("LN-SY"), "f-2");
    w.log->await_stages(2);
    const auto end_before = w.log->end(partition_id(0)).value();
    w.log->allow(2);

    const auto o1 = first.get();
    const auto o2 = second.get();
    CHECK(o1.result_kind == kind::unavailable);
    CHECK(o1.error.message.find("could not be written") != std::string::npos);
    // Once the read models caught up, app-x was never submitted.
    REQUIRE(o2.result_kind == kind::rejected);
    CHECK(o2.error.code == errc::not_found);
    CHECK(w.log->end(partition_id(0)).value() == end_before);
    CHECK_FALSE(w.reads->application(application_id("app-x")));
    CHECK_FALSE(w.reads->outcome_of(command_id("f-1")));

    // The same command again is applied, as a first time.
    w.log->allow(1);
    const auto again = w.submit(application("reg-x", "app-x"), subject("acct-a"), "f-1").get();
    REQUIRE_MESSAGE(again.result_kind == kind::applied, again.error.message);
    CHECK(again.version == stream_version(1));
    CHECK(again.positions[0].offset == end_before);
    w.verify_stopped();
}
