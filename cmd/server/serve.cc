#include "cmd/server/serve.h"

#include <atomic>
#include <csignal>
#include <functional>
#include <cstdio>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include "cmd/server/api.h"
#include "cmd/server/config.h"
#include "engine/rules/rule_set.h"
#include "events/signing.h"
#include "projections/ledger.h"
#include "projections/scheduler.h"

namespace regledger::server {

namespace asio = boost::asio;

std::vector<cli::flag_spec> serve_flags() {
    return {
        {"listen", true, "HOST:PORT to listen on (default 127.0.0.1:8080; port 0 picks a free one)"},
        {"data-dir", true, "the data directory (default ./data)"},
        {"config", true, "the configuration file: institutions and tokens (required)"},
        {"log", true, "embedded (default: the log in the data directory's RocksDB) or kafka"},
        {"brokers", true, "with --log kafka: HOST:PORT[,HOST:PORT...] (default 127.0.0.1:9092)"},
        {"topic", true, "with --log kafka: the events topic (default regledger.events)"},
        {"partition-count", true, "with --log kafka: the topic's partitions, when it is created (default 1)"},
        {"partitions", true, "with --log kafka: the partitions this node writes, e.g. 0,2 (default: all)"},
        {"replication", true, "with --log kafka: replication of created topics (default 1; 3 in production)"},
        {"clock", true, "system (default) or manual (tests and demonstrations)"},
        {"now", true, "with --clock manual: the starting instant, RFC 3339"},
        {"http-threads", true, "HTTP I/O threads (default 2)"},
        {"header-timeout-s", true, "seconds a client has to send a request head (default 10)"},
        {"idle-timeout-s", true, "seconds an idle kept-alive connection stays open (default 60)"},
        {"connections-max", true, "open connections at most (default 1024)"},
        {"signing-key", true, "the Ed25519 private key (regledger keygen) that signs the log's checkpoints"},
        {"checkpoint-events", true, "with --signing-key: a checkpoint after this many records (default 10000)"},
        {"checkpoint-interval-s", true,
         "with --signing-key: a checkpoint after this many seconds with any record since (default 60)"},
    };
}

namespace {

std::optional<unsigned> positive(const std::optional<std::string>& v) {
    if (!v) return std::nullopt;
    try {
        const long n = std::stol(*v);
        if (n > 0 && n < 1'000'000) return static_cast<unsigned>(n);
    } catch (const std::exception&) {
    }
    return 0;
}

}  // namespace

std::variant<serve_options, std::string> serve_options_from(const cli::args& a) {
    serve_options o;
    o.listen = a.get_or("listen", o.listen);
    o.data_dir = a.get_or("data-dir", o.data_dir.string());
    const auto cfg = a.get("config");
    if (!cfg) return std::string("--config FILE is required (cmd/config/regledger.sample.json is a sample)");
    o.config_file = *cfg;
    const auto log = a.get_or("log", "embedded");
    if (log == "kafka") {
        events::kafka_options k;
        k.brokers = a.get_or("brokers", k.brokers);
        k.topic = a.get_or("topic", k.topic);
        if (const auto n = positive(a.get("partition-count"))) {
            if (*n == 0) return std::string("--partition-count takes a positive number");
            k.partitions = static_cast<std::int32_t>(*n);
        }
        if (const auto n = positive(a.get("replication"))) {
            if (*n == 0 || *n > 32) return std::string("--replication takes a number from 1 to 32");
            k.replication = static_cast<std::int16_t>(*n);
        }
        if (const auto list = a.get("partitions")) {
            std::string_view rest = *list;
            while (!rest.empty()) {
                const auto comma = rest.find(',');
                const std::string item(rest.substr(0, comma));
                rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
                int p = -1;
                try {
                    p = std::stoi(item);
                } catch (const std::exception&) {
                }
                if (p < 0 || p >= k.partitions) {
                    return fmt::format("--partitions {}: each is a partition number below --partition-count", *list);
                }
                k.owned.insert(p);
            }
        }
        o.kafka = std::move(k);
    } else if (log != "embedded") {
        return fmt::format("--log {}: embedded or kafka", log);
    } else if (a.has("brokers") || a.has("partitions") || a.has("topic")) {
        return std::string("--brokers, --topic and --partitions go with --log kafka");
    }
    const auto clock = a.get_or("clock", "system");
    if (clock == "manual") {
        o.manual_clock = true;
        o.start_now = a.get("now");
        if (!o.start_now) return std::string("--clock manual needs --now RFC3339 (the starting instant)");
    } else if (clock != "system") {
        return fmt::format("--clock {}: system or manual", clock);
    } else if (a.has("now")) {
        return std::string("--now goes with --clock manual");
    }
    for (const auto& [flag, target] : {std::pair{"http-threads", &o.http_threads}}) {
        if (const auto n = positive(a.get(flag))) {
            if (*n == 0) return fmt::format("--{} takes a positive number", flag);
            *target = *n;
        }
    }
    if (const auto n = positive(a.get("header-timeout-s"))) {
        if (*n == 0) return std::string("--header-timeout-s takes a positive number");
        o.limits.header_timeout = std::chrono::seconds(*n);
    }
    if (const auto n = positive(a.get("idle-timeout-s"))) {
        if (*n == 0) return std::string("--idle-timeout-s takes a positive number");
        o.limits.idle_timeout = std::chrono::seconds(*n);
    }
    if (const auto n = positive(a.get("connections-max"))) {
        if (*n == 0) return std::string("--connections-max takes a positive number");
        o.limits.connections_max = *n;
    }
    if (const auto key = a.get("signing-key")) o.signing_key = *key;
    if (const auto n = positive(a.get("checkpoint-events"))) {
        if (*n == 0) return std::string("--checkpoint-events takes a positive number");
        o.checkpoint_events = *n;
    }
    if (const auto n = positive(a.get("checkpoint-interval-s"))) {
        if (*n == 0) return std::string("--checkpoint-interval-s takes a positive number");
        o.checkpoint_interval = std::chrono::seconds(*n);
    }
    if (!o.signing_key && (a.has("checkpoint-events") || a.has("checkpoint-interval-s"))) {
        return std::string("--checkpoint-events and --checkpoint-interval-s go with --signing-key");
    }
    return o;
}

int serve(const serve_options& options) {
    auto cfg = config::load(options.config_file);
    if (!cfg) {
        fmt::print(stderr, "regledgerd: {}\n", cfg.error());
        return cli::exit_usage;
    }
    const auto colon = options.listen.rfind(':');
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(options.listen.substr(0, colon), ec);
    if (colon == std::string::npos || ec) {
        fmt::print(stderr, "regledgerd: --listen {}: expected HOST:PORT\n", options.listen);
        return cli::exit_usage;
    }
    unsigned port = 0;
    try {
        port = static_cast<unsigned>(std::stoul(options.listen.substr(colon + 1)));
    } catch (const std::exception&) {
        port = 70000;
    }
    if (port > 65535) {
        fmt::print(stderr, "regledgerd: --listen {}: bad port\n", options.listen);
        return cli::exit_usage;
    }

    std::unique_ptr<projections::clock> time;
    projections::manual_clock* manual = nullptr;
    if (options.manual_clock) {
        const auto start = instant::parse(*options.start_now);
        if (!start) {
            fmt::print(stderr, "regledgerd: --now {}: not an RFC 3339 instant\n", *options.start_now);
            return cli::exit_usage;
        }
        auto m = std::make_unique<projections::manual_clock>(*start);
        manual = m.get();
        time = std::move(m);
    } else {
        time = std::make_unique<projections::system_clock>();
    }

    std::optional<events::signing_key> key;
    if (options.signing_key) {
        auto loaded = events::signing_key::load(*options.signing_key);
        if (!loaded) {
            fmt::print(stderr, "regledgerd: --signing-key {}: {}\n", options.signing_key->string(),
                       loaded.error().message());
            return cli::exit_usage;
        }
        key.emplace(std::move(loaded).value());
    }

    projections::ledger_options lo;
    lo.data_dir = options.data_dir;
    if (key) {
        lo.writer.signing_key = &*key;
        lo.writer.checkpoint_events_max = options.checkpoint_events;
        lo.writer.checkpoint_interval = options.checkpoint_interval;
    }
    asio::io_context io;
    // Fenced by a newer writer: stop serving, as after a signal.
    std::atomic<bool> fenced{false};
    std::function<void()> shut_down;
    lo.writer.on_fatal = [&](std::string why) {
        fmt::print(stderr, "regledgerd: the log can no longer be written ({}); stopping\n", why);
        fenced = true;
        asio::post(io, [&] {
            if (shut_down) shut_down();
        });
    };
    projections::ledger_context context{&rules::rule_set::ln_2025(), &cfg.value().institutions(), cfg.value().hash()};
    auto opened = options.kafka ? projections::ledger::open_kafka(lo, *options.kafka, *time, context)
                                : projections::ledger::open_embedded(lo, *time, context);
    if (!opened) {
        fmt::print(stderr, "regledgerd: {}\n", opened.error().message);
        return cli::exit_unavailable;
    }
    auto& ledger = *opened.value();
    projections::scheduler scheduler(ledger.writes(), ledger.reads(), *time);
    if (!manual) scheduler.start();

    api app(ledger, scheduler, cfg.value(), manual, key ? &key->public_key() : nullptr);
    http_server server(
        io, {address, static_cast<unsigned short>(port)}, options.limits,
        [&app](http_request&& req, const asio::ip::tcp::endpoint& remote, reply_fn reply) {
            app.handle(std::move(req), remote, std::move(reply));
        },
        &api::refusal);
    try {
        server.start();
    } catch (const boost::system::system_error& e) {
        fmt::print(stderr, "regledgerd: cannot listen on {}: {}\n", options.listen, e.what());
        return cli::exit_unavailable;
    }
    const auto bound = server.local_endpoint();
    const std::string log_name = options.kafka ? fmt::format("Kafka log {} at {}, read models in {}",
                                                             options.kafka->topic, options.kafka->brokers,
                                                             options.data_dir.string())
                                               : fmt::format("embedded log in {}", options.data_dir.string());
    fmt::print("regledgerd: listening on {}:{} — {}, {} clock{}\n", bound.address().to_string(), bound.port(),
               log_name, manual ? "manual" : "system", manual ? " at " + manual->now().to_string() : std::string());
    if (key) {
        fmt::print("regledgerd: checkpoints signed with key {} every {} records or {} s\n", key->id(),
                   options.checkpoint_events, options.checkpoint_interval.count());
    } else {
        fmt::print("regledgerd: no --signing-key: the log's Merkle tree is kept, but no checkpoint is signed\n");
    }
    std::fflush(stdout);

    asio::signal_set signals(io, SIGINT, SIGTERM);
    std::thread stopper;
    shut_down = [&] {
        if (stopper.joinable()) return;
        // Waiting for connections to drain needs the I/O threads: do it on
        // a thread of its own.
        stopper = std::thread([&] {
            server.stop_accepting();
            server.wait_idle();
            io.stop();
        });
    };
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        fmt::print("regledgerd: signal {}: finishing the requests in hand\n", sig);
        std::fflush(stdout);
        shut_down();
    });
    if (fenced) shut_down();

    std::vector<std::thread> threads;
    for (unsigned i = 1; i < options.http_threads; ++i) threads.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : threads) t.join();
    if (stopper.joinable()) stopper.join();
    scheduler.stop();
    ledger.close();
    fmt::print("regledgerd: stopped; every acknowledged command is in the log\n");
    return fenced ? cli::exit_unavailable : cli::exit_ok;
}

}  // namespace regledger::server
