// ledger_bench: the embedded ledger end to end, on the workload of
// bench/workload.h, each figure beside a baseline measured in the same run:
//
//   throughput  durable command throughput: the workload's commands through
//               writer::submit() from a few producer threads, synced writes,
//               group commit (the writer's defaults), with p50/p99 latency
//               from submit() to the answer; baseline: the same commands one
//               per synced write (batch_commands_max = 1), on the first
//               --baseline-commands of them.
//   rebuild     `regledger rebuild` of a log of --events events, with the
//               peak resident memory of the process that does it; baselines:
//               reading the raw log, and verifying it (decode + hash chains).
//   timers      the scheduler holding --timers pending timers: size on disk,
//               resident memory, and how long firing --timers-due timers due
//               at the same instant takes; baseline: scanning those timers.
//
// Each phase runs in a child process of its own (this program, with
// --phase), so that one phase's memory does not show in the next one's
// figures; the data directories live under /tmp and are removed at the end.
//
// Usage: ledger_bench [--quick] [--registrations N] [--events N] [--timers N]
//                     [--timers-due N] [--producers N] [--baseline-commands N]
//                     [--seed N] [--only throughput|rebuild|timers]
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bench/flags.h"
#include "bench/workload.h"
#include "engine/rules/calendar.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "events/log_verify.h"
#include "projections/keys.h"
#include "projections/ledger.h"
#include "projections/rebuild.h"
#include "projections/scheduler.h"
#include "projections/verify.h"

extern char** environ;

using namespace regledger;
namespace fs = std::filesystem;

namespace {

using steady = std::chrono::steady_clock;

double seconds_since(steady::time_point start) {
    return std::chrono::duration<double>(steady::now() - start).count();
}

// CPU time of the whole process (every thread: the writer, the producers,
// RocksDB's flushes and compactions), in seconds. On a shared machine this
// moves far less than wall time with the load of other processes.
double process_cpu_s() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return s(usage.ru_utime) + s(usage.ru_stime);
}

// ---- options -----------------------------------------------------------------

struct options {
    std::size_t registrations = 100'000;
    std::uint64_t events = 1'000'000;
    std::uint64_t timers = 1'000'000;
    std::uint64_t timers_due = 100'000;
    std::size_t producers = 3;
    std::size_t baseline_commands = 1'000;
    std::uint64_t seed = 20250101;
    bool quick = false;
    // The kafka phase (--only kafka): the brokers, and the fixed load at
    // which latency is measured.
    std::string brokers;
    std::uint64_t rate = 2'000;
    std::uint64_t rate_seconds = 10;
    std::string only;
    // Internal: the phase a child runs, where it works, where it reports.
    std::string phase;
    fs::path work_dir;
    fs::path results;
};

[[noreturn]] void usage(const std::string& problem) {
    fmt::print(stderr,
               "ledger_bench: {}\n"
               "usage: ledger_bench [--quick] [--registrations N] [--events N] [--timers N] [--timers-due N]\n"
               "                    [--producers N] [--baseline-commands N] [--seed N]\n"
               "                    [--only throughput|rebuild|timers]\n"
               "       ledger_bench --only kafka --brokers HOST:PORT [--registrations N] [--rate N] [--rate-seconds N]\n",
               problem);
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    auto [quick, values, unexpected] = bench::read_flags(argc, argv);
    if (unexpected) usage("unexpected argument " + *unexpected);
    o.quick = quick;
    if (o.quick) {
        o.registrations = 400;
        o.events = 6'000;
        o.timers = 6'000;
        o.timers_due = 1'000;
        o.baseline_commands = 50;
    }
    auto number = [&](const std::string& name, auto& target) {
        const auto it = values.find(name);
        if (it == values.end()) return;
        char* end = nullptr;
        const unsigned long long v = std::strtoull(it->second.c_str(), &end, 10);
        if (end == it->second.c_str() || *end != '\0' || v == 0) usage("--" + name + " needs a positive number");
        target = static_cast<std::remove_reference_t<decltype(target)>>(v);
        values.erase(it);
    };
    number("registrations", o.registrations);
    number("events", o.events);
    number("timers", o.timers);
    number("timers-due", o.timers_due);
    number("producers", o.producers);
    number("baseline-commands", o.baseline_commands);
    number("seed", o.seed);
    number("rate", o.rate);
    number("rate-seconds", o.rate_seconds);
    auto text = [&](const std::string& name, auto& target) {
        const auto it = values.find(name);
        if (it == values.end()) return;
        target = it->second;
        values.erase(it);
    };
    text("only", o.only);
    text("brokers", o.brokers);
    text("phase", o.phase);
    text("work-dir", o.work_dir);
    text("results", o.results);
    if (!values.empty()) usage("unknown option --" + values.begin()->first);
    if (!o.only.empty() && o.only != "throughput" && o.only != "rebuild" && o.only != "timers" && o.only != "kafka") {
        usage("--only takes throughput, rebuild, timers or kafka");
    }
    if ((o.only == "kafka") != !o.brokers.empty()) usage("--only kafka and --brokers go together");
    o.timers_due = std::min(o.timers_due, o.timers);
    return o;
}

// ---- small helpers -----------------------------------------------------------

std::string grouped(std::uint64_t v) {
    std::string digits = std::to_string(v);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

std::string grouped(double v) { return grouped(static_cast<std::uint64_t>(std::llround(v))); }

std::string mib(std::uint64_t bytes) { return fmt::format("{:.0f} MiB", static_cast<double>(bytes) / (1 << 20)); }

// A field of /proc/self/status in bytes (VmRSS, VmHWM).
std::uint64_t proc_status_bytes(std::string_view field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':') {
            return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10) * 1024;
        }
    }
    return 0;
}

std::uint64_t disk_bytes(const fs::path& dir) {
    std::uint64_t total = 0;
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
        if (entry.is_regular_file(ec)) total += entry.file_size(ec);
    }
    return total;
}

// Appends "key value" lines for the parent to read.
class results_file {
public:
    explicit results_file(const fs::path& path) : out_(path, std::ios::app) {}
    template <typename T>
    void put(std::string_view key, const T& value) {
        out_ << key << ' ' << value << '\n';
        out_.flush();
    }

private:
    std::ofstream out_;
};

// Prints a progress line at most every `interval`.
class progress_line {
public:
    explicit progress_line(double interval_s = 2.0) : interval_s_(interval_s), last_(steady::now()) {}
    template <typename... Args>
    void maybe(fmt::format_string<Args...> format, Args&&... args) {
        if (seconds_since(last_) < interval_s_) return;
        last_ = steady::now();
        fmt::print(format, std::forward<Args>(args)...);
        std::fflush(stdout);
    }

private:
    double interval_s_;
    steady::time_point last_;
};

projections::ledger_context context() {
    return {&bench::workload::rules(), &bench::workload::institutions(), digest{}};
}

std::unique_ptr<projections::ledger> open_ledger(const fs::path& dir, const projections::clock& clock, bool sync,
                                                 projections::writer_options writer = {}) {
    projections::ledger_options o;
    o.data_dir = dir;
    o.sync_writes = sync;
    o.writer = writer;
    auto l = projections::ledger::open_embedded(o, clock, context());
    if (!l) {
        fmt::print(stderr, "cannot open the ledger in {}: {}\n", dir.string(), l.error().message);
        std::exit(1);
    }
    return std::move(l).value();
}

// ---- feeding a ledger ----------------------------------------------------------

struct feed_report {
    std::uint64_t commands = 0;
    std::uint64_t applied = 0;
    std::uint64_t rejected = 0;
    std::uint64_t unavailable = 0;
    std::uint64_t events = 0;
    std::uint64_t ticks = 0;
    double seconds = 0;
    double cpu_s = 0;
    std::vector<float> latency_us;
    std::vector<std::string> first_rejections;
};

// Submits ticks through writer::submit() from `producers` threads: for each
// tick, the clock moves to tick.at, every producer submits the tick's commands
// whose ordering key falls to it (so each stream's commands keep their
// order), and the next tick starts once all of them are answered.
class feeder {
public:
    feeder(projections::writer& w, projections::manual_clock& clock, std::size_t producers)
        : writer_(w), clock_(clock) {
        for (std::size_t p = 0; p < std::max<std::size_t>(producers, 1); ++p) {
            threads_.emplace_back([this, p] { produce(p); });
        }
    }
    ~feeder() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        for (auto& t : threads_) t.join();
    }

    // Feeds `t` (its commands are moved out unless `copy`) and waits for
    // every answer; at most `limit` of its commands. A tick larger than half
    // the writer's queue goes in slices, one after the other, so that the
    // queue never overflows (a full queue answers UNAVAILABLE).
    void feed(bench::tick& t, std::size_t limit, bool copy) {
        const std::size_t n = std::min(limit, t.commands.size());
        if (n == 0) return;
        if (!clock_.set(t.at)) {
            fmt::print(stderr, "the workload's clock went backwards\n");
            std::exit(1);
        }
        for (std::size_t from = 0; from < n; from += slice_max) feed_slice(t, from, std::min(n, from + slice_max), copy);
        ++report_.ticks;
    }

    feed_report& report() { return report_; }

private:
    // Half the writer's default queue bound (writer_options::queue_commands_max).
    static constexpr std::size_t slice_max = 50'000;

    void feed_slice(bench::tick& t, std::size_t from, std::size_t to, bool copy) {
        const std::size_t n = to - from;
        report_.latency_us.resize(report_.latency_us.size() + n);
        remaining_.store(n);
        {
            std::lock_guard lock(mutex_);
            tick_ = &t;
            tick_from_ = from;
            tick_to_ = to;
            copy_ = copy;
            ++generation_;
        }
        wake_.notify_all();
        for (std::size_t r = remaining_.load(); r != 0; r = remaining_.load()) remaining_.wait(r);
        report_.commands += n;
        base_ += n;
    }

    void produce(std::size_t me) {
        std::uint64_t seen = 0;
        for (;;) {
            bench::tick* t = nullptr;
            std::size_t from = 0;
            std::size_t to = 0;
            std::size_t base = 0;
            bool copy = false;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
                if (stopping_) return;
                seen = generation_;
                t = tick_;
                from = tick_from_;
                to = tick_to_;
                base = base_;
                copy = copy_;
            }
            const std::size_t producers = threads_.size();
            for (std::size_t i = from; i < to; ++i) {
                if (t->ordering_keys[i] % producers != me) continue;
                command_envelope cmd = copy ? t->commands[i] : std::move(t->commands[i]);
                const auto started = steady::now();
                const std::size_t slot = base + (i - from);
                writer_.submit(std::move(cmd), [this, slot, started](projections::command_outcome o) {
                    // Runs on the writer's committing thread, one at a time.
                    report_.latency_us[slot] =
                        static_cast<float>(std::chrono::duration<double, std::micro>(steady::now() - started).count());
                    switch (o.result_kind) {
                        case projections::command_outcome::kind::applied:
                            ++report_.applied;
                            report_.events += o.events.size();
                            break;
                        case projections::command_outcome::kind::rejected:
                            ++report_.rejected;
                            if (report_.first_rejections.size() < 5) {
                                report_.first_rejections.push_back(
                                    fmt::format("{} {}: {}", api_code(o.error.code), o.error.field, o.error.message));
                            }
                            break;
                        case projections::command_outcome::kind::unavailable: ++report_.unavailable; break;
                    }
                    if (remaining_.fetch_sub(1) == 1) remaining_.notify_all();
                });
            }
        }
    }

    projections::writer& writer_;
    projections::manual_clock& clock_;
    std::vector<std::thread> threads_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::uint64_t generation_ = 0;
    bench::tick* tick_ = nullptr;
    std::size_t tick_from_ = 0;
    std::size_t tick_to_ = 0;
    std::size_t base_ = 0;
    bool copy_ = false;
    std::atomic<std::size_t> remaining_{0};
    feed_report report_;
};

// Every command of `ticks` (moved out), as fast as the ledger takes them,
// with progress every few seconds; the report with wall and CPU time.
feed_report feed_all(std::vector<bench::tick>& ticks, projections::writer& writer, projections::manual_clock& clock,
                     std::size_t producers) {
    feeder f(writer, clock, producers);
    progress_line progress;
    const auto started = steady::now();
    const double cpu_started = process_cpu_s();
    for (auto& t : ticks) {
        f.feed(t, t.commands.size(), /*copy=*/false);
        progress.maybe("  {:5.1f} s: {} commands ({} /s), virtual {}, tick {}/{}\n", seconds_since(started),
                       grouped(f.report().commands),
                       grouped(static_cast<double>(f.report().commands) / seconds_since(started)),
                       t.at.shanghai_date().to_string(), f.report().ticks, ticks.size());
    }
    f.report().seconds = seconds_since(started);
    f.report().cpu_s = process_cpu_s() - cpu_started;
    return std::move(f.report());
}

double percentile(std::vector<float> v, double p) {
    if (v.empty()) return 0;
    const auto k = static_cast<std::size_t>(std::min<double>(static_cast<double>(v.size() - 1), p * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

void check_outcomes(const feed_report& r, std::uint64_t expected_events) {
    if (r.rejected == 0 && r.unavailable == 0 && r.events == expected_events) return;
    fmt::print(stderr, "the ledger disagreed with the workload: {} rejected, {} unavailable, {} events (expected {})\n",
               r.rejected, r.unavailable, r.events, expected_events);
    for (const auto& m : r.first_rejections) fmt::print(stderr, "  rejected: {}\n", m);
    std::exit(1);
}

// ---- phase: throughput ---------------------------------------------------------

void phase_throughput(const options& o, results_file& results) {
    const bool sync = !o.quick;
    fmt::print("== throughput: {} registrations, {} producer threads, synced writes {} ==\n",
               grouped(std::uint64_t{o.registrations}), o.producers, sync ? "on" : "OFF (--quick)");
    bench::workload_options wo;
    wo.registrations = o.registrations;
    wo.seed = o.seed;
    bench::workload w(wo);
    std::vector<bench::tick> ticks;
    {
        const auto started = steady::now();
        progress_line progress;
        while (auto t = w.next_tick()) {
            ticks.push_back(std::move(*t));
            progress.maybe("  generating: {} ticks, {} commands, virtual {}\n", ticks.size(),
                           grouped(w.totals().commands), ticks.back().at.shanghai_date().to_string());
        }
        const auto& tot = w.totals();
        fmt::print("  workload: {} commands, {} events over {} ticks ({} to {}), {} refused at generation; {:.1f} s\n",
                   grouped(tot.commands), grouped(tot.events), grouped(tot.ticks),
                   ticks.front().at.shanghai_date().to_string(), ticks.back().at.shanghai_date().to_string(),
                   tot.dropped, seconds_since(started));
        std::string mix;
        for (const auto& [type, count] : tot.by_type) {
            mix += fmt::format("{}{} {:.1f}%", mix.empty() ? "" : ", ", type,
                               100.0 * static_cast<double>(count) / static_cast<double>(tot.commands));
        }
        fmt::print("  mix: {}\n", mix);
        results.put("workload.commands", tot.commands);
        results.put("workload.events", tot.events);
        results.put("workload.ticks", tot.ticks);
    }

    // Baseline: the first commands, one synced write each.
    {
        const fs::path dir = o.work_dir / "baseline";
        projections::manual_clock clock(w.start());
        projections::writer_options wopt;
        wopt.batch_commands_max = 1;
        auto l = open_ledger(dir, clock, sync, wopt);
        feed_report r;
        {
            feeder f(l->writes(), clock, o.producers);
            std::uint64_t expected = 0;
            const auto started = steady::now();
            const double cpu_started = process_cpu_s();
            for (auto& t : ticks) {
                const std::size_t left = o.baseline_commands - f.report().commands;
                if (left == 0) break;
                if (left >= t.commands.size()) expected += t.events;
                f.feed(t, left, /*copy=*/true);
            }
            f.report().seconds = seconds_since(started);
            f.report().cpu_s = process_cpu_s() - cpu_started;
            r = std::move(f.report());
            if (r.rejected != 0 || r.unavailable != 0) check_outcomes(r, expected);
        }
        l.reset();
        fs::remove_all(dir);
        const double rate = static_cast<double>(r.commands) / r.seconds;
        fmt::print("  baseline (batch_commands_max = 1): {} commands in {:.2f} s = {} commands/s, p50 {:.0f} us, "
                   "p99 {:.0f} us; process CPU {:.0f} us per command\n",
                   r.commands, r.seconds, grouped(rate), percentile(r.latency_us, 0.5), percentile(r.latency_us, 0.99),
                   r.cpu_s * 1e6 / static_cast<double>(std::max<std::uint64_t>(r.commands, 1)));
        results.put("baseline.cpu_us_per_command", r.cpu_s * 1e6 / static_cast<double>(std::max<std::uint64_t>(r.commands, 1)));
        results.put("baseline.commands", r.commands);
        results.put("baseline.commands_per_s", rate);
        results.put("baseline.p50_us", percentile(r.latency_us, 0.5));
        results.put("baseline.p99_us", percentile(r.latency_us, 0.99));
    }

    // The measurement: every command, group commit.
    {
        const fs::path dir = o.work_dir / "throughput";
        projections::manual_clock clock(w.start());
        auto l = open_ledger(dir, clock, sync);
        const feed_report r = feed_all(ticks, l->writes(), clock, o.producers);
        check_outcomes(r, w.totals().events);
        const auto m = l->writes().metrics();
        const std::uint64_t bytes = disk_bytes(dir);
        l.reset();
        fs::remove_all(dir);
        const double rate = static_cast<double>(r.commands) / r.seconds;
        const double batches = static_cast<double>(std::max<std::uint64_t>(m.batches, 1));
        fmt::print("  group commit: {} commands ({} events) in {:.1f} s = {} commands/s ({} events/s)\n",
                   grouped(r.commands), grouped(r.events), r.seconds, grouped(rate),
                   grouped(static_cast<double>(r.events) / r.seconds));
        fmt::print("  latency submit -> answer: p50 {:.0f} us, p99 {:.0f} us, max {:.0f} us\n",
                   percentile(r.latency_us, 0.5), percentile(r.latency_us, 0.99), percentile(r.latency_us, 1.0));
        fmt::print("  writer: {} batches, {:.0f} commands per batch; per batch: decide+project {:.0f} us, "
                   "commit (write + fsync) {:.0f} us; data directory {}\n",
                   grouped(m.batches), static_cast<double>(m.batch_size_sum) / batches, m.apply_us_sum / batches,
                   m.append_us_sum / batches, mib(bytes));
        const double cpu_us = r.cpu_s * 1e6 / static_cast<double>(std::max<std::uint64_t>(r.commands, 1));
        fmt::print("  process CPU (all threads) {:.1f} s = {:.1f} us per command; CPU-bound ceiling on this machine's "
                   "{} cores: {} commands/s\n",
                   r.cpu_s, cpu_us, std::thread::hardware_concurrency(),
                   grouped(1e6 * std::thread::hardware_concurrency() / cpu_us));
        results.put("throughput.process_cpu_us_per_command", cpu_us);
        results.put("throughput.commands", r.commands);
        results.put("throughput.events", r.events);
        results.put("throughput.seconds", r.seconds);
        results.put("throughput.commands_per_s", rate);
        results.put("throughput.p50_us", percentile(r.latency_us, 0.5));
        results.put("throughput.p99_us", percentile(r.latency_us, 0.99));
        results.put("throughput.batches", m.batches);
        results.put("throughput.apply_us_per_batch", m.apply_us_sum / batches);
        results.put("throughput.commit_us_per_batch", m.append_us_sum / batches);
        results.put("throughput.cpu_us_per_command", m.apply_us_sum / static_cast<double>(std::max<std::uint64_t>(r.commands, 1)));
    }
}

// ---- phase: kafka ---------------------------------------------------------------

// A ledger on a Kafka topic of its own (one partition, acks=all, one
// transaction per batch); its read models in `dir`.
std::unique_ptr<projections::ledger> open_kafka_ledger(const options& o, const fs::path& dir, const std::string& topic,
                                                       const projections::clock& clock) {
    projections::ledger_options lo;
    lo.data_dir = dir;
    events::kafka_options k;
    k.brokers = o.brokers;
    k.topic = topic;
    k.public_topic = topic + ".public";
    k.timeout = std::chrono::seconds(30);
    auto l = projections::ledger::open_kafka(lo, k, clock, context());
    if (!l) {
        fmt::print(stderr, "cannot open the Kafka ledger on {} at {}: {}\n", topic, o.brokers, l.error().message);
        std::exit(1);
    }
    return std::move(l).value();
}

// The average size of the first records of a topic's partition 0.
double average_record_bytes(const options& o, const std::string& topic) {
    events::kafka_options k;
    k.brokers = o.brokers;
    k.topic = topic;
    k.read_only = true;
    auto log = events::kafka_log::open(k);
    if (!log) return 0;
    auto records = log.value()->read({partition_id(0), log_offset(0)}, 2000);
    if (!records || records.value().empty()) return 0;
    double bytes = 0;
    for (const auto& r : records.value()) bytes += static_cast<double>(r.value.size());
    return bytes / static_cast<double>(records.value().size());
}

// Kafka's own producer performance tool (the kafka-tools jar that
// scripts/kafka fetched), on a topic of its own: the physical limit of this
// broker for records of that size with acks=all. Its summary line, parsed;
// nullopt when it could not run.
struct producer_performance {
    double records_per_s = 0;
    double p50_ms = 0;
    double p99_ms = 0;
};
std::optional<producer_performance> run_producer_performance(const options& o, std::uint64_t records,
                                                             std::uint64_t record_bytes) {
    const std::string classpath_command = std::string(REGLEDGER_SOURCE_DIR) + "/scripts/kafka classpath";
    std::string classpath;
    if (FILE* f = ::popen(classpath_command.c_str(), "r")) {
        char buffer[4096];
        while (std::fgets(buffer, sizeof buffer, f) != nullptr) classpath += buffer;
        ::pclose(f);
    }
    while (!classpath.empty() && (classpath.back() == '\n' || classpath.back() == ' ')) classpath.pop_back();
    if (classpath.empty()) return std::nullopt;
    // Its topic made as the ledger makes its own (the broker does not
    // create topics on first use).
    const std::string topic = fmt::format("bench.pp.{}.{}", ::getpid(), std::time(nullptr));
    {
        events::kafka_options k;
        k.brokers = o.brokers;
        k.topic = topic;
        k.public_topic = topic + ".public";
        k.timeout = std::chrono::seconds(30);
        if (!events::kafka_log::open(k)) return std::nullopt;
    }
    const std::string command = fmt::format(
        "java -cp '{}' org.apache.kafka.tools.ProducerPerformance --topic {} --num-records {} "
        "--record-size {} --throughput -1 --producer-props bootstrap.servers={} acks=all linger.ms=1 2>&1",
        classpath, topic, records, record_bytes, o.brokers);
    std::string output;
    if (FILE* f = ::popen(command.c_str(), "r")) {
        char buffer[4096];
        while (std::fgets(buffer, sizeof buffer, f) != nullptr) output += buffer;
        ::pclose(f);
    }
    // "N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, P50 ms 50th, P95 ms 95th,
    //  P99 ms 99th, P999 ms 99.9th."
    static const std::regex summary(
        R"(([0-9]+) records sent, ([0-9.]+) records/sec \([0-9.]+ MB/sec\), [0-9.]+ ms avg latency, [0-9.]+ ms max latency, ([0-9.]+) ms 50th, [0-9.]+ ms 95th, ([0-9.]+) ms 99th)");
    std::smatch m;
    std::string last;
    for (auto it = std::sregex_iterator(output.begin(), output.end(), summary); it != std::sregex_iterator(); ++it) {
        last = it->str();
    }
    if (last.empty() || !std::regex_search(last, m, summary)) {
        fmt::print(stderr, "  ProducerPerformance did not print its summary:\n{}\n", output.substr(0, 2000));
        return std::nullopt;
    }
    return producer_performance{std::stod(m[2]), std::stod(m[3]), std::stod(m[4])};
}

void phase_kafka(const options& o, results_file& results) {
    fmt::print("== kafka: {} registrations on {}, one partition, acks=all, one transaction per batch ==\n",
               grouped(std::uint64_t{o.registrations}), o.brokers);
    bench::workload_options wo;
    wo.registrations = o.registrations;
    wo.seed = o.seed;
    bench::workload w(wo);
    std::vector<bench::tick> ticks;
    while (auto t = w.next_tick()) ticks.push_back(std::move(*t));
    const std::string topic_base = fmt::format("bench.{}.{}", ::getpid(), std::time(nullptr));

    // At a fixed load: commands paced at --rate from one thread, each tick's
    // answers awaited before the clock moves to the next (the pause left out
    // of the schedule); latency from submit to answer.
    std::vector<bench::tick> paced_ticks = ticks;
    {
        projections::manual_clock clock(w.start());
        auto l = open_kafka_ledger(o, o.work_dir / "kafka-paced", topic_base + ".paced", clock);
        std::vector<float> latency;
        std::atomic<std::uint64_t> outstanding{0}, applied{0}, other{0};
        const auto interval = std::chrono::nanoseconds(1'000'000'000 / o.rate);
        auto base = steady::now();
        std::uint64_t scheduled = 0;
        std::uint64_t commands = 0;
        double paused_s = 0;
        const auto started = steady::now();
        for (auto& t : paced_ticks) {
            if (seconds_since(started) - paused_s >= static_cast<double>(o.rate_seconds)) break;
            if (outstanding.load() != 0) {
                const auto pause = steady::now();
                while (outstanding.load() != 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
                const auto paused = steady::now() - pause;
                paused_s += std::chrono::duration<double>(paused).count();
                base += std::chrono::duration_cast<steady::duration>(paused);
            }
            if (!clock.set(t.at)) std::exit(1);
            for (auto& cmd : t.commands) {
                const auto due = base + scheduled * interval;
                ++scheduled;
                std::this_thread::sleep_until(due);
                const auto submitted = steady::now();
                ++outstanding;
                ++commands;
                l->writes().submit(std::move(cmd), [&, submitted](projections::command_outcome out) {
                    latency.push_back(static_cast<float>(
                        std::chrono::duration<double, std::micro>(steady::now() - submitted).count()));
                    (out.result_kind == projections::command_outcome::kind::applied ? applied : other)++;
                    --outstanding;
                });
            }
        }
        while (outstanding.load() != 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
        const double busy_s = seconds_since(started) - paused_s;
        const double achieved = static_cast<double>(commands) / busy_s;
        fmt::print("  paced at {}/s: {} commands in {:.1f} s ({} /s achieved; tick pauses {:.1f} s left out), "
                   "{} not applied; latency p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms\n",
                   grouped(o.rate), grouped(commands), busy_s, grouped(achieved), paused_s, grouped(other.load()),
                   percentile(latency, 0.5) / 1000, percentile(latency, 0.99) / 1000, percentile(latency, 1.0) / 1000);
        results.put("kafka.rate_offered", o.rate);
        results.put("kafka.rate_achieved", achieved);
        results.put("kafka.rate_p50_us", percentile(latency, 0.5));
        results.put("kafka.rate_p99_us", percentile(latency, 0.99));
    }

    // As fast as it goes: every command, group commit.
    std::uint64_t events_written = 0;
    {
        projections::manual_clock clock(w.start());
        auto l = open_kafka_ledger(o, o.work_dir / "kafka", topic_base, clock);
        const feed_report r = feed_all(ticks, l->writes(), clock, o.producers);
        check_outcomes(r, w.totals().events);
        const auto m = l->writes().metrics();
        l.reset();
        events_written = r.events;
        const double rate = static_cast<double>(r.commands) / r.seconds;
        const double batches = static_cast<double>(std::max<std::uint64_t>(m.batches, 1));
        fmt::print("  group commit: {} commands ({} events) in {:.1f} s = {} commands/s ({} events/s); latency p50 "
                   "{:.1f} ms, p99 {:.1f} ms\n",
                   grouped(r.commands), grouped(r.events), r.seconds, grouped(rate),
                   grouped(static_cast<double>(r.events) / r.seconds), percentile(r.latency_us, 0.5) / 1000,
                   percentile(r.latency_us, 0.99) / 1000);
        fmt::print("  writer: {} batches (transactions), {:.0f} commands each; per batch: decide+project {:.0f} us, "
                   "commit {:.0f} us; process CPU {:.1f} us per command\n",
                   grouped(m.batches), static_cast<double>(m.batch_size_sum) / batches, m.apply_us_sum / batches,
                   m.append_us_sum / batches, r.cpu_s * 1e6 / static_cast<double>(std::max<std::uint64_t>(r.commands, 1)));
        results.put("kafka.commands", r.commands);
        results.put("kafka.events", r.events);
        results.put("kafka.commands_per_s", rate);
        results.put("kafka.events_per_s", static_cast<double>(r.events) / r.seconds);
        results.put("kafka.p50_us", percentile(r.latency_us, 0.5));
        results.put("kafka.p99_us", percentile(r.latency_us, 0.99));
    }

    // The baseline: the broker's own producer, the same records' count and size.
    const double record_bytes = average_record_bytes(o, topic_base);
    fmt::print("  ProducerPerformance: {} records of {:.0f} bytes (the topic's average), acks=all ...\n",
               grouped(events_written), record_bytes);
    std::fflush(stdout);
    const auto pp = run_producer_performance(o, events_written, static_cast<std::uint64_t>(std::llround(record_bytes)));
    if (!pp) {
        fmt::print(stderr, "the ProducerPerformance baseline did not run (scripts/kafka fetch; java)\n");
        std::exit(1);
    }
    fmt::print("  ProducerPerformance: {} records/s, p50 {:.0f} ms, p99 {:.0f} ms\n", grouped(pp->records_per_s),
               pp->p50_ms, pp->p99_ms);
    results.put("kafka.record_bytes", record_bytes);
    results.put("kafka.pp_records_per_s", pp->records_per_s);
    results.put("kafka.pp_p99_ms", pp->p99_ms);
}

// ---- phase: fill (log / backlog), unsynced ------------------------------------

// Feeds `w` into a fresh ledger in `dir` without syncing, tick by tick, until
// at least `events_max` events were appended or the workload ends.
// The key the filled ledgers sign their checkpoints with (work dir/keys).
events::signing_key bench_signing_key(const options& o) {
    const fs::path dir = o.work_dir / "keys";
    if (!fs::exists(dir / "ledger.key")) {
        fs::create_directories(dir);
        if (!events::signing_key::generate(dir / "ledger.key", dir / "ledger.pub")) std::exit(1);
    }
    auto key = events::signing_key::load(dir / "ledger.key");
    if (!key) {
        fmt::print(stderr, "cannot load {}: {}\n", (dir / "ledger.key").string(), key.error().message());
        std::exit(1);
    }
    return std::move(key).value();
}

feed_report fill(bench::workload& w, const fs::path& dir, std::uint64_t events_max, std::string_view what,
                 projections::writer_options writer = {}) {
    projections::manual_clock clock(w.start());
    auto l = open_ledger(dir, clock, /*sync=*/false, writer);
    feed_report r;
    {
        feeder f(l->writes(), clock, 1);
        progress_line progress;
        const auto started = steady::now();
        std::uint64_t expected = 0;
        while (f.report().events < events_max) {
            auto t = w.next_tick();
            if (!t) break;
            expected += t->events;
            f.feed(*t, t->commands.size(), /*copy=*/false);
            progress.maybe("  filling {}: {} commands, {} events, virtual {}\n", what, grouped(f.report().commands),
                           grouped(f.report().events), t->at.shanghai_date().to_string());
        }
        f.report().seconds = seconds_since(started);
        r = std::move(f.report());
        check_outcomes(r, expected);
    }
    l.reset();
    fmt::print("  filled {}: {} commands, {} events in {:.1f} s (unsynced); {} on disk\n", what, grouped(r.commands),
               grouped(r.events), r.seconds, mib(disk_bytes(dir)));
    return r;
}

void phase_fill_log(const options& o, results_file& results) {
    fmt::print("== rebuild: a log of {} events ==\n", grouped(o.events));
    // Events per registration of this workload, from a small sample of it
    // (larger workloads have a few fewer: the margin covers it; the fill
    // stops at --events).
    bench::workload_options sample;
    sample.registrations = 2'000;
    sample.seed = o.seed;
    bench::workload s(sample);
    while (s.next_tick()) {
    }
    const double per_registration = static_cast<double>(s.totals().events) / static_cast<double>(sample.registrations);
    bench::workload_options wo;
    wo.seed = o.seed;
    wo.registrations = static_cast<std::size_t>(std::ceil(static_cast<double>(o.events) / per_registration * 1.1)) + 10;
    fmt::print("  {} registrations ({:.1f} events each)\n", grouped(std::uint64_t{wo.registrations}), per_registration);
    bench::workload w(wo);
    // Signed checkpoints at the server's default spacing, so that verifying
    // checks roots and signatures as it would on a real ledger.
    const auto key = bench_signing_key(o);
    projections::writer_options writer;
    writer.signing_key = &key;
    writer.checkpoint_events_max = 10'000;
    // The workload's clock runs through years of virtual time: by count only.
    writer.checkpoint_interval = std::chrono::hours(24 * 365 * 100);
    const auto r = fill(w, o.work_dir / "rebuild", o.events, "the log", writer);
    results.put("rebuild.log_events", r.events);
}

// ---- phase: rebuild --------------------------------------------------------------

void phase_rebuild(const options& o, results_file& results) {
    const fs::path dir = o.work_dir / "rebuild";
    const std::uint64_t hwm_before = proc_status_bytes("VmHWM");
    projections::rebuild_options ro;
    ro.data_dir = dir;
    progress_line progress;
    const auto started = steady::now();
    const double cpu_started = process_cpu_s();
    ro.progress = [&](std::uint64_t done, std::uint64_t total) {
        progress.maybe("  rebuilding: {}/{} events, {:.1f} s\n", grouped(done), grouped(total), seconds_since(started));
    };
    auto report = projections::rebuild(ro);
    if (!report) {
        fmt::print(stderr, "rebuild failed: {}\n", report.error());
        std::exit(1);
    }
    const double seconds = seconds_since(started);
    const double cpu_s = process_cpu_s() - cpu_started;
    const std::uint64_t hwm = proc_status_bytes("VmHWM");
    const double rate = static_cast<double>(report.value().records) / seconds;
    fmt::print("  rebuild: {} events of {} streams in {:.1f} s = {} events/s; peak RSS (VmHWM) {} (process before: {})\n",
               grouped(report.value().records), grouped(report.value().streams), seconds, grouped(rate), mib(hwm),
               mib(hwm_before));
    results.put("rebuild.events", report.value().records);
    results.put("rebuild.seconds", seconds);
    results.put("rebuild.events_per_s", rate);
    results.put("rebuild.vmhwm_bytes", hwm);
    fmt::print("  process CPU {:.1f} s = {:.1f} us per event\n", cpu_s,
               cpu_s * 1e6 / static_cast<double>(std::max<std::uint64_t>(report.value().records, 1)));
    results.put("rebuild.cpu_us_per_event", cpu_s * 1e6 / static_cast<double>(std::max<std::uint64_t>(report.value().records, 1)));

    // Baselines, on the rebuilt directory: the raw log, and its verification.
    events::store_options so;
    so.dir = dir;
    so.create_if_missing = false;
    const auto families = projections::ledger::embedded_families();
    auto store = events::rocks_store::open(so, families);
    if (!store) {
        fmt::print(stderr, "cannot reopen {}\n", dir.string());
        std::exit(1);
    }
    auto log = events::embedded_log::open(*store.value());
    if (!log) std::exit(1);
    {
        const auto t0 = steady::now();
        std::uint64_t records = 0;
        std::uint64_t bytes = 0;
        for (log_offset next(0);;) {
            auto batch = log.value()->read({partition_id(0), next}, 8192);
            if (!batch || batch.value().empty()) break;
            for (const auto& rec : batch.value()) bytes += rec.value.size();
            records += batch.value().size();
            next = log_offset(batch.value().back().position.offset.value() + 1);
        }
        const double s = seconds_since(t0);
        fmt::print("  baseline, reading the log: {} records ({}) in {:.2f} s = {} records/s\n", grouped(records),
                   mib(bytes), s, grouped(static_cast<double>(records) / s));
        results.put("rebuild.scan_per_s", static_cast<double>(records) / s);
    }
    const auto key = bench_signing_key(o);
    {
        const auto t0 = steady::now();
        events::verify_options vo;
        vo.public_key = &key.public_key();
        auto verified = events::verify_log(*log.value(), vo);
        const double s = seconds_since(t0);
        if (!verified) {
            fmt::print(stderr, "the rebuilt log does not verify: {}\n", verified.error().what);
            std::exit(1);
        }
        fmt::print("  baseline, verifying the log (decode + hash + chains + Merkle tree + {} signed checkpoints): {} "
                   "records in {:.2f} s = {} records/s\n",
                   verified.value().signatures_checked, grouped(verified.value().records), s,
                   grouped(static_cast<double>(verified.value().records) / s));
        results.put("rebuild.verify_per_s", static_cast<double>(verified.value().records) / s);
        results.put("verify.log_seconds", s);
    }
    log.value().reset();
    store.value().reset();
    {
        // regledger verify: the log as above, then every read model
        // re-derived and compared row by row with the live store.
        const auto t0 = steady::now();
        projections::verify_store_options vo;
        vo.data_dir = dir;
        vo.public_key = &key.public_key();
        progress_line progress;
        vo.progress = [&](std::string_view phase, std::uint64_t done, std::uint64_t total) {
            progress.maybe("  verifying ({}): {}/{}, {:.1f} s\n", phase, grouped(done), grouped(total), seconds_since(t0));
        };
        auto verified = projections::verify_store(vo);
        const double s = seconds_since(t0);
        if (!verified) {
            fmt::print(stderr, "regledger verify failed: {}\n", verified.error().what);
            std::exit(1);
        }
        fmt::print("  regledger verify (log, checkpoints, every read-model row): {} records, {} rows in {:.2f} s\n",
                   grouped(verified.value().records), grouped(verified.value().rows_compared), s);
        results.put("verify.full_seconds", s);
    }
}

// ---- phase: timers ---------------------------------------------------------------

bench::workload_options backlog_options(const options& o) {
    bench::workload_options wo;
    wo.seed = o.seed;
    wo.mode = bench::lifecycle::backlog;
    wo.registrations = o.timers;
    wo.registrations_per_subject = 20;
    wo.intake_working_days = static_cast<int>((o.timers + o.timers_due - 1) / o.timers_due);
    return wo;
}

void phase_fill_timers(const options& o, results_file& results) {
    const auto wo = backlog_options(o);
    fmt::print("== timers: {} pending, {} due at {} ==\n", grouped(o.timers), grouped(o.timers_due),
               bench::backlog_due_at(wo).to_string());
    bench::workload w(wo);
    const auto r = fill(w, o.work_dir / "timers", std::numeric_limits<std::uint64_t>::max(), "the backlog");
    results.put("timers.fill_commands", r.commands);
}

void phase_timers(const options& o, results_file& results) {
    const auto wo = backlog_options(o);
    const fs::path dir = o.work_dir / "timers";
    const instant due_at = bench::backlog_due_at(wo);
    // The clock starts where the backlog ended: 09:00 of the last intake day.
    projections::manual_clock clock(
        instant::start_of_day(bench::intake_days(wo).back()).plus_us(9 * 3600 * us_per_second));

    const auto open_started = steady::now();
    auto l = open_ledger(dir, clock, /*sync=*/true);
    const double open_s = seconds_since(open_started);
    projections::scheduler sched(l->writes(), l->reads(), clock);
    auto& store = l->store();

    // Count the timers, and scan the due ones (the baseline).
    std::uint64_t pending = 0;
    std::uint64_t due = 0;
    double scan_s = 0;
    {
        std::unique_ptr<rocksdb::Iterator> it(store.db().NewIterator(rocksdb::ReadOptions(), store.cf(projections::cf::timers)));
        for (it->SeekToFirst(); it->Valid(); it->Next()) ++pending;
        const auto t0 = steady::now();
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
            if (projections::get_i64(it->key().ToStringView(), 0) > due_at.unix_us()) break;
            ++due;
        }
        scan_s = seconds_since(t0);
    }
    std::uint64_t timers_sst = 0;
    std::uint64_t timers_mem = 0;
    store.db().GetIntProperty(store.cf(projections::cf::timers), "rocksdb.total-sst-files-size", &timers_sst);
    store.db().GetIntProperty(store.cf(projections::cf::timers), "rocksdb.cur-size-all-mem-tables", &timers_mem);
    const std::uint64_t rss_open = proc_status_bytes("VmRSS");
    const std::uint64_t disk = disk_bytes(dir);
    fmt::print("  open (verify the log, catch up, start the writer): {:.1f} s\n", open_s);
    fmt::print("  {} timers pending, {} due at {}; data directory {} on disk (timers family: {} in tables, {} in "
               "memtables); process RSS {}\n",
               grouped(pending), grouped(due), due_at.to_string(), mib(disk), mib(timers_sst), mib(timers_mem),
               mib(rss_open));
    fmt::print("  baseline, scanning the due timers: {:.3f} s\n", scan_s);

    if (!clock.set(due_at)) std::exit(1);
    const auto fire_started = steady::now();
    const double cpu_started = process_cpu_s();
    const auto fired = sched.fire_due();
    const double fire_s = seconds_since(fire_started);
    const double fire_cpu_s = process_cpu_s() - cpu_started;
    const std::uint64_t rss_after = proc_status_bytes("VmRSS");
    const std::uint64_t after = sched.pending_estimate();
    fmt::print("  fire_due(): {} fired, {} applied, {} unavailable in {:.2f} s = {} timers/s; RSS after {}; "
               "~{} timers still pending\n",
               grouped(fired.fired), grouped(fired.applied), fired.unavailable, fire_s,
               grouped(static_cast<double>(fired.fired) / fire_s), mib(rss_after), grouped(after));
    if (fired.applied != due) {
        fmt::print(stderr, "expected {} timers to fire, {} did\n", due, fired.applied);
        std::exit(1);
    }
    results.put("timers.open_s", open_s);
    results.put("timers.pending", pending);
    results.put("timers.due", due);
    results.put("timers.disk_bytes", disk);
    results.put("timers.rss_bytes", rss_open);
    results.put("timers.rss_after_bytes", rss_after);
    results.put("timers.scan_s", scan_s);
    results.put("timers.fire_s", fire_s);
    results.put("timers.fire_cpu_s", fire_cpu_s);
    fmt::print("  process CPU while firing {:.2f} s\n", fire_cpu_s);
}

// ---- the driver ------------------------------------------------------------------

int run_child(const options& o, char** argv, const std::string& phase) {
    std::vector<std::string> args;
    for (char** a = argv; *a != nullptr; ++a) args.emplace_back(*a);
    args.insert(args.end(), {"--phase", phase, "--work-dir", o.work_dir.string(), "--results", o.results.string()});
    std::vector<char*> cargs;
    for (auto& a : args) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    std::fflush(stdout);
    pid_t pid = 0;
    if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, cargs.data(), environ) != 0) {
        fmt::print(stderr, "cannot start the {} phase: {}\n", phase, std::strerror(errno));
        return 1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    fmt::print(stderr, "the {} phase failed (status {})\n", phase, status);
    return 1;
}

std::map<std::string, double> read_results(const fs::path& path) {
    std::map<std::string, double> out;
    std::ifstream in(path);
    std::string key;
    double value = 0;
    while (in >> key >> value) out[key] = value;
    return out;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("model name")) return line.substr(line.find(':') + 2);
    }
    return "unknown";
}

void print_summary(const options& o, const std::map<std::string, double>& r) {
    auto get = [&](const std::string& k) {
        const auto it = r.find(k);
        return it == r.end() ? std::nan("") : it->second;
    };
    auto has = [&](const std::string& k) { return r.contains(k); };
    fmt::print("\n== summary ({}) ==\n", o.quick ? "--quick: sizes and sync are for a smoke run, not figures" : "figures");
    fmt::print("{:<46} {:>16} {:>22} {:>9}  {}\n", "figure", "value", "baseline (same run)", "ratio", "goal");
    if (has("throughput.commands_per_s")) {
        const double v = get("throughput.commands_per_s");
        const double b = get("baseline.commands_per_s");
        fmt::print("{:<46} {:>16} {:>22} {:>8.0f}x  >= 50,000/s {}\n", "durable commands/s (group commit)",
                   grouped(v) + "/s", grouped(b) + "/s (1 per write)", v / b, v >= 50'000 ? "met" : "NOT met");
        fmt::print("{:<46} {:>16} {:>22}\n", "latency p50 / p99 (submit -> answer)",
                   fmt::format("{:.1f} / {:.1f} ms", get("throughput.p50_us") / 1000, get("throughput.p99_us") / 1000),
                   fmt::format("{:.1f} / {:.1f} ms", get("baseline.p50_us") / 1000, get("baseline.p99_us") / 1000));
        fmt::print("{:<46} {:>16} {:>22} {:>8.2f}x\n", "process CPU per command (all threads)",
                   fmt::format("{:.1f} us", get("throughput.process_cpu_us_per_command")),
                   fmt::format("{:.1f} us", get("baseline.cpu_us_per_command")),
                   get("throughput.process_cpu_us_per_command") / get("baseline.cpu_us_per_command"));
        fmt::print("{:<46} {:>16}\n", "writer thread per command (decide + project)",
                   fmt::format("{:.1f} us", get("throughput.cpu_us_per_command")));
    }
    if (has("kafka.commands_per_s")) {
        const double v = get("kafka.commands_per_s");
        const double events = get("kafka.events_per_s");
        const double pp = get("kafka.pp_records_per_s");
        fmt::print("{:<46} {:>16} {:>22} {:>8.2f}x  >= 10,000/s {}\n", "Kafka: durable commands/s (group commit)",
                   grouped(v) + "/s", grouped(pp) + "/s (ProducerPerf)", events / pp, v >= 10'000 ? "met" : "NOT met");
        fmt::print("{:<46} {:>16}   (ratio: our events/s, {} records of {:.0f} B, to the tool's records/s)\n",
                   "  events/s", grouped(events) + "/s", grouped(get("kafka.events")), get("kafka.record_bytes"));
        fmt::print("{:<46} {:>16}\n", "  latency p50 / p99, as fast as it goes",
                   fmt::format("{:.1f} / {:.1f} ms", get("kafka.p50_us") / 1000, get("kafka.p99_us") / 1000));
        const double p99 = get("kafka.rate_p99_us") / 1000;
        fmt::print("{:<46} {:>16} {:>22} {:>9}  <= 50 ms {}\n",
                   fmt::format("Kafka: latency p99 at {}/s", grouped(get("kafka.rate_offered"))),
                   fmt::format("{:.1f} ms", p99), fmt::format("{:.0f} ms (ProducerPerf)", get("kafka.pp_p99_ms")), "",
                   p99 <= 50 ? "met" : "NOT met");
    }
    if (has("rebuild.events_per_s")) {
        const double v = get("rebuild.events_per_s");
        fmt::print("{:<46} {:>16} {:>22} {:>8.2f}x  >= 200,000/s {}\n",
                   fmt::format("rebuild events/s ({} events)", grouped(get("rebuild.events"))), grouped(v) + "/s",
                   grouped(get("rebuild.verify_per_s")) + "/s (verify)", v / get("rebuild.verify_per_s"),
                   v >= 200'000 ? "met" : "NOT met");
        fmt::print("{:<46} {:>16} {:>22} {:>8.2f}x\n", "", "", grouped(get("rebuild.scan_per_s")) + "/s (raw read)",
                   v / get("rebuild.scan_per_s"));
        fmt::print("{:<46} {:>16}\n", "rebuild process CPU per event",
                   fmt::format("{:.1f} us", get("rebuild.cpu_us_per_event")));
        if (has("verify.full_seconds")) {
            fmt::print("{:<46} {:>16}\n", "verify: log + checkpoints (s)", fmt::format("{:.2f}", get("verify.log_seconds")));
            fmt::print("{:<46} {:>16}\n", "verify: + every read-model row (s)",
                       fmt::format("{:.2f}", get("verify.full_seconds")));
        }
        fmt::print("{:<46} {:>16}\n", "rebuild peak RSS (VmHWM of its process)",
                   mib(static_cast<std::uint64_t>(get("rebuild.vmhwm_bytes"))));
    }
    if (has("timers.fire_s")) {
        const double v = get("timers.fire_s");
        fmt::print("{:<46} {:>16} {:>22} {:>8.0f}x  <= 10 s {}\n",
                   fmt::format("fire {} timers due at once", grouped(get("timers.due"))), fmt::format("{:.2f} s", v),
                   fmt::format("{:.3f} s (scan)", get("timers.scan_s")), v / get("timers.scan_s"),
                   v <= 10 ? "met" : "NOT met");
        fmt::print("{:<46} {:>16}\n", fmt::format("{} pending timers: data dir on disk", grouped(get("timers.pending"))),
                   mib(static_cast<std::uint64_t>(get("timers.disk_bytes"))));
        fmt::print("{:<46} {:>16}\n", "  process RSS after open / after firing",
                   fmt::format("{} / {}", mib(static_cast<std::uint64_t>(get("timers.rss_bytes"))),
                               mib(static_cast<std::uint64_t>(get("timers.rss_after_bytes")))));
        fmt::print("{:<46} {:>16}\n", "  process CPU while firing", fmt::format("{:.2f} s", get("timers.fire_cpu_s")));
        fmt::print("{:<46} {:>16}\n", "  open (verify log + catch up)", fmt::format("{:.1f} s", get("timers.open_s")));
    }
}

int drive(options o, char** argv) {
    o.work_dir = fs::temp_directory_path() / fmt::format("regledger-bench-{}", ::getpid());
    fs::remove_all(o.work_dir);
    fs::create_directories(o.work_dir);
    o.results = o.work_dir / "results.txt";
    fmt::print("ledger_bench: {} cores, {}; registrations {}, events {}, timers {} ({} due at once), producers {}, "
               "seed {}{}\n",
               std::thread::hardware_concurrency(), cpu_model(), grouped(std::uint64_t{o.registrations}),
               grouped(o.events), grouped(o.timers), grouped(o.timers_due), o.producers, o.seed,
               o.quick ? ", --quick" : "");
    const auto started = steady::now();
    std::vector<std::string> phases;
    if (o.only.empty() || o.only == "throughput") phases.push_back("throughput");
    if (o.only.empty() || o.only == "rebuild") phases.insert(phases.end(), {"fill-log", "rebuild"});
    if (o.only.empty() || o.only == "timers") phases.insert(phases.end(), {"fill-timers", "timers"});
    if (o.only == "kafka") phases.push_back("kafka");
    int rc = 0;
    for (const auto& phase : phases) {
        if ((rc = run_child(o, argv, phase)) != 0) break;
    }
    if (rc == 0) print_summary(o, read_results(o.results));
    fmt::print("\nledger_bench: {} in {:.0f} s\n", rc == 0 ? "done" : "FAILED", seconds_since(started));
    fs::remove_all(o.work_dir);
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    if (o.phase.empty()) return drive(o, argv);
    results_file results(o.results);
    if (o.phase == "throughput") {
        phase_throughput(o, results);
    } else if (o.phase == "fill-log") {
        phase_fill_log(o, results);
    } else if (o.phase == "rebuild") {
        phase_rebuild(o, results);
    } else if (o.phase == "fill-timers") {
        phase_fill_timers(o, results);
    } else if (o.phase == "timers") {
        phase_timers(o, results);
    } else if (o.phase == "kafka") {
        phase_kafka(o, results);
    } else {
        usage("unknown phase " + o.phase);
    }
    std::fflush(stdout);
    return 0;
}
