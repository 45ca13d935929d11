// The API tests' world: regledgerd's parts run in-process on a temporary data
// directory (the ledger, the scheduler, the route table and the HTTP server on
// 127.0.0.1:0 with two I/O threads), with the sample configuration, a manual
// clock and configurable HTTP limits; it stops and starts again on the same
// data directory. And a small HTTP client over Beast that keeps its
// connection alive, with raw-socket helpers for requests that are malformed,
// slow or too large.
//
// Every wait has a deadline, so a server that never answers fails the test
// instead of hanging it.
//
// The suite runs on both logs: on the embedded one, and on Kafka when
// REGLEDGER_TEST_LOG=kafka (CTest registers every case a second time so,
// label `kafka`), each fixture with a topic of its own.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "cmd/server/api.h"
#include "cmd/server/config.h"
#include "cmd/server/http_server.h"
#include "engine/rules/rule_set.h"
#include "engine/time.h"
#include "events/signing.h"
#include "projections/clock.h"
#include "projections/ledger.h"
#include "projections/scheduler.h"
#include "tests/kafka/kafka_env.h"

namespace regledger::api_testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::json::array;
using boost::json::object;
using boost::json::value;
using namespace std::chrono_literals;

// Whether this run of the suite is on the Kafka log (REGLEDGER_TEST_LOG=kafka).
inline bool on_kafka() {
    const char* log = std::getenv("REGLEDGER_TEST_LOG");
    return log != nullptr && std::string_view(log) == "kafka";
}

// regledgerd's flags for the log of this run, with a topic of its own; the
// same flags again for a restart on the same data directory.
inline std::vector<std::string> daemon_log_args() {
    if (!on_kafka()) return {};
    return {"--log", "kafka", "--brokers", testing::kafka_brokers(), "--topic", testing::fresh_topic("api-daemon")};
}

// The offsets `events` events written by `commits` transactions take in the
// log: on Kafka a commit marker follows each transaction's records.
inline std::int64_t offsets_of(std::int64_t events, std::int64_t commits) {
    return on_kafka() ? events + commits : events;
}

// How long any single exchange may take before the test gives up on it.
inline constexpr std::chrono::milliseconds exchange_timeout_ms{30'000};

// The tokens of cmd/config/regledger.sample.json.
namespace tokens {
inline constexpr std::string_view clerk_ln = "t-clerk-ln";  // provincial
inline constexpr std::string_view clerk_sy = "t-clerk-sy";  // Shenyang
inline constexpr std::string_view clerk_dl = "t-clerk-dl";  // Dalian
inline constexpr std::string_view subject_a = "t-subject-a";
inline constexpr std::string_view subject_b = "t-subject-b";
inline constexpr std::string_view auditor = "t-auditor";
inline constexpr std::string_view supervisor = "t-supervisor";
}  // namespace tokens

// Valid unified social credit codes and a resident ID number.
inline constexpr std::string_view uscc_a = "91350100M000100Y43";
inline constexpr std::string_view uscc_b = "91110000802100433B";
inline constexpr std::string_view resident_id = "110101199003074514";
inline constexpr std::string_view name_a = "沈阳市公交集团";
inline constexpr std::string_view name_b = "北京数据运营公司";

inline std::filesystem::path sample_config_path() {
    return std::filesystem::path(REGLEDGER_SOURCE_DIR) / "cmd" / "config" / "regledger.sample.json";
}

// A directory removed when the test ends.
class scratch_dir {
public:
    scratch_dir() {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                fmt::format("regledger-api-{}-{}", ::getpid(), counter.fetch_add(1));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// ---- Responses ---------------------------------------------------------------------

struct response {
    unsigned status = 0;
    std::string body;
    http::fields headers;
    bool keep_alive = false;

    value json() const {
        boost::system::error_code ec;
        auto v = boost::json::parse(body, ec);
        REQUIRE_MESSAGE(!ec, "the body is not JSON: ", body);
        return v;
    }
    object obj() const {
        auto v = json();
        REQUIRE_MESSAGE(v.is_object(), "the body is not a JSON object: ", body);
        return std::move(v.get_object());
    }
    std::string header(http::field f) const {
        const auto it = headers.find(f);
        return it == headers.end() ? std::string() : std::string(it->value());
    }
};

inline std::string describe(const response& r) { return fmt::format("HTTP {} {}", r.status, r.body); }

// Checks the one error shape of API.md: {"error": {"code", "message"[, "field"]}}
// and nothing else, with the expected status, code and (when given) field.
inline void check_error(const response& r, unsigned status, std::string_view code,
                        std::optional<std::string_view> field = std::nullopt) {
    INFO(describe(r));
    CHECK(r.status == status);
    CHECK(r.header(http::field::content_type).starts_with("application/json"));
    const object body = r.obj();
    REQUIRE(body.size() == 1);
    REQUIRE(body.contains("error"));
    REQUIRE(body.at("error").is_object());
    const object& error = body.at("error").get_object();
    for (const auto& [key, v] : error) {
        const std::string_view k(key.data(), key.size());
        CHECK_MESSAGE((k == "code" || k == "message" || k == "field"), "unexpected key in the error: ", k);
        CHECK_MESSAGE(v.is_string(), "not a string: ", k);
    }
    REQUIRE(error.contains("code"));
    REQUIRE(error.contains("message"));
    CHECK(error.at("code").as_string() == code);
    CHECK_FALSE(error.at("message").as_string().empty());
    if (field) {
        REQUIRE_MESSAGE(error.contains("field"), "no field in the error");
        CHECK(error.at("field").as_string() == *field);
    }
}

// ---- The client ---------------------------------------------------------------------

// One TCP connection to the server. HTTP requests over it are kept alive as
// asked; the raw helpers write and read bytes for requests that HTTP clients
// would not send. Not thread-safe: one client per thread.
class client {
public:
    explicit client(unsigned short port, std::string_view host = "127.0.0.1") : socket_(io_) {
        const tcp::endpoint to(asio::ip::make_address(std::string(host)), port);
        const auto ec = run([&](auto done) { socket_.async_connect(to, [done](beast::error_code e) { done(e); }); });
        REQUIRE_MESSAGE(!ec, "cannot connect to ", host, ":", port, ": ", ec.message());
    }
    // Connects from a given local address (to come from outside the loopback).
    client(unsigned short port, const asio::ip::address& to_address, const asio::ip::address& from_address)
        : socket_(io_) {
        socket_.open(to_address.is_v4() ? tcp::v4() : tcp::v6());
        socket_.bind(tcp::endpoint(from_address, 0));
        const tcp::endpoint to(to_address, port);
        const auto ec = run([&](auto done) { socket_.async_connect(to, [done](beast::error_code e) { done(e); }); });
        REQUIRE_MESSAGE(!ec, "cannot connect to ", to_address.to_string(), ":", port, ": ", ec.message());
    }

    // Sends one request and reads its answer; a failure on the way fails the test.
    response send(http::verb method, std::string_view target, std::string body = {},
                  std::optional<std::string_view> token = std::nullopt, bool keep_alive = true) {
        auto r = try_send(method, target, std::move(body), token, keep_alive);
        REQUIRE_MESSAGE(r.has_value(), "no answer to ", std::string(http::to_string(method)), " ", target, ": ",
                        last_error_.message());
        return std::move(*r);
    }
    // The same, but a connection closed before the answer is nullopt.
    std::optional<response> try_send(http::verb method, std::string_view target, std::string body = {},
                                     std::optional<std::string_view> token = std::nullopt, bool keep_alive = true) {
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::user_agent, "regledger-api-tests");
        if (token) req.set(http::field::authorization, fmt::format("Bearer {}", *token));
        if (!body.empty() || method == http::verb::post) {
            req.set(http::field::content_type, "application/json");
            req.body() = std::move(body);
        }
        req.keep_alive(keep_alive);
        req.prepare_payload();
        return exchange(req);
    }
    std::optional<response> exchange(http::request<http::string_body>& req) {
        last_error_ = run([&](auto done) {
            http::async_write(socket_, req, [done](beast::error_code e, std::size_t) { done(e); });
        });
        if (last_error_) return std::nullopt;
        return read_response();
    }

    response get(std::string_view target, std::optional<std::string_view> token = std::nullopt) {
        return send(http::verb::get, target, {}, token);
    }
    response post(std::string_view target, const value& body, std::optional<std::string_view> token = std::nullopt) {
        return send(http::verb::post, target, boost::json::serialize(body), token);
    }

    // Raw bytes out; false when the connection refused them.
    bool write_raw(std::string_view bytes) {
        last_error_ = run([&](auto done) {
            asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                              [done](beast::error_code e, std::size_t) { done(e); });
        });
        return !last_error_;
    }
    // Reads one HTTP response; nullopt when the connection closes first.
    std::optional<response> read_response(std::chrono::milliseconds limit = exchange_timeout_ms) {
        http::response_parser<http::string_body> parser;
        parser.body_limit(64u << 20);
        last_error_ = run(
            [&](auto done) {
                http::async_read(socket_, buffer_, parser, [done](beast::error_code e, std::size_t) { done(e); });
            },
            limit);
        if (last_error_) return std::nullopt;
        auto msg = parser.release();
        response out;
        out.status = msg.result_int();
        out.body = std::move(msg.body());
        out.keep_alive = msg.keep_alive();
        for (const auto& f : msg) out.headers.insert(f.name_string(), f.value());
        return out;
    }
    // Waits until the server closes the connection (end of stream or reset),
    // discarding whatever it sends meanwhile; false when it is still open at
    // `limit`.
    bool closed_by_server(std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                                    std::chrono::steady_clock::now());
            if (left <= 0ms) return false;
            std::array<char, 4096> chunk{};
            const auto ec = run(
                [&](auto done) {
                    socket_.async_read_some(asio::buffer(chunk), [done](beast::error_code e, std::size_t) { done(e); });
                },
                left);
            if (ec == asio::error::timed_out) return false;
            if (ec) return true;  // eof, reset: closed
        }
    }
    // Whether bytes or the end of the stream arrive within `limit`
    // (without consuming them when the connection stays open).
    bool readable_within(std::chrono::milliseconds limit) {
        const auto ec = run(
            [&](auto done) { socket_.async_wait(tcp::socket::wait_read, [done](beast::error_code e) { done(e); }); },
            limit);
        return !ec;
    }

    const beast::error_code& last_error() const { return last_error_; }
    tcp::socket& socket() { return socket_; }

private:
    // Runs one asynchronous operation to completion or until `limit`, when it
    // is cancelled and the result is timed_out.
    template <typename Start>
    beast::error_code run(Start start, std::chrono::milliseconds limit = exchange_timeout_ms) {
        std::optional<beast::error_code> result;
        bool timed_out = false;
        asio::steady_timer timer(io_);
        timer.expires_after(limit);
        timer.async_wait([&](beast::error_code e) {
            if (!e && !result) {
                timed_out = true;
                beast::error_code ignored;
                socket_.cancel(ignored);
            }
        });
        start([&](beast::error_code e) {
            result = e;
            timer.cancel();
        });
        io_.restart();
        io_.run();
        if (timed_out) return asio::error::timed_out;
        return result.value_or(asio::error::operation_aborted);
    }

    asio::io_context io_;
    tcp::socket socket_;
    beast::flat_buffer buffer_;
    beast::error_code last_error_;
};

// ---- Command bodies ----------------------------------------------------------------

inline object command(std::string_view type, std::string_view id, object fields = {}) {
    object o;
    o["command_id"] = id;
    o["type"] = type;
    for (auto& [k, v] : fields) o[k] = std::move(v);
    return o;
}

inline array applicants_a() { return {object{{"name", name_a}, {"uscc", uscc_a}, {"role", "lead"}}}; }
inline array applicants_ab() {
    return {object{{"name", name_a}, {"uscc", uscc_a}, {"role", "lead"}},
            object{{"name", name_b}, {"uscc", uscc_b}, {"role", "joint"}}};
}
inline array applicants_b() { return {object{{"name", name_b}, {"uscc", uscc_b}, {"role", "lead"}}}; }

inline object sample_record(std::string_view data_name = "沈阳市公共交通客流数据") {
    return {{"object_type", "resource"},   {"data_name", data_name},
            {"summary", "全市公交线路按日客流统计"}, {"industry_codes", array{"54"}},
            {"coverage_regions", array{"210100"}}, {"update_frequency", "daily"},
            {"access_method", "open"}};
}

inline array sample_materials(std::string_view name = "申请表.pdf", char fill = 'a') {
    return {object{{"name", name}, {"sha256", std::string(64, fill)}}};
}

struct submit_args {
    std::string kind = "initial";
    std::string institution = "LN-SY";
    array applicants = applicants_a();
    std::optional<object> record = sample_record();
    array materials = sample_materials();
};

inline object submit(std::string_view id, std::string_view application, std::string_view registration,
                     submit_args a = {}) {
    object f{{"application_id", application},
             {"kind", a.kind},
             {"registration_id", registration},
             {"institution_id", a.institution},
             {"applicants", std::move(a.applicants)},
             {"materials", std::move(a.materials)}};
    if (a.record && (a.kind == "initial" || a.kind == "change" || a.kind == "correction")) f["record"] = *a.record;
    return command("SubmitApplication", id, std::move(f));
}

inline object on_application(std::string_view type, std::string_view id, std::string_view application,
                             object more = {}) {
    more["application_id"] = application;
    return command(type, id, std::move(more));
}

inline object objection(std::string_view id, std::string_view application, std::string_view objection_id,
                        std::string_view grounds = "该数据包含未脱敏的个人信息") {
    return command("FileObjection", id,
                   {{"application_id", application},
                    {"objection_id", objection_id},
                    {"objector", object{{"name", "张三"}, {"id_number", resident_id}}},
                    {"grounds", grounds},
                    {"evidence", array{object{{"name", "截图.png"}, {"sha256", std::string(64, 'e')}}}}});
}

// The type names of the events in a successful command's answer.
inline std::vector<std::string> event_types(const object& body) {
    std::vector<std::string> out;
    for (const auto& e : body.at("events").as_array()) out.emplace_back(e.at("type").as_string());
    return out;
}
inline std::vector<std::string> event_types(const response& r) { return event_types(r.obj()); }

// The day after a date, as the instant a deadline on it passes.
inline std::string deadline_passed(std::string_view last_day) {
    const auto d = calendar_date::parse(last_day);
    REQUIRE_MESSAGE(d.has_value(), "not a date: ", last_day);
    return instant::start_of_day(d->plus_days(1)).to_string();
}

// ---- The server ----------------------------------------------------------------------

struct server_options {
    server::http_limits limits{};
    // A manual clock at `start` (the admin clock route exists), or the system clock.
    bool manual_clock = true;
    std::string start = "2026-03-02T09:00:00+08:00";  // a Monday
    std::string listen_address = "127.0.0.1";
    unsigned io_threads = 2;
    // Signed checkpoints every this many records (a fresh key in the scratch
    // directory); none by default.
    std::optional<std::uint64_t> checkpoint_events;
};

// regledgerd's parts, wired as serve() wires them, on a data directory that
// outlives stop() and start().
class server_fixture {
public:
    explicit server_fixture(server_options options = {}) : options_(std::move(options)) {
        auto cfg = server::config::load(sample_config_path());
        REQUIRE_MESSAGE(cfg.has_value(), (cfg ? std::string() : cfg.error()));
        config_ = std::make_unique<server::config>(std::move(cfg).value());
        if (on_kafka()) kafka_ = testing::kafka_test_options("api");
        if (options_.manual_clock) {
            const auto t = instant::parse(options_.start);
            REQUIRE(t.has_value());
            manual_ = std::make_unique<projections::manual_clock>(*t);
        } else {
            system_ = std::make_unique<projections::system_clock>();
        }
        start();
    }
    ~server_fixture() { stop(); }
    server_fixture(const server_fixture&) = delete;
    server_fixture& operator=(const server_fixture&) = delete;

    void start() {
        REQUIRE_FALSE(running_);
        projections::ledger_options lo;
        lo.data_dir = data_dir();
        if (options_.checkpoint_events) {
            if (!signing_key_) {
                const auto key_file = dir_.path() / "ledger.key";
                REQUIRE(events::signing_key::generate(key_file, dir_.path() / "ledger.pub").has_value());
                auto loaded = events::signing_key::load(key_file);
                REQUIRE(loaded.has_value());
                signing_key_.emplace(std::move(loaded).value());
            }
            lo.writer.signing_key = &*signing_key_;
            lo.writer.checkpoint_events_max = *options_.checkpoint_events;
        }
        projections::ledger_context context{&rules::rule_set::ln_2025(), &config_->institutions(), config_->hash()};
        auto opened = kafka_ ? projections::ledger::open_kafka(lo, *kafka_, time(), context)
                             : projections::ledger::open_embedded(lo, time(), context);
        REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message));
        ledger_ = std::move(opened).value();
        scheduler_ = std::make_unique<projections::scheduler>(ledger_->writes(), ledger_->reads(), time());
        if (!manual_) scheduler_->start();
        api_ = std::make_unique<server::api>(*ledger_, *scheduler_, *config_, manual_.get(),
                                             signing_key_ ? &signing_key_->public_key() : nullptr);
        io_ = std::make_unique<asio::io_context>();
        const tcp::endpoint listen(asio::ip::make_address(options_.listen_address), port_);
        http_ = std::make_unique<server::http_server>(
            *io_, listen, options_.limits,
            [app = api_.get()](server::http_request&& req, const tcp::endpoint& remote, server::reply_fn reply) {
                app->handle(std::move(req), remote, std::move(reply));
            },
            &server::api::refusal);
        http_->start();
        // The same port after a restart, so that clients need not ask again.
        port_ = http_->local_endpoint().port();
        for (unsigned i = 0; i < options_.io_threads; ++i) threads_.emplace_back([io = io_.get()] { io->run(); });
        running_ = true;
    }

    // As serve() on SIGTERM: stop accepting, let open connections finish the
    // request in hand, stop the I/O, the scheduler and the writer.
    void stop() {
        if (!running_) return;
        running_ = false;
        http_->stop_accepting();
        http_->wait_idle();
        io_->stop();
        for (auto& t : threads_) t.join();
        threads_.clear();
        // The writer may still hold a reply callback (and so a session)
        // until its thread ends: close it while the io_context lives.
        scheduler_->stop();
        ledger_->close();
        http_.reset();
        io_.reset();
        api_.reset();
        scheduler_.reset();
        ledger_.reset();
    }
    void restart() {
        stop();
        start();
    }

    unsigned short port() const { return port_; }
    std::filesystem::path data_dir() const { return dir_.path() / "data"; }
    const server::config& config() const { return *config_; }
    projections::ledger& ledger() { return *ledger_; }
    // The key that signs checkpoints (options.checkpoint_events).
    const events::signing_key& signing_key() const { return *signing_key_; }
    projections::manual_clock& clock() {
        REQUIRE(manual_ != nullptr);
        return *manual_;
    }
    server::http_server& http() { return *http_; }
    const server::api& app() const { return *api_; }

    // One request on a connection of its own.
    response request(http::verb method, std::string_view target, std::string body = {},
                     std::optional<std::string_view> token = std::nullopt) {
        client c(port_);
        return c.send(method, target, std::move(body), token, false);
    }
    response get(std::string_view target, std::optional<std::string_view> token = std::nullopt) {
        return request(http::verb::get, target, {}, token);
    }
    response post(std::string_view target, const value& body, std::optional<std::string_view> token = std::nullopt) {
        return request(http::verb::post, target, boost::json::serialize(body), token);
    }
    response run(const object& cmd, std::optional<std::string_view> token = std::nullopt) {
        return post("/v1/commands", cmd, token);
    }
    // A command that must succeed; returns its answer.
    object ok(const object& cmd, std::optional<std::string_view> token = std::nullopt) {
        const auto r = run(cmd, token);
        REQUIRE_MESSAGE(r.status == 200, boost::json::serialize(cmd), " -> ", describe(r));
        return r.obj();
    }
    // The log end /healthz reports. The end a Kafka broker reports may trail
    // a commit for a moment: with `expected`, it is asked again until it is
    // that (within a bound) and the last value seen returned; without, on
    // Kafka, until it stays the same for 200 ms.
    std::int64_t log_end(std::optional<std::int64_t> expected = std::nullopt) {
        const auto read = [&] { return get("/healthz").obj().at("log_end").to_number<std::int64_t>(); };
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        auto end = read();
        for (;;) {
            if (expected ? end == *expected : !on_kafka()) return end;
            if (std::chrono::steady_clock::now() > deadline) return end;
            std::this_thread::sleep_for(expected ? 20ms : 200ms);
            const auto again = read();
            if (!expected && again == end) return end;
            end = again;
        }
    }
    // Moves the manual clock through the admin route; returns its answer.
    object advance(std::string_view now) {
        const auto r = post("/v1/admin/clock", object{{"now", now}});
        REQUIRE_MESSAGE(r.status == 200, "moving the clock to ", now, ": ", describe(r));
        return r.obj();
    }

    // acct-a (uscc_a) and acct-b (uscc_b), opened and verified.
    void seed_accounts() {
        ok(command("OpenAccount", "seed-open-a",
                   {{"account_id", "acct-a"},
                    {"name", name_a},
                    {"uscc", uscc_a},
                    {"subject_type", "public_utility"},
                    {"region_code", "210100"}}));
        ok(command("VerifyAccount", "seed-verify-a", {{"account_id", "acct-a"}}), tokens::clerk_sy);
        ok(command("OpenAccount", "seed-open-b",
                   {{"account_id", "acct-b"},
                    {"name", name_b},
                    {"uscc", uscc_b},
                    {"subject_type", "authorized_operator"},
                    {"region_code", "210100"}}));
        ok(command("VerifyAccount", "seed-verify-b", {{"account_id", "acct-b"}}), tokens::clerk_sy);
    }

    // An initial application of acct-a (alone or with acct-b) through
    // acceptance and review; returns the publicity end date.
    std::string to_publicity(std::string_view registration, std::string_view application, submit_args a = {},
                             std::string_view clerk = tokens::clerk_sy) {
        ok(submit(fmt::format("{}-submit", application), application, registration, std::move(a)), tokens::subject_a);
        ok(on_application("AcceptApplication", fmt::format("{}-accept", application), application), clerk);
        const auto passed =
            ok(on_application("PassReview", fmt::format("{}-pass", application), application), clerk);
        const auto& events = passed.at("events").as_array();
        REQUIRE(events.size() == 2);
        return std::string(events.at(1).at("data").at("publicity_end").as_string());
    }
    // The same, then the publicity period ends and the code is issued.
    std::string make_valid(std::string_view registration, std::string_view application, submit_args a = {},
                           std::string_view clerk = tokens::clerk_sy) {
        const auto end = to_publicity(registration, application, std::move(a), clerk);
        advance(deadline_passed(end));
        const auto reg = get(fmt::format("/v1/registrations/{}", registration), tokens::auditor);
        REQUIRE_MESSAGE(reg.status == 200, describe(reg));
        REQUIRE(reg.obj().at("status").as_string() == "valid");
        return std::string(reg.obj().at("code").as_string());
    }

    // Waits until at most `n` connections are open on the server.
    bool wait_connections_at_most(std::size_t n, std::chrono::milliseconds limit = exchange_timeout_ms) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (http_->open_connections() > n) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            // Polled: a closing session leaves when its last handler has run.
            std::this_thread::sleep_for(1ms);
        }
        return true;
    }

private:
    const projections::clock& time() const {
        if (manual_) return *manual_;
        return *system_;
    }

    server_options options_;
    scratch_dir dir_;
    std::unique_ptr<server::config> config_;
    // The Kafka log of this fixture (on_kafka()), the same topic across restarts.
    std::optional<events::kafka_options> kafka_;
    std::optional<events::signing_key> signing_key_;
    std::unique_ptr<projections::manual_clock> manual_;
    std::unique_ptr<projections::system_clock> system_;
    std::unique_ptr<projections::ledger> ledger_;
    std::unique_ptr<projections::scheduler> scheduler_;
    std::unique_ptr<server::api> api_;
    std::unique_ptr<asio::io_context> io_;
    std::unique_ptr<server::http_server> http_;
    std::vector<std::thread> threads_;
    unsigned short port_ = 0;
    bool running_ = false;
};

}  // namespace regledger::api_testing
