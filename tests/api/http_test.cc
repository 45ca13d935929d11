// HTTP/1.1 behaviour (cmd/server/http_server.h): keep-alive, the limits on
// slow, idle, too many and too large, and requests that are not HTTP or not
// routes.
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "tests/api/server_fixture.h"

using namespace regledger::api_testing;
namespace server = regledger::server;

namespace {


object open_account(std::string_view id, std::string_view account) {
    return command("OpenAccount", id,
                   {{"account_id", account},
                    {"name", "某单位"},
                    {"uscc", uscc_a},
                    {"subject_type", "other"},
                    {"region_code", "210100"}});
}

std::string post_head(std::size_t content_length, std::string_view extra = {}) {
    return fmt::format("POST /v1/commands HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       "Content-Length: {}\r\n{}\r\n",
                       content_length, extra);
}

// A command body padded with spaces (JSON whitespace) to exactly `size` bytes.
std::string padded(const object& cmd, std::size_t size) {
    std::string body = boost::json::serialize(cmd);
    REQUIRE(body.size() <= size);
    body.insert(body.size() - 1, size - body.size(), ' ');
    return body;
}

server_options with_timeouts(std::chrono::seconds header, std::chrono::seconds idle) {
    server_options o;
    o.limits.header_timeout = header;
    o.limits.idle_timeout = idle;
    return o;
}

}  // namespace

TEST_CASE("HTTP: several requests on one kept-alive connection") {
    server_fixture f;
    client c(f.port());
    f.seed_accounts();
    for (int i = 0; i < 5; ++i) {
        const auto r = c.get("/v1/public/publicity");
        CHECK(r.status == 200);
        CHECK(r.keep_alive);
    }
    const auto cmd = c.post("/v1/commands", open_account("c-open", "acct-c"));
    CHECK(cmd.status == 200);
    CHECK(c.get("/v1/accounts/acct-c", tokens::auditor).status == 200);
    // The helper's own connections have gone; this one stays.
    CHECK(f.wait_connections_at_most(1));
    CHECK(f.http().open_connections() == 1);
    // Connection: close is honoured.
    const auto last = c.send(http::verb::get, "/healthz", {}, std::nullopt, false);
    CHECK(last.status == 200);
    CHECK_FALSE(last.keep_alive);
    CHECK(c.closed_by_server(exchange_timeout_ms));
}

TEST_CASE("HTTP: the server sends each answer at once (TCP_NODELAY on its side of every connection)") {
    // With Nagle's algorithm an answer written while an earlier segment is
    // unacknowledged waits for the client's delayed acknowledgement: 40 ms.
    server_fixture f;
    client c(f.port());
    CHECK(c.get("/healthz").status == 200);
    // The server runs in this process: its accepted sockets are among ours,
    // bound to its port and connected to a peer.
    int accepted = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        int fd = -1;
        try {
            fd = std::stoi(entry.path().filename().string());
        } catch (const std::exception&) {
            continue;
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
        sockaddr_storage local{};
        sockaddr_storage peer{};
        socklen_t local_size = sizeof local;
        socklen_t peer_size = sizeof peer;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0 || local.ss_family != AF_INET) {
            continue;
        }
        if (ntohs(reinterpret_cast<const sockaddr_in&>(local).sin_port) != f.port()) continue;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0) continue;  // the listener
        int nodelay = 0;
        socklen_t size = sizeof nodelay;
        REQUIRE(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &size) == 0);
        CHECK(nodelay != 0);
        ++accepted;
    }
    CHECK(accepted >= 1);
}

TEST_CASE("HTTP: pipelined requests are answered in order") {
    server_fixture f;
    client c(f.port());
    const std::string get = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    const std::string missing = "GET /v1/nothing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    REQUIRE(c.write_raw(get + missing + get));
    const auto first = c.read_response();
    const auto second = c.read_response();
    const auto third = c.read_response();
    REQUIRE(first);
    REQUIRE(second);
    REQUIRE(third);
    CHECK(first->status == 200);
    CHECK(second->status == 404);
    CHECK(third->status == 200);
}

TEST_CASE("HTTP: a client that does not finish its request head is disconnected after header_timeout") {
    // The idle timeout is long, so a disconnection in time is the header timeout's.
    server_fixture f(with_timeouts(1s, 60s));
    const auto within = 20'000ms;

    SUBCASE("it sends nothing") {
        client c(f.port());
        const auto start = std::chrono::steady_clock::now();
        CHECK(c.closed_by_server(within));
        CHECK(std::chrono::steady_clock::now() - start >= 900ms);
    }
    SUBCASE("it sends the head a line at a time, too slowly") {
        client c(f.port());
        REQUIRE(c.write_raw("GET /healthz HTTP/1.1\r\n"));
        bool closed = false;
        const auto deadline = std::chrono::steady_clock::now() + within;
        for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
            // A write may fail once the server has closed.
            c.write_raw(fmt::format("X-Slow-{}: 1\r\n", i));
            if (c.readable_within(100ms)) {
                closed = c.closed_by_server(within);
                break;
            }
        }
        CHECK(closed);
    }
    SUBCASE("on a kept-alive connection, the second request's head is as slow") {
        client c(f.port());
        CHECK(c.get("/healthz").status == 200);
        REQUIRE(c.write_raw("GET /healthz HTTP/1.1\r\n"));
        bool closed = false;
        const auto deadline = std::chrono::steady_clock::now() + within;
        for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
            c.write_raw(fmt::format("X-Slow-{}: 1\r\n", i));
            if (c.readable_within(100ms)) {
                closed = c.closed_by_server(within);
                break;
            }
        }
        CHECK_MESSAGE(closed, "a slow head on a kept-alive connection was given the idle timeout");
    }
    SUBCASE("a head in time is answered") {
        client c(f.port());
        CHECK(c.get("/healthz").status == 200);
    }
}

TEST_CASE("HTTP: an idle kept-alive connection is closed after idle_timeout") {
    // The header timeout is long, so a disconnection in time is the idle timeout's.
    server_fixture f(with_timeouts(60s, 1s));
    client c(f.port());
    CHECK(c.get("/healthz").status == 200);
    const auto start = std::chrono::steady_clock::now();
    CHECK(c.closed_by_server(20'000ms));
    CHECK(std::chrono::steady_clock::now() - start >= 900ms);
    CHECK(f.wait_connections_at_most(0));
}

TEST_CASE("HTTP: connections beyond connections_max are closed at once") {
    server_options o;
    o.limits.connections_max = 2;
    server_fixture f(o);
    auto first = std::make_unique<client>(f.port());
    client second(f.port());
    // Each is served: the server holds both.
    CHECK(first->get("/healthz").status == 200);
    CHECK(second.get("/healthz").status == 200);
    REQUIRE(f.http().open_connections() == 2);

    client third(f.port());
    CHECK(third.closed_by_server(exchange_timeout_ms));
    CHECK_FALSE(third.try_send(http::verb::get, "/healthz").has_value());
    // The first two are still served.
    CHECK(first->get("/healthz").status == 200);
    CHECK(second.get("/healthz").status == 200);

    // When one leaves, a new one is let in.
    first.reset();
    REQUIRE(f.wait_connections_at_most(1));
    client fourth(f.port());
    CHECK(fourth.get("/healthz").status == 200);
}

TEST_CASE("HTTP: a request that is not HTTP gets 400 and the connection is closed") {
    server_fixture f;
    for (const std::string& raw : {
             std::string("THIS IS NOT HTTP\r\n\r\n"),
             std::string("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n"),
             std::string("GET /healthz HTTP/7.1\r\nHost: 127.0.0.1\r\n\r\n"),
             std::string("POST /v1/commands HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ten\r\n\r\n"),
             std::string("POST /v1/commands HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
         }) {
        INFO(raw);
        client c(f.port());
        REQUIRE(c.write_raw(raw));
        const auto r = c.read_response();
        REQUIRE(r.has_value());
        check_error(*r, 400, "MALFORMED");
        CHECK_FALSE(r->keep_alive);
        CHECK(c.closed_by_server(exchange_timeout_ms));
    }
    // A target that is not valid percent-encoding.
    check_error(f.get("/v1/registrations?status=%ZZ", tokens::auditor), 400, "MALFORMED");
    CHECK(f.get("/healthz").status == 200);
}

TEST_CASE("HTTP: an unknown route is 404, a known one with the wrong method 405") {
    server_fixture f;
    check_error(f.get("/v1/nothing"), 404, "NOT_FOUND");
    check_error(f.get("/v1/registrations/reg-1/history/more", tokens::auditor), 404, "NOT_FOUND");
    check_error(f.get("/"), 404, "NOT_FOUND");
    const auto wrong = [&](http::verb method, std::string_view target) {
        const auto r = f.request(method, target, {}, tokens::auditor);
        INFO(describe(r));
        CHECK(r.status == 405);
        CHECK(r.obj().at("error").at("code").is_string());
        CHECK(r.obj().size() == 1);
    };
    wrong(http::verb::get, "/v1/commands");
    wrong(http::verb::delete_, "/v1/commands");
    wrong(http::verb::post, "/healthz");
    wrong(http::verb::put, "/v1/registrations/reg-1");
}

TEST_CASE("HTTP: a body over 1 MiB is refused with 413 TOO_LARGE and nothing is written") {
    server_fixture f;
    const std::size_t limit = 1u << 20;
    const auto end = f.log_end();

    SUBCASE("by its Content-Length") {
        const std::string body = padded(open_account("c-big", "acct-big"), limit + 1);
        client c(f.port());
        // The server may refuse before the whole body is sent: ignore a failed write.
        c.write_raw(post_head(body.size()) + body);
        const auto r = c.read_response();
        REQUIRE_MESSAGE(r.has_value(), "no answer: ", c.last_error().message());
        check_error(*r, 413, "TOO_LARGE");
        CHECK_FALSE(r->keep_alive);
    }
    SUBCASE("chunked") {
        const std::string body = padded(open_account("c-big", "acct-big"), limit + 1);
        std::string chunked;
        for (std::size_t at = 0; at < body.size(); at += 64u << 10) {
            const auto piece = body.substr(at, 64u << 10);
            chunked += fmt::format("{:x}\r\n{}\r\n", piece.size(), piece);
        }
        chunked += "0\r\n\r\n";
        client c(f.port());
        c.write_raw("POST /v1/commands HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n" +
                    chunked);
        const auto r = c.read_response();
        REQUIRE_MESSAGE(r.has_value(), "no answer: ", c.last_error().message());
        check_error(*r, 413, "TOO_LARGE");
    }
    CHECK(f.log_end(end) == end);
    // The command id was not used up: the same command, small, is new.
    CHECK(f.run(open_account("c-big", "acct-big")).status == 200);
    CHECK(f.log_end(end + offsets_of(1, 1)) == end + offsets_of(1, 1));
}

TEST_CASE("HTTP: a body of exactly 1 MiB is within the limit") {
    server_fixture f;
    const std::string body = padded(open_account("c-full", "acct-full"), 1u << 20);
    const auto r = f.request(http::verb::post, "/v1/commands", body);
    INFO(describe(r));
    CHECK(r.status == 200);
}

namespace {

// An application that keeps each request's reply until the test gives it.
class parked_app {
public:
    void operator()(server::http_request&& request, const tcp::endpoint&, server::reply_fn reply) {
        std::lock_guard lock(mutex_);
        parked_.emplace_back(std::string(request.target()), std::move(reply));
        arrived_.notify_all();
    }
    bool wait_for_requests(std::size_t n) {
        std::unique_lock lock(mutex_);
        return arrived_.wait_for(lock, exchange_timeout_ms, [&] { return parked_.size() >= n; });
    }
    // Answers the oldest parked request with 200 and its target.
    void answer_one() {
        std::pair<std::string, server::reply_fn> p;
        {
            std::lock_guard lock(mutex_);
            REQUIRE_FALSE(parked_.empty());
            p = std::move(parked_.front());
            parked_.erase(parked_.begin());
        }
        server::http_response res{http::status::ok, 11};
        res.body() = p.first;
        p.second(std::move(res));
    }

private:
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::vector<std::pair<std::string, server::reply_fn>> parked_;
};

}  // namespace

TEST_CASE("HTTP: stopping answers the request in hand, closes the idle connections, and then is idle") {
    asio::io_context io;
    parked_app app;
    server::http_server http(
        io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), server::http_limits{},
        [&app](server::http_request&& req, const tcp::endpoint& remote, server::reply_fn reply) {
            app(std::move(req), remote, std::move(reply));
        },
        &server::api::refusal);
    http.start();
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) threads.emplace_back([&io] { io.run(); });

    client busy(http.local_endpoint().port());
    client idle(http.local_endpoint().port());
    REQUIRE(busy.write_raw("GET /in-hand HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    REQUIRE(app.wait_for_requests(1));

    http.stop_accepting();
    auto drained = std::async(std::launch::async, [&http] { http.wait_idle(); });
    // The idle connection is closed; the busy one waits for its answer.
    CHECK(idle.closed_by_server(exchange_timeout_ms));
    CHECK(drained.wait_for(0ms) == std::future_status::timeout);
    app.answer_one();
    const auto r = busy.read_response();
    CHECK(r.has_value());
    if (r) {
        CHECK(r->status == 200);
        CHECK(r->body == "/in-hand");
        CHECK_FALSE(r->keep_alive);
    }
    CHECK(busy.closed_by_server(exchange_timeout_ms));
    const bool idle_in_time = drained.wait_for(exchange_timeout_ms) == std::future_status::ready;
    CHECK_MESSAGE(idle_in_time, "wait_idle() did not return: the I/O threads ran out of work before the answer");
    if (!idle_in_time) {
        // Let whatever is queued run, so that the test ends.
        io.restart();
        std::thread rescue([&io] { io.run(); });
        drained.wait();
        io.stop();
        rescue.join();
    }
    io.stop();
    for (auto& t : threads) t.join();
}
