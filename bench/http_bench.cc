// http_bench: regledgerd over HTTP, on the embedded log with durable
// acknowledgement, driven by keep-alive connections from this process.
//
// What it measures, each for --seconds:
//   - GET /v1/registrations/{id} (a provincial clerk's token) over --registrations
//     registrations seeded beforehand: requests/s as fast as --connections
//     closed-loop connections go, p50/p99; then paced at half that rate, p50/p99;
//   - POST /v1/commands (OpenAccount, each a new account: one event, one
//     synced write per batch) the same two ways;
//   - the baseline of the same run: GET /healthz, the cheapest route (no
//     store, no token), as fast as it goes: the HTTP stack's own ceiling here.
// Latency of a paced request runs from its scheduled instant, so that a
// stalled server is not hidden by requests that were never sent.
//
// regledgerd runs as a child process (the binary built beside this one) on a
// fresh data directory under /tmp, with the sample configuration and a
// manual clock; both share this machine's cores.
//
// Usage: http_bench [--connections N] [--seconds N] [--registrations N] [--quick]
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

constexpr std::string_view uscc_a = "91350100M000100Y43";

struct options {
    unsigned connections = 64;
    unsigned seconds = 5;
    unsigned registrations = 2'000;
};

[[noreturn]] void usage(const std::string& problem) {
    fmt::print(stderr, "http_bench: {}\nusage: http_bench [--connections N] [--seconds N] [--registrations N] [--quick]\n",
               problem);
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--quick") {
            o.connections = 4;
            o.seconds = 1;
            o.registrations = 50;
            continue;
        }
        if (i + 1 >= argc) usage("unexpected argument " + arg);
        const unsigned long v = std::strtoul(argv[++i], nullptr, 10);
        if (v == 0 || v > 1'000'000) usage(arg + " needs a positive number");
        if (arg == "--connections") {
            o.connections = static_cast<unsigned>(v);
        } else if (arg == "--seconds") {
            o.seconds = static_cast<unsigned>(v);
        } else if (arg == "--registrations") {
            o.registrations = static_cast<unsigned>(v);
        } else {
            usage("unknown option " + arg);
        }
    }
    return o;
}

// One kept-alive connection; synchronous, one thread each.
class connection {
public:
    explicit connection(unsigned short port) : socket_(io_) {
        socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
        socket_.set_option(tcp::no_delay(true));
    }
    // The status, or 0 when the exchange failed.
    unsigned exchange(http::verb method, const std::string& target, const std::string& body, std::string_view token) {
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::host, "127.0.0.1");
        if (!token.empty()) req.set(http::field::authorization, fmt::format("Bearer {}", token));
        if (method == http::verb::post) {
            req.set(http::field::content_type, "application/json");
            req.body() = body;
        }
        req.keep_alive(true);
        req.prepare_payload();
        boost::system::error_code ec;
        http::write(socket_, req, ec);
        if (ec) return 0;
        http::response<http::string_body> res;
        http::read(socket_, buffer_, res, ec);
        if (ec) return 0;
        last_body_ = std::move(res.body());
        return res.result_int();
    }
    const std::string& last_body() const { return last_body_; }

private:
    asio::io_context io_;
    tcp::socket socket_;
    boost::beast::flat_buffer buffer_;
    std::string last_body_;
};

// regledgerd as a child on a fresh data directory; SIGTERM at the end.
class server_child {
public:
    explicit server_child(const fs::path& dir) {
        int out[2];
        if (::pipe(out) != 0) std::exit(1);
        const std::vector<std::string> args{REGLEDGERD_PATH, "--config", REGLEDGER_SOURCE_DIR "/cmd/config/regledger.sample.json",
                                            "--data-dir", (dir / "data").string(), "--listen", "127.0.0.1:0",
                                            "--clock", "manual", "--now", "2026-03-02T09:00:00+08:00"};
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        if (::posix_spawn(&pid_, args[0].c_str(), &actions, nullptr, argv.data(), environ) != 0) {
            fmt::print(stderr, "http_bench: cannot start {}\n", args[0]);
            std::exit(1);
        }
        posix_spawn_file_actions_destroy(&actions);
        ::close(out[1]);
        // "regledgerd: listening on 127.0.0.1:PORT — ..."
        std::string seen;
        char c = 0;
        while (seen.find('\n') == std::string::npos && ::read(out[0], &c, 1) == 1) seen.push_back(c);
        ::close(out[0]);
        std::smatch m;
        if (!std::regex_search(seen, m, std::regex(R"(listening on 127\.0\.0\.1:([0-9]+))"))) {
            fmt::print(stderr, "http_bench: regledgerd said: {}\n", seen);
            std::exit(1);
        }
        port_ = static_cast<unsigned short>(std::stoul(m[1]));
    }
    ~server_child() {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    unsigned short port() const { return port_; }

private:
    pid_t pid_ = -1;
    unsigned short port_ = 0;
};

std::string open_account(std::string_view command_id, std::string_view account, std::string_view uscc) {
    return fmt::format(R"({{"command_id": "{}", "type": "OpenAccount", "account_id": "{}", "name": "测试主体 {}",
        "uscc": "{}", "subject_type": "other", "region_code": "210100"}})",
                       command_id, account, account, uscc);
}

std::string initial_application(unsigned n) {
    return fmt::format(R"({{"command_id": "seed-submit-{0}", "type": "SubmitApplication", "application_id": "app-{0}",
        "kind": "initial", "registration_id": "reg-{0}", "institution_id": "LN-SY",
        "applicants": [{{"name": "测试主体 acct-a", "uscc": "{1}", "role": "lead"}}],
        "record": {{"object_type": "resource", "data_name": "沈阳市公交线路数据 {0}", "summary": "线路与站点",
                   "industry_codes": ["54"], "coverage_regions": ["210100"]}},
        "materials": [{{"name": "申请表.pdf", "sha256": "{2}"}}]}})",
                       n, uscc_a, std::string(64, 'a'));
}

// What one load step gives.
struct step_result {
    double per_s = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    std::uint64_t requests = 0;
    std::uint64_t failed = 0;
};

double percentile(std::vector<float>& v, double p) {
    if (v.empty()) return 0;
    const auto k = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k] / 1000.0;
}

// `request(conn, thread, n)` sends the n-th request of a thread and returns
// whether it got the expected answer. rate == 0: closed loop, as fast as the
// connections go; else each connection paces its share of `rate`.
step_result run_step(unsigned short port, const options& o, double rate,
                     const std::function<bool(connection&, unsigned, std::uint64_t)>& request) {
    std::vector<std::vector<float>> latencies(o.connections);
    std::atomic<std::uint64_t> failed{0};
    const auto duration = std::chrono::seconds(o.seconds);
    const auto start = steady::now() + std::chrono::milliseconds(50);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < o.connections; ++t) {
        threads.emplace_back([&, t] {
            connection c(port);
            const auto interval = rate > 0 ? std::chrono::duration<double>(o.connections / rate) : std::chrono::duration<double>(0);
            // Spread the connections' schedules over one interval.
            auto due = start + std::chrono::duration_cast<steady::duration>(interval * t / o.connections);
            std::this_thread::sleep_until(start);
            for (std::uint64_t n = 0;; ++n) {
                if (rate > 0) {
                    std::this_thread::sleep_until(due);
                } else {
                    due = steady::now();
                }
                if (due - start >= duration) break;
                if (!request(c, t, n)) ++failed;
                latencies[t].push_back(
                    static_cast<float>(std::chrono::duration<double, std::micro>(steady::now() - due).count()));
                if (rate > 0) due += std::chrono::duration_cast<steady::duration>(interval);
            }
        });
    }
    for (auto& th : threads) th.join();
    std::vector<float> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    step_result r;
    r.requests = all.size();
    r.failed = failed.load();
    r.per_s = static_cast<double>(all.size()) / static_cast<double>(o.seconds);
    r.p50_ms = percentile(all, 0.5);
    r.p99_ms = percentile(all, 0.99);
    return r;
}

std::string grouped(double v) {
    const std::string digits = fmt::format("{:.0f}", v);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

void print(std::string_view what, const step_result& r) {
    fmt::print("  {:<44} {:>10}/s  p50 {:6.2f} ms  p99 {:6.2f} ms  ({} requests, {} failed)\n", what, grouped(r.per_s),
               r.p50_ms, r.p99_ms, grouped(static_cast<double>(r.requests)), r.failed);
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    const fs::path dir = fs::temp_directory_path() / fmt::format("regledger-http-bench-{}", ::getpid());
    fs::create_directories(dir);
    int rc = 0;
    {
        server_child d(dir);
        fmt::print("http_bench: regledgerd on 127.0.0.1:{} (embedded log, synced), {} connections, {} s a step, "
                   "{} registrations\n",
                   d.port(), o.connections, o.seconds, o.registrations);
        // The seed: subject A's account, verified, and its registrations.
        {
            connection c(d.port());
            bool ok = c.exchange(http::verb::post, "/v1/commands", open_account("seed-open-a", "acct-a", uscc_a), {}) == 200 &&
                      c.exchange(http::verb::post, "/v1/commands",
                                 R"({"command_id": "seed-verify-a", "type": "VerifyAccount", "account_id": "acct-a"})",
                                 "t-clerk-sy") == 200;
            for (unsigned n = 0; ok && n < o.registrations; ++n) {
                ok = c.exchange(http::verb::post, "/v1/commands", initial_application(n), "t-subject-a") == 200;
                if (n % 500 == 499) fmt::print("  seeding: {} registrations\n", n + 1);
            }
            if (!ok) {
                fmt::print(stderr, "http_bench: seeding failed: {}\n", c.last_body());
                return 1;
            }
        }

        const auto health = [&](connection& c, unsigned, std::uint64_t) {
            return c.exchange(http::verb::get, "/healthz", {}, {}) == 200;
        };
        const auto get = [&](connection& c, unsigned t, std::uint64_t n) {
            const auto id = (t * 7919 + n * 104729) % o.registrations;
            return c.exchange(http::verb::get, fmt::format("/v1/registrations/reg-{}", id), {}, "t-clerk-ln") == 200;
        };
        std::atomic<unsigned> round{0};
        const auto post = [&](connection& c, unsigned t, std::uint64_t n) {
            const auto id = fmt::format("b{}-{}-{}", round.load(), t, n);
            return c.exchange(http::verb::post, "/v1/commands", open_account(id, "acct-" + id, uscc_a), {}) == 200;
        };

        fmt::print("== as fast as it goes ==\n");
        const auto base = run_step(d.port(), o, 0, health);
        print("GET /healthz (baseline: the HTTP stack)", base);
        const auto gets = run_step(d.port(), o, 0, get);
        print("GET /v1/registrations/{id}", gets);
        const auto posts = run_step(d.port(), o, 0, post);
        print("POST /v1/commands (OpenAccount)", posts);
        round = 1;
        fmt::print("== paced at half those rates ==\n");
        const auto gets_half = run_step(d.port(), o, gets.per_s / 2, get);
        print(fmt::format("GET /v1/registrations/{{id}} at {}/s", grouped(gets.per_s / 2)), gets_half);
        const auto posts_half = run_step(d.port(), o, posts.per_s / 2, post);
        print(fmt::format("POST /v1/commands at {}/s", grouped(posts.per_s / 2)), posts_half);

        fmt::print("\n== summary ==\n");
        fmt::print("{:<40} {:>12} {:>26} {:>7}  {}\n", "figure", "value", "baseline (same run)", "ratio", "goal");
        fmt::print("{:<40} {:>12} {:>26} {:>6.2f}x  >= 50,000/s {}\n", "GET registration, requests/s",
                   grouped(gets.per_s) + "/s", grouped(base.per_s) + "/s (/healthz)", gets.per_s / base.per_s,
                   gets.per_s >= 50'000 ? "met" : "NOT met");
        fmt::print("{:<40} {:>12} {:>26} {:>6.2f}x  >= 20,000/s {}\n", "POST command, durable commands/s",
                   grouped(posts.per_s) + "/s", grouped(base.per_s) + "/s (/healthz)", posts.per_s / base.per_s,
                   posts.per_s >= 20'000 ? "met" : "NOT met");
        fmt::print("{:<40} {:>12}  <= 5 ms {}\n", "GET p99 at half load", fmt::format("{:.2f} ms", gets_half.p99_ms),
                   gets_half.p99_ms <= 5 ? "met" : "NOT met");
        fmt::print("{:<40} {:>12}  <= 5 ms {}\n", "POST p99 at half load", fmt::format("{:.2f} ms", posts_half.p99_ms),
                   posts_half.p99_ms <= 5 ? "met" : "NOT met");
        if (gets.failed + posts.failed + gets_half.failed + posts_half.failed + base.failed != 0) {
            fmt::print(stderr, "http_bench: some requests did not get the expected answer\n");
            rc = 1;
        }
    }
    fs::remove_all(dir);
    fmt::print("\nhttp_bench: {}\n", rc == 0 ? "done" : "FAILED");
    return rc;
}
