// The subcommands that talk to a running regledgerd over the command API
// (API.md): submit, get, history, list, stats, tail.
#include <atomic>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "cmd/cli/client.h"
#include "cmd/cli/subcommand.h"
#include "events/codec.h"
#include "events/json.h"
#include "events/kafka_log.h"

namespace regledger::cli {
namespace {

namespace bj = boost::json;

int usage_error(std::string_view name, std::string_view message) {
    fmt::print(stderr, "regledger {}: {}\n", name, message);
    return exit_usage;
}

// Runs `body` with a client built from the flags; a bad flag is a usage error.
template <typename Body>
int with_client(std::string_view name, const args& a, Body body) {
    auto client = client_from(a);
    if (!client) return usage_error(name, client.error());
    return body(client.value());
}

output_style style_of(const args& a) { return {a.has("json")}; }

std::vector<flag_spec> plus(std::vector<flag_spec> flags, std::vector<flag_spec> more) {
    flags.insert(flags.begin(), more.begin(), more.end());
    return flags;
}

// ---- submit ------------------------------------------------------------------

struct input_error {
    std::string message;
};

result<std::string, input_error> read_input(const std::string& path) {
    if (path == "-") {
        std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
        return text;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return input_error{fmt::format("cannot read {}", path)};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

int run_submit(const args& a) {
    constexpr std::string_view name = "submit";
    if (a.positional().size() != 1) return usage_error(name, "expects one FILE (or - for standard input)");
    const std::string& path = a.positional().front();
    auto text = read_input(path);
    if (!text) return usage_error(name, text.error().message);
    boost::system::error_code ec;
    auto doc = bj::parse(text.value(), ec);
    if (ec) return usage_error(name, fmt::format("{} is not JSON: {}", path == "-" ? "standard input" : path, ec.message()));
    if (!doc.is_object()) return usage_error(name, "a command is a JSON object: {\"command_id\", \"type\", ...}");
    auto& command = doc.get_object();
    if (const auto id = a.get("command-id")) command["command_id"] = *id;
    if (const auto v = a.get("expected-version")) {
        std::uint64_t version = 0;
        const auto [end, e] = std::from_chars(v->data(), v->data() + v->size(), version);
        if (e != std::errc() || end != v->data() + v->size()) return usage_error(name, "--expected-version takes a number");
        command["expected_version"] = version;
    }
    // A command id makes a retry safe (the server answers it again); this
    // tool never invents one, so that running it twice cannot apply twice.
    if (!command.contains("command_id")) {
        return usage_error(name, "the command has no \"command_id\" (add one, or pass --command-id ID)");
    }
    return with_client(name, a, [&](http_client& client) {
        return print_answer(name, client.post_json("/v1/commands", bj::serialize(doc)), style_of(a));
    });
}

// ---- get, history ----------------------------------------------------------------

int run_get(const args& a) {
    constexpr std::string_view name = "get";
    if (a.positional().size() != 1) return usage_error(name, "expects one REGISTRATION_ID");
    const auto target = fmt::format("/v1/registrations/{}{}", url_encode(a.positional().front()),
                                    query_string({{"as_of", a.get("as-of")}}));
    return with_client(name, a, [&](http_client& client) { return print_answer(name, client.get(target), style_of(a)); });
}

int run_history(const args& a) {
    constexpr std::string_view name = "history";
    if (a.positional().size() != 1) return usage_error(name, "expects one REGISTRATION_ID");
    const auto target = fmt::format("/v1/registrations/{}/history", url_encode(a.positional().front()));
    return with_client(name, a, [&](http_client& client) { return print_answer(name, client.get(target), style_of(a)); });
}

// ---- list, stats -------------------------------------------------------------------

int run_list(const args& a) {
    constexpr std::string_view name = "list";
    if (!a.positional().empty()) return usage_error(name, fmt::format("unexpected argument '{}'", a.positional().front()));
    const auto target = "/v1/registrations" + query_string({{"status", a.get("status")},
                                                            {"institution", a.get("institution")},
                                                            {"subject", a.get("subject")},
                                                            {"industry", a.get("industry")},
                                                            {"region", a.get("region")},
                                                            {"expiring_before", a.get("expiring-before")},
                                                            {"limit", a.get("limit")},
                                                            {"cursor", a.get("cursor")}});
    return with_client(name, a, [&](http_client& client) { return print_answer(name, client.get(target), style_of(a)); });
}

int run_stats(const args& a) {
    constexpr std::string_view name = "stats";
    if (!a.positional().empty()) return usage_error(name, fmt::format("unexpected argument '{}'", a.positional().front()));
    const auto target = "/v1/stats" + query_string({{"institution", a.get("institution")},
                                                    {"from", a.get("from")},
                                                    {"to", a.get("to")}});
    return with_client(name, a, [&](http_client& client) { return print_answer(name, client.get(target), style_of(a)); });
}

// ---- tail ---------------------------------------------------------------------------

std::atomic<bool> interrupted{false};
extern "C" void on_interrupt(int) { interrupted.store(true); }

// "P:O" with P >= 0 and O >= -1 (the position before the first is "0:-1").
bool is_position(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::int32_t p = 0;
    std::int64_t o = 0;
    const auto* first_end = text.data() + colon;
    const auto* last_end = text.data() + text.size();
    const auto r1 = std::from_chars(text.data(), first_end, p);
    const auto r2 = std::from_chars(first_end + 1, last_end, o);
    return r1.ec == std::errc() && r1.ptr == first_end && r2.ec == std::errc() && r2.ptr == last_end && p >= 0 &&
           o >= -1;
}

// Sleeps up to `total`, waking early when interrupted.
void nap(std::chrono::milliseconds total) {
    const auto until = std::chrono::steady_clock::now() + total;
    while (!interrupted.load() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

// Installs the handlers that end a tail cleanly on Ctrl-C or SIGTERM: what
// was printed is whole lines.
void stop_on_interrupt() {
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

// tail --brokers: the events topic read directly (read_committed), every
// partition in turn, each record decoded and printed as the server's
// /v1/events prints it. For analysts with access to the cluster: no server,
// no token.
int tail_kafka(std::string_view name, const args& a, const std::string& after, std::optional<std::uint64_t> remaining,
               std::chrono::milliseconds poll, bool follow) {
    events::kafka_options k;
    k.brokers = *a.get("brokers");
    k.topic = a.get_or("topic", k.topic);
    k.read_only = true;
    auto opened = events::kafka_log::open(k);
    if (!opened) {
        fmt::print(stderr, "regledger {}: cannot read the topic {} at {}: {}\n", name, k.topic, k.brokers,
                   opened.error().message());
        return exit_unavailable;
    }
    const events::kafka_log& log = *opened.value();
    const std::int32_t partitions = log.partition_count();
    // The next offset to read in each partition.
    std::vector<std::int64_t> next(static_cast<std::size_t>(partitions), 0);
    if (after == "end") {
        for (std::int32_t p = 0; p < partitions; ++p) {
            // Not end(): a transaction open now commits later, below it.
            const auto end = log.stable_end(partition_id(p));
            if (!end) {
                fmt::print(stderr, "regledger {}: {}: {}\n", name, k.brokers, end.error().message());
                return exit_unavailable;
            }
            next[static_cast<std::size_t>(p)] = end.value().value();
        }
    } else {
        const auto colon = after.find(':');
        const std::int32_t p = std::stoi(after.substr(0, colon));
        if (p >= partitions) {
            return usage_error(name, fmt::format("--after {}: the topic {} has {} partition(s)", after, k.topic, partitions));
        }
        next[static_cast<std::size_t>(p)] = std::stoll(after.substr(colon + 1)) + 1;
    }
    stop_on_interrupt();
    constexpr std::uint64_t page_max = 1000;
    while (!interrupted.load()) {
        bool printed = false;
        for (std::int32_t p = 0; p < partitions && !interrupted.load(); ++p) {
            auto& from = next[static_cast<std::size_t>(p)];
            const std::uint64_t page = remaining ? std::min(*remaining, page_max) : page_max;
            auto records = log.read({partition_id(p), log_offset(from)}, page);
            if (!records) {
                fmt::print(stderr, "regledger {}: reading {}:{} of {}: {}\n", name, p, from, k.topic,
                           records.error().message());
                return exit_unavailable;
            }
            for (const auto& r : records.value()) {
                auto decoded = events::decode(r.value);
                if (!decoded) {
                    fmt::print(stderr, "regledger {}: the record at {}:{} does not decode: {}\n", name, p,
                               r.position.offset.value(), decoded.error().message());
                    return exit_rejected;
                }
                auto doc = json::to_json(decoded.value());
                doc.get_object()["position"] = json::to_json(r.position);
                fmt::print("{}\n", bj::serialize(doc));
                from = r.position.offset.value() + 1;
                printed = true;
                if (remaining && --*remaining == 0) {
                    std::fflush(stdout);
                    return exit_ok;
                }
            }
        }
        std::fflush(stdout);
        if (!printed) {
            if (!follow) return exit_ok;
            nap(poll);
        }
    }
    return exit_ok;
}

int run_tail(const args& a) {
    constexpr std::string_view name = "tail";
    if (!a.positional().empty()) return usage_error(name, fmt::format("unexpected argument '{}'", a.positional().front()));
    std::string after = a.get_or("after", "0:-1");
    if (after != "end" && !is_position(after)) {
        return usage_error(name, fmt::format("--after {}: expected PARTITION:OFFSET (the last position seen, e.g. 0:41) "
                                             "or 'end'",
                                             after));
    }
    std::optional<std::uint64_t> remaining;
    if (const auto l = a.get("limit")) {
        std::uint64_t n = 0;
        const auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
        if (ec != std::errc() || end != l->data() + l->size() || n == 0) return usage_error(name, "--limit takes a positive number");
        remaining = n;
    }
    std::chrono::milliseconds poll{500};
    if (const auto p = a.get("poll-ms")) {
        unsigned ms = 0;
        const auto [end, ec] = std::from_chars(p->data(), p->data() + p->size(), ms);
        if (ec != std::errc() || end != p->data() + p->size() || ms < 10 || ms > 60'000) {
            return usage_error(name, "--poll-ms takes a number from 10 to 60000");
        }
        poll = std::chrono::milliseconds(ms);
    }
    const bool follow = a.has("follow");
    if (a.has("brokers")) {
        if (a.has("server") || a.has("token")) return usage_error(name, "--brokers reads the topic itself: no --server or --token");
        return tail_kafka(name, a, after, remaining, poll, follow);
    }
    if (a.has("topic")) return usage_error(name, "--topic goes with --brokers");

    return with_client(name, a, [&](http_client& client) -> int {
        if (after == "end") {
            const auto health = client.get("/healthz");
            if (!health) return report_unreachable(name, health.error());
            if (!health.value().ok()) return print_answer(name, health, {});
            boost::system::error_code ec;
            const auto doc = bj::parse(health.value().body, ec);
            const auto* end = ec || !doc.is_object() ? nullptr : doc.get_object().if_contains("log_end");
            if (end == nullptr || !end->is_int64()) {
                fmt::print(stderr, "regledger tail: /healthz did not say where the log ends\n");
                return exit_unavailable;
            }
            after = fmt::format("0:{}", end->get_int64() - 1);
        }
        stop_on_interrupt();

        constexpr std::uint64_t page_max = 1000;
        while (!interrupted.load()) {
            const std::uint64_t page = remaining ? std::min(*remaining, page_max) : page_max;
            const auto answer = client.get(fmt::format("/v1/events?after={}&limit={}", after, page));
            if (!answer) return report_unreachable(name, answer.error());
            if (!answer.value().ok()) return print_answer(name, answer, {});
            boost::system::error_code ec;
            const auto doc = bj::parse(answer.value().body, ec);
            const bj::array* events = nullptr;
            const bj::value* next = nullptr;
            if (!ec && doc.is_object()) {
                if (const auto* e = doc.get_object().if_contains("events"); e != nullptr && e->is_array()) events = &e->get_array();
                next = doc.get_object().if_contains("next");
            }
            if (events == nullptr || next == nullptr || !next->is_string()) {
                fmt::print(stderr, "regledger tail: the server's answer is not an event page\n");
                return exit_unavailable;
            }
            for (const auto& e : *events) {
                fmt::print("{}\n", bj::serialize(e));
                if (remaining && --*remaining == 0) {
                    std::fflush(stdout);
                    return exit_ok;
                }
            }
            std::fflush(stdout);
            after = std::string(next->get_string());
            if (events->size() < page) {
                if (!follow) return exit_ok;
                nap(poll);
            }
        }
        return exit_ok;
    });
}

}  // namespace

void add_client_subcommands(std::vector<subcommand>& out) {
    out.push_back({"submit", "regledger submit FILE|- [--command-id ID] [--expected-version N] [--token T] [--server URL]",
                   "send a command (API.md, POST /v1/commands) from a JSON file or standard input and print the outcome",
                   plus(output_flags(), {{"command-id", true, "set the command's command_id (else the file's is used)"},
                                         {"expected-version", true, "refuse unless the stream is at this version"}}),
                   run_submit});
    out.push_back({"get", "regledger get REGISTRATION_ID [--as-of T] [--token T] [--server URL]",
                   "print a registration as it stands, or as it stood at an instant",
                   plus(output_flags(), {{"as-of", true, "an RFC 3339 instant: the document as it stood then"}}), run_get});
    out.push_back({"history", "regledger history REGISTRATION_ID [--token T] [--server URL]",
                   "print a registration's events with their hashes and chain links", output_flags(), run_history});
    out.push_back({"list", "regledger list [--status S] [--institution I] [--subject USCC] [--industry NN] [--region R] "
                           "[--expiring-before DATE] [--limit N] [--cursor C]",
                   "list registrations (clerks and auditors); next_cursor pages on",
                   plus(output_flags(), {{"status", true, "pending, valid, deregistered, revoked or not_registered"},
                                         {"institution", true, "an institution id (LN, LN-SY, ...)"},
                                         {"subject", true, "a subject's unified social credit code"},
                                         {"industry", true, "a GB/T 4754 division (two digits)"},
                                         {"region", true, "a GB/T 2260 region code (six digits)"},
                                         {"expiring-before", true, "validity ends before this date (YYYY-MM-DD)"},
                                         {"limit", true, "items per page"},
                                         {"cursor", true, "the next_cursor of the previous page"}}),
                   run_list});
    out.push_back({"stats", "regledger stats [--institution I] [--from DATE] [--to DATE]",
                   "print the service report figures (第21条) per institution",
                   plus(output_flags(), {{"institution", true, "one institution (a clerk sees its own only)"},
                                         {"from", true, "first day, YYYY-MM-DD (default: 1 January)"},
                                         {"to", true, "last day, YYYY-MM-DD (default: today)"}}),
                   run_stats});
    out.push_back({"tail", "regledger tail [--after P:O|end] [--follow] [--limit N] [--token T] [--server URL | --brokers HOST:PORT [--topic T]]",
                   "print events in log order as JSON lines (auditors); --follow polls until interrupted; --brokers "
                   "reads a Kafka log's topic directly, every partition in turn",
                   plus(connection_flags(),
                        {{"brokers", true, "read the events topic of this Kafka cluster (HOST:PORT[,...]) instead of a server"},
                         {"topic", true, "with --brokers: the events topic (default regledger.events)"},
                         {"after", true, "the last position already seen, PARTITION:OFFSET (default: from the start), or "
                                         "'end' for new events only"},
                         {"follow", false, "keep polling for new events until Ctrl-C"},
                         {"limit", true, "stop after this many events"},
                         {"poll-ms", true, "with --follow: milliseconds between polls when caught up (default 500)"}}),
                   run_tail});
}

}  // namespace regledger::cli
