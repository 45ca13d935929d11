// regledgerd killed with SIGKILL while commands are in flight — on the Kafka
// log, in the middle of a transaction. After each restart: every
// acknowledged command is in the log exactly once, nothing is there that was
// not sent, a command is there whole or not at all (the killed transaction is
// invisible to read_committed readers), and the read models equal a rebuild
// from the log (what `regledger verify` checks).
#include <condition_variable>
#include <mutex>
#include <random>

#include "projections/verify.h"
#include "tests/api/daemon_process.h"

using namespace regledger::api_testing;
namespace events = regledger::events;
namespace projections = regledger::projections;

namespace {

// The Kafka options of regledgerd's flags, read only; nullopt on the
// embedded log.
std::optional<events::kafka_options> kafka_of(const std::vector<std::string>& args) {
    std::optional<events::kafka_options> k;
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == "--brokers") {
            if (!k) k.emplace();
            k->brokers = args[i + 1];
        } else if (args[i] == "--topic") {
            if (!k) k.emplace();
            k->topic = args[i + 1];
        }
    }
    if (k) {
        k->read_only = true;
        k->timeout = std::chrono::milliseconds(30000);
    }
    return k;
}

struct round_result {
    std::set<std::string> sent;
    std::map<std::string, std::string> acknowledged;  // id -> answer body
};

// Senders keep OpenAccount commands coming on kept-alive connections until
// the server has acknowledged `before_kill` of them and a random while more,
// then the server is killed.
round_result load_then_kill(daemon_process& daemon, int round, std::mt19937& rng) {
    constexpr int senders = 4;
    constexpr int before_kill = 20;
    round_result out;
    std::mutex mutex;
    std::condition_variable progress;
    std::vector<std::thread> threads;
    std::vector<std::unique_ptr<client>> clients;
    for (int t = 0; t < senders; ++t) clients.push_back(std::make_unique<client>(daemon.port()));
    for (int t = 0; t < senders; ++t) {
        threads.emplace_back([&, t] {
            auto& c = *clients[t];
            for (int n = 0;; ++n) {
                const auto cmd = open_account(fmt::format("k{}-{}-{}", round, t, n));
                const std::string id(cmd.at("command_id").as_string());
                http::request<http::string_body> req{http::verb::post, "/v1/commands", 11};
                req.set(http::field::host, "127.0.0.1");
                req.set(http::field::content_type, "application/json");
                req.body() = boost::json::serialize(cmd);
                req.keep_alive(true);
                req.prepare_payload();
                std::ostringstream text;
                text << req;
                {
                    std::lock_guard lock(mutex);
                    out.sent.insert(id);
                }
                if (!c.write_raw(text.str())) break;
                const auto answer = c.read_response();
                if (!answer) break;  // killed
                {
                    std::lock_guard lock(mutex);
                    if (answer->status == 200) out.acknowledged.emplace(id, answer->body);
                }
                progress.notify_all();
                if (!answer->keep_alive) break;
            }
        });
    }
    {
        std::unique_lock lock(mutex);
        const bool enough = progress.wait_for(lock, exchange_timeout_ms,
                                              [&] { return out.acknowledged.size() >= before_kill; });
        CHECK_MESSAGE(enough, "the server acknowledged only ", out.acknowledged.size(), " commands");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 300)(rng)));
    daemon.kill_now();
    for (auto& t : threads) t.join();
    return out;
}

}  // namespace

TEST_CASE("Crash: regledgerd killed with SIGKILL under load, restarted: every acknowledged command once, the "
          "killed batch invisible, read models equal a rebuild") {
    constexpr int rounds = 3;
    std::mt19937 rng(20261130);
    scratch_dir dir;
    const auto data = dir.path() / "data";
    const auto log = dir.path() / "regledgerd.log";
    const auto log_args = daemon_log_args();
    std::set<std::string> sent;
    std::map<std::string, std::string> acknowledged;

    for (int round = 0; round < rounds; ++round) {
        CAPTURE(round);
        {
            daemon_process daemon(data, log, log_args);
            auto r = load_then_kill(daemon, round, rng);
            sent.insert(r.sent.begin(), r.sent.end());
            acknowledged.merge(r.acknowledged);
        }
        daemon_process again(data, log, log_args);
        std::size_t logged_ours = 0;
        for (const auto& [id, times] : logged_command_ids(again.port())) {
            if (!id.starts_with("k")) continue;
            ++logged_ours;
            // One event per OpenAccount: a command is there whole, once.
            CHECK_MESSAGE(times == 1, id, " is in the log ", times, " times");
            CHECK_MESSAGE(sent.contains(id), id, " is in the log but was never sent");
        }
        std::size_t lost = 0;
        client c(again.port());
        for (const auto& [id, body] : acknowledged) {
            // Repeating an acknowledged command gives its answer again, byte
            // for byte: it is in the log and its outcome was kept with it.
            if (c.post("/v1/commands", open_account(id)).body != body) ++lost;
        }
        CHECK_MESSAGE(lost == 0, lost, " acknowledged commands were not answered the same after the restart");
        CHECK(logged_ours >= acknowledged.size());
        MESSAGE("round ", round, ": ", sent.size(), " sent, ", acknowledged.size(), " acknowledged, ", logged_ours,
                " in the log");
        again.terminate();
        const auto status = again.wait_exit(exchange_timeout_ms);
        REQUIRE(status.has_value());
        CHECK(*status == 0);

        // The read models equal a rebuild from the log.
        projections::verify_store_options v;
        v.data_dir = data;
        v.kafka = kafka_of(log_args);
        const auto verified = projections::verify_store(v);
        CHECK_MESSAGE(verified.has_value(), (verified ? std::string() : verified.error().what + " " +
                                                                             verified.error().family + " " +
                                                                             verified.error().key));
    }
}

TEST_CASE("Takeover: a second regledgerd for the same log: on Kafka it fences the first, which answers 503 and "
          "exits, and on the embedded log it refuses to start") {
    scratch_dir dir;
    const auto log_args = daemon_log_args();
    daemon_process first(dir.path() / "first", dir.path() / "first.log", log_args);
    client to_first(first.port());
    REQUIRE(to_first.post("/v1/commands", open_account("t-1")).status == 200);
    if (log_args.empty()) {
        // One writer per data directory: the second cannot take its lock.
        daemon_process second(dir.path() / "first", dir.path() / "second.log", log_args, false);
        const auto status = second.wait_exit(exchange_timeout_ms);
        REQUIRE(status.has_value());
        CHECK(*status == 3);
        CHECK(to_first.post("/v1/commands", open_account("t-2")).status == 200);
        return;
    }
    // The same topic, read models of its own: the newer writer's
    // init_transactions fences the first.
    daemon_process second(dir.path() / "second", dir.path() / "second.log", log_args);
    const auto refused = to_first.post("/v1/commands", open_account("t-2"));
    check_error(refused, 503, "UNAVAILABLE");
    const auto status = first.wait_exit(exchange_timeout_ms);
    REQUIRE_MESSAGE(status.has_value(), "the fenced regledgerd did not exit");
    CHECK(*status == 3);
    // The second has what the first acknowledged, and takes commands; t-2 was
    // written nowhere, so it is new there.
    client to_second(second.port());
    const auto ids = logged_command_ids(second.port());
    CHECK(ids.contains("t-1"));
    CHECK_FALSE(ids.contains("t-2"));
    CHECK(to_second.post("/v1/commands", open_account("t-2")).status == 200);
    CHECK(logged_command_ids(second.port()).at("t-2") == 1);
}
