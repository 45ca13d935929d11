// A ledger in a temporary data directory, with the sample institutions, a
// manual clock and a scheduler: the projections tests' shared world.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>
#include <unistd.h>

#include "engine/institutions.h"
#include "engine/rules/rule_set.h"
#include "projections/ledger.h"
#include "projections/rebuild.h"
#include "projections/verify.h"
#include "events/embedded_log.h"
#include "projections/scheduler.h"
#include "tests/engine/domain_harness.h"

namespace regledger::testing {

// A directory removed when the test ends.
class temp_dir {
public:
    temp_dir() {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                fmt::format("regledger-test-{}-{}", ::getpid(), counter.fetch_add(1));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// Every row of every column family of a data directory, by family.
using family_dump = std::map<std::string, std::vector<std::pair<std::string, std::string>>, std::less<>>;

inline family_dump dump_families(const projections::read_model& reads) {
    family_dump out;
    for (auto family : projections::ledger::embedded_families()) out[std::string(family)] = reads.dump(family);
    return out;
}

// The RocksDB store of a closed data directory, opened directly with the
// ledger's column families: for tests that damage or inspect it.
// A fresh Ed25519 key pair in a directory of its own, loaded.
struct test_keys {
    temp_dir dir;
    std::optional<events::signing_key> signing;
    std::optional<events::verify_key> verifying;
    test_keys() {
        REQUIRE(events::signing_key::generate(dir.path() / "k.key", dir.path() / "k.pub").has_value());
        signing.emplace(events::signing_key::load(dir.path() / "k.key").value());
        verifying.emplace(events::verify_key::load(dir.path() / "k.pub").value());
    }
};

inline std::unique_ptr<events::rocks_store> open_raw_store(const std::filesystem::path& data_dir) {
    events::store_options o;
    o.dir = data_dir;
    o.create_if_missing = false;
    auto store = events::rocks_store::open(o, projections::ledger::embedded_families());
    REQUIRE_MESSAGE(store.has_value(), "cannot open ", data_dir.string(), ": ",
                    (store ? std::string() : store.error().message()));
    return std::move(store).value();
}

// Opens a ledger on `data_dir` with any clock (the fixture's is manual).
inline result<std::unique_ptr<projections::ledger>, projections::open_failure> open_ledger(
    const std::filesystem::path& data_dir, const projections::clock& time, const institution_directory& institutions,
    projections::writer_options options = {}) {
    projections::ledger_options o;
    o.data_dir = data_dir;
    o.writer = options;
    return projections::ledger::open_embedded(o, time,
                                              {&rules::rule_set::ln_2025(), &institutions, digest{}});
}

class ledger_fixture {
public:
    explicit ledger_fixture(instant start = at("2026-03-02T09:00:00+08:00"))
        : institutions_(sample_institutions()), clock_(start) {
        open();
    }
    // The same world on a Kafka topic instead of the embedded log.
    explicit ledger_fixture(events::kafka_options kafka, instant start = at("2026-03-02T09:00:00+08:00"))
        : institutions_(sample_institutions()), clock_(start), kafka_(std::move(kafka)) {
        open();
    }
    ~ledger_fixture() { close(); }

    void open(projections::writer_options options = {}) {
        projections::ledger_options o;
        o.data_dir = dir_.path() / "data";
        o.writer = options;
        projections::ledger_context ctx{&rules::rule_set::ln_2025(), &institutions_, digest{}};
        auto l = kafka_ ? projections::ledger::open_kafka(o, *kafka_, clock_, ctx)
                        : projections::ledger::open_embedded(o, clock_, ctx);
        REQUIRE_MESSAGE(l.has_value(), (l ? std::string() : l.error().message));
        ledger_ = std::move(l).value();
        scheduler_ = std::make_unique<projections::scheduler>(ledger_->writes(), ledger_->reads(), clock_);
        seed_accounts();
    }
    void close() {
        scheduler_.reset();
        ledger_.reset();
    }
    void reopen(projections::writer_options options = {}) {
        close();
        open(options);
    }

    projections::ledger& ledger() { return *ledger_; }
    const std::optional<events::kafka_options>& kafka() const { return kafka_; }
    // The column families of this fixture's data directory.
    std::vector<std::string_view> families() const {
        return kafka_ ? projections::ledger::kafka_families() : projections::ledger::embedded_families();
    }
    projections::read_model& reads() { return ledger_->reads(); }
    projections::manual_clock& clock() { return clock_; }
    projections::scheduler& scheduler() { return *scheduler_; }
    const std::filesystem::path& dir() const { return dir_.path(); }
    std::filesystem::path data_dir() const { return dir_.path() / "data"; }
    const institution_directory& institutions() const { return institutions_; }

    command_envelope envelope(const command& c, const actor& issuer, std::string id = {}) {
        command_envelope env;
        env.command_id = command_id(id.empty() ? fmt::format("cmd-{}", next_id_++) : id);
        env.issued_by = issuer;
        env.body = c;
        return env;
    }
    projections::command_outcome run(const command& c, const actor& issuer, std::string id = {}) {
        return ledger_->writes().execute(envelope(c, issuer, std::move(id)));
    }
    // Queues every command before waiting for any (so the writer may group
    // them), then returns their outcomes in submission order.
    std::vector<projections::command_outcome> run_all(std::vector<command_envelope> commands) {
        std::vector<std::promise<projections::command_outcome>> promises(commands.size());
        std::vector<std::future<projections::command_outcome>> futures;
        for (auto& p : promises) futures.push_back(p.get_future());
        for (std::size_t i = 0; i < commands.size(); ++i) {
            ledger_->writes().submit(std::move(commands[i]),
                                     [&p = promises[i]](projections::command_outcome o) { p.set_value(std::move(o)); });
        }
        std::vector<projections::command_outcome> outcomes;
        for (auto& f : futures) outcomes.push_back(f.get());
        return outcomes;
    }
    family_dump dump_all() {
        family_dump out;
        for (auto family : families()) out[std::string(family)] = reads().dump(family);
        return out;
    }
    projections::command_outcome ok(const command& c, const actor& issuer, std::string id = {}) {
        auto o = run(c, issuer, std::move(id));
        REQUIRE_MESSAGE(o.result_kind == projections::command_outcome::kind::applied, api_code(o.error.code), " ",
                        o.error.message);
        return o;
    }
    // Moves the manual clock and fires what is due, as the admin clock route does.
    projections::fire_report advance(std::string_view to) {
        REQUIRE(clock_.set(at(to)).has_value());
        return scheduler_->fire_due();
    }

    // Opens and verifies the accounts of acct-a and acct-b (once per directory).
    void seed_accounts() {
        if (reads().head_of(account_stream(account_id("acct-a")))) return;
        ok(open_account{account_id("acct-a"), "沈阳市公交集团", std::string(uscc_a), subject_type::public_utility,
                        "210100"},
           anyone());
        ok(verify_account{account_id("acct-a")}, clerk("LN-SY"));
        ok(open_account{account_id("acct-b"), "北京数据运营公司", std::string(uscc_b), subject_type::authorized_operator,
                        "210100"},
           anyone());
        ok(verify_account{account_id("acct-b")}, clerk("LN-SY"));
    }

    // The whole procedure for an initial application of `reg` (fixed dates).
    void make_valid(const std::string& reg, const std::string& app) {
        auto c = initial_application(app);
        c.registration_id = registration_id(reg);
        ok(c, subject("acct-a"));
        ok(accept_application{application_id(app)}, clerk("LN-SY"));
        ok(pass_review{application_id(app)}, clerk("LN-SY"));
    }

private:
    temp_dir dir_;
    institution_directory institutions_;
    projections::manual_clock clock_;
    std::optional<events::kafka_options> kafka_;
    std::unique_ptr<projections::ledger> ledger_;
    std::unique_ptr<projections::scheduler> scheduler_;
    int next_id_ = 1;
};

}  // namespace regledger::testing
