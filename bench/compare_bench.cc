// compare_bench: one figure of the side-by-side benchmark (bench/README.md
// "Against PostgreSQL") for one system: the workload of bench/workload.h fed
// through bench/driver.h, at the same concurrency, to
//
//   regledger-embedded  the ledger in this process, on its embedded log;
//   regledger-kafka     the ledger in this process, on an Apache Kafka log
//                       (--brokers);
//   postgresql          the same commands, one transaction each, on a
//                       PostgreSQL server (--pg; bench/pg_target.h).
//
// Figures (x: what a point varies):
//
//   throughput     x = clients: durable commands/s closed loop, p50/p99
//                  latency, process CPU per command, resident memory of the
//                  system under test after the run;
//   latency        x = commands/s offered (--rates), at the first --clients:
//                  p50/p99 latency from the instant each command was due, and
//                  the rate achieved;
//   query          x = clients: point queries of one registration by id,
//                  Zipf-skewed over every registration, closed loop;
//   registrations  x = registrations in the workload (--registrations), at
//                  the first --clients: durable commands/s and p99;
//   rebuild        x = events in the history (--events): re-deriving every
//                  read model from the history alone (regledger rebuild;
//                  PostgreSQL's state tables from its audit table). One
//                  history grows through the sizes; regledger's is written
//                  by its commands, PostgreSQL's audit table loaded with
//                  COPY from the events the workload recorded.
//
// Each point of a command figure starts from an empty store, fills it with
// the workload's first commands without durability (by default every tick up
// to the end of the intake period, so that every registration exists), opens
// it again durable, and measures the commands that follow for --seconds. Each
// run checks that the system answered every command `applied`, as the
// workload expects; it exits 1 with the first rejections otherwise.
//
// With --keep-filled DIR, a store filled up to the end of the intake period
// is kept (a copy of the data directory under DIR, its table files hard
// links; on PostgreSQL a copy of the database, named in DIR) and later
// points and later runs with the same DIR, system, registrations and seed
// start from a fresh copy of it instead of filling again: the same store,
// byte for byte, as the filling would have left it, with the workload taken
// up to the same tick. The Kafka log cannot be copied: it is filled every
// time. `--forget-filled DIR` drops what DIR keeps (the PostgreSQL copies
// too) and removes DIR.
//
// Resident memory: for regledger, what this process grew by after the
// ledger opened (regledger_target.h; the workload generator's own memory
// left out); for PostgreSQL, the server's processes (pg_target.h). Process
// CPU is this process's: for PostgreSQL, the client side only.
//
// Figures go to --out as tab-separated lines `figure system x metric value`
// (bench/report.py reads them), each point's once it has passed its check;
// progress and a summary go to stdout. The data directories live under
// --work-dir (default /tmp/compare-bench-PID, removed at the end); a run that
// fails leaves them there.
//
// Usage: compare_bench --system S --figure F [--registrations LIST] [--clients LIST]
//                      [--rates LIST] [--events LIST] [--seconds S] [--fill-commands N]
//                      [--work-dir DIR] [--brokers HOST:PORT] [--pg CONNINFO] [--seed N]
//                      [--keep-filled DIR] [--out FILE]
//        compare_bench --system S [--pg CONNINFO] --forget-filled DIR
//        compare_bench --quick [--out FILE]   every figure, small, on the embedded log
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/driver.h"
#include "bench/flags.h"
#include "bench/pg_target.h"
#include "bench/regledger_target.h"
#include "bench/workload.h"
#include "projections/rebuild.h"

using namespace regledger;
namespace fs = std::filesystem;

namespace {

using steady = std::chrono::steady_clock;

double seconds_since(steady::time_point start) {
    return std::chrono::duration<double>(steady::now() - start).count();
}

std::string grouped(double value) {
    const std::string digits = std::to_string(static_cast<std::uint64_t>(std::llround(std::max(value, 0.0))));
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

std::string grouped(std::uint64_t value) { return grouped(static_cast<double>(value)); }

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

// ---- options -----------------------------------------------------------------------

constexpr std::string_view systems[] = {"regledger-embedded", "regledger-kafka", "postgresql"};
constexpr std::string_view figures[] = {"throughput", "latency", "query", "registrations", "rebuild"};

struct options {
    std::string system;
    std::string figure;
    std::vector<double> registrations{10'000};
    std::vector<double> clients{64};
    std::vector<double> rates;
    std::vector<double> events;
    double seconds = 10;
    std::optional<std::uint64_t> fill_commands;
    fs::path work_dir;
    std::string brokers;
    std::string pg;
    std::uint64_t seed = 20250101;
    fs::path out;
    bool quick = false;
    fs::path keep_filled;
    bool forget_filled = false;
};

[[noreturn]] void usage(const std::string& problem) {
    fmt::print(stderr,
               "compare_bench: {}\n"
               "usage: compare_bench --system regledger-embedded|regledger-kafka|postgresql\n"
               "                     --figure throughput|latency|query|registrations|rebuild\n"
               "                     [--registrations LIST] [--clients LIST] [--rates LIST] [--events LIST]\n"
               "                     [--seconds S] [--fill-commands N] [--work-dir DIR] [--brokers HOST:PORT]\n"
               "                     [--pg CONNINFO] [--seed N] [--keep-filled DIR] [--out FILE]\n"
               "       compare_bench --system S [--pg CONNINFO] --forget-filled DIR\n"
               "       compare_bench --quick [--out FILE] [--work-dir DIR]\n",
               problem);
    std::exit(2);
}

double positive(const std::string& name, const std::string& text) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || !(v > 0) || !std::isfinite(v)) {
        usage("--" + name + " takes positive numbers, not '" + text + "'");
    }
    return v;
}

std::uint64_t whole(const std::string& name, const std::string& text) {
    const double v = positive(name, text);
    if (v != std::floor(v)) usage("--" + name + " takes whole numbers, not '" + text + "'");
    return static_cast<std::uint64_t>(v);
}

std::vector<double> whole_list(const std::string& name, const std::string& text) {
    std::vector<double> values;
    std::size_t from = 0;
    for (;;) {
        const std::size_t comma = text.find(',', from);
        values.push_back(static_cast<double>(whole(name, text.substr(from, comma - from))));
        if (comma == std::string::npos) return values;
        from = comma + 1;
    }
}

options parse(int argc, char** argv) {
    options o;
    auto [quick, values, unexpected] = bench::read_flags(argc, argv);
    if (unexpected) usage("unexpected argument " + *unexpected);
    o.quick = quick;
    if (o.quick) {
        // Small and short: checks that everything runs and agrees with the
        // workload; the figures mean nothing.
        o.system = "regledger-embedded";
        o.registrations = {200, 400};
        o.clients = {1, 8};
        o.rates = {100};
        o.events = {1'500, 3'000};
        o.seconds = 1;
    }
    auto take = [&](const std::string& name) -> std::optional<std::string> {
        const auto it = values.find(name);
        if (it == values.end()) return std::nullopt;
        std::string v = it->second;
        values.erase(it);
        return v;
    };
    if (auto v = take("system")) o.system = *v;
    if (auto v = take("figure")) o.figure = *v;
    if (auto v = take("registrations")) o.registrations = whole_list("registrations", *v);
    if (auto v = take("clients")) o.clients = whole_list("clients", *v);
    if (auto v = take("rates")) o.rates = whole_list("rates", *v);
    if (auto v = take("events")) o.events = whole_list("events", *v);
    if (auto v = take("seconds")) o.seconds = positive("seconds", *v);
    if (auto v = take("fill-commands")) {
        // 0 is allowed here: measure from the workload's first command.
        o.fill_commands = *v == "0" ? 0 : whole("fill-commands", *v);
    }
    if (auto v = take("work-dir")) o.work_dir = *v;
    if (auto v = take("brokers")) o.brokers = *v;
    if (auto v = take("pg")) o.pg = *v;
    if (auto v = take("seed")) o.seed = whole("seed", *v);
    if (auto v = take("out")) o.out = *v;
    if (auto v = take("keep-filled")) o.keep_filled = *v;
    if (auto v = take("forget-filled")) {
        if (!o.keep_filled.empty() && o.keep_filled != *v) usage("--forget-filled and --keep-filled name different folders");
        o.keep_filled = *v;
        o.forget_filled = true;
    }
    if (!values.empty()) usage("unknown option --" + values.begin()->first);

    if (std::find(std::begin(systems), std::end(systems), o.system) == std::end(systems)) {
        usage("--system takes regledger-embedded, regledger-kafka or postgresql");
    }
    if (!o.quick && !o.forget_filled &&
        std::find(std::begin(figures), std::end(figures), o.figure) == std::end(figures)) {
        usage("--figure takes throughput, latency, query, registrations or rebuild");
    }
    if ((o.system == "regledger-kafka") != !o.brokers.empty()) {
        usage("--system regledger-kafka and --brokers go together");
    }
    // The test suite's server (scripts/test starts it) when --pg is not given.
    if (o.system == "postgresql" && o.pg.empty()) {
        if (const char* env = std::getenv("REGLEDGER_PG_CONNINFO"); env != nullptr) o.pg = env;
        if (o.pg.empty()) usage("--system postgresql needs --pg CONNINFO (scripts/postgres conninfo) or REGLEDGER_PG_CONNINFO");
    }
    if ((o.system == "postgresql") != !o.pg.empty()) usage("--system postgresql and --pg go together");
    if (o.figure == "latency" && o.rates.empty()) usage("--figure latency needs --rates");
    if (o.figure == "rebuild" && o.events.empty()) usage("--figure rebuild needs --events");
    if (o.figure == "rebuild" && o.system == "regledger-kafka") usage("--figure rebuild runs on the embedded log only");
    if (!o.quick && o.figure != "registrations" && o.registrations.size() != 1) {
        usage("--registrations takes a list for --figure registrations only");
    }
    return o;
}

// ---- figures out ---------------------------------------------------------------------

// Appends `figure system x metric value` lines to --out (none without it),
// flushed after each point so that a later failure keeps them.
class figure_file {
public:
    figure_file(const options& o, int argc, char** argv) {
        if (o.out.empty()) return;
        out_.open(o.out, std::ios::app);
        if (!out_) {
            fmt::print(stderr, "compare_bench: cannot append to {}\n", o.out.string());
            std::exit(1);
        }
        std::string command = "#";
        for (int i = 0; i < argc; ++i) command += std::string(" ") + argv[i];
        out_ << command << '\n';
        out_.flush();
    }

    void put(std::string_view figure, std::string_view system, double x, std::string_view metric, double value) {
        if (!out_.is_open()) return;
        out_ << fmt::format("{}\t{}\t{}\t{}\t{:.6g}\n", figure, system, x, metric, value);
        out_.flush();
    }

private:
    std::ofstream out_;
};

// ---- the system under test -------------------------------------------------------------

// One store of the system under test per point of a figure: emptied,
// opened non-durable to be filled, then opened durable to be measured.
class system_under_test {
public:
    explicit system_under_test(const options& o) : o_(o) {}

    // An empty store for the point named `point` (what an earlier point left
    // is removed).
    void reset(const std::string& point) {
        if (o_.system == "postgresql") {
            bench::pg_reset(o_.pg);
            return;
        }
        remove();
        dir_ = o_.work_dir / point;
        topic_ = fmt::format("compare.{}.{}.{}", ::getpid(), std::time(nullptr), point);
    }

    // The store of the last reset(), opened.
    std::unique_ptr<bench::target> open(bench::durability mode, instant start) const {
        const bool durable = mode == bench::durability::durable;
        if (o_.system == "postgresql") {
            return bench::make_pg_target(o_.pg, durable);
        }
        bench::regledger_target_options to;
        to.data_dir = dir_;
        to.mode = mode;
        to.start = start;
        if (o_.system == "regledger-kafka") {
            events::kafka_options k;
            k.brokers = o_.brokers;
            k.topic = topic_;
            k.public_topic = topic_ + ".public";
            k.timeout = std::chrono::seconds(30);
            to.kafka = k;
        }
        auto t = bench::regledger_target::open(to);
        if (!t) {
            fmt::print(stderr, "compare_bench: {}\n", t.error());
            std::exit(1);
        }
        return std::move(t).value();
    }

    // rebuild: re-derives the store's read models from its history alone,
    // with nothing open on it; the events read and the wall time.
    std::pair<std::uint64_t, double> rebuild() const {
        if (o_.system == "postgresql") {
            const auto r = bench::pg_rebuild(o_.pg);
            return {r.events, r.seconds};
        }
        projections::rebuild_options ro;
        ro.data_dir = dir_;
        const auto started = steady::now();
        auto r = projections::rebuild(ro);
        const double seconds = seconds_since(started);
        if (!r) {
            fmt::print(stderr, "compare_bench: rebuild failed: {}\n", r.error());
            std::exit(1);
        }
        return {r.value().records, seconds};
    }

    void remove() {
        if (dir_.empty()) return;
        std::error_code ec;
        fs::remove_all(dir_, ec);
        dir_.clear();
    }

    // Whether a filled store can be kept and copied back (--keep-filled; not
    // on Kafka, whose log is the broker's).
    bool keeps_filled() const { return !o_.keep_filled.empty() && o_.system != "regledger-kafka"; }

    // Keeps the store of the last reset(), closed, under `key`.
    void keep(const std::string& key) const {
        fs::create_directories(o_.keep_filled);
        if (o_.system == "postgresql") {
            const std::string name = pg_copy_name(key);
            bench::pg_keep(o_.pg, name);
            std::ofstream(o_.keep_filled / (key + pg_marker)) << name << '\n';
            return;
        }
        const fs::path copy = o_.keep_filled / key;
        const fs::path partial = o_.keep_filled / (key + ".partial");
        fs::remove_all(partial);
        copy_store(dir_, partial);
        fs::remove_all(copy);
        fs::rename(partial, copy);
    }

    // Replaces the store of the last reset() with a copy of what keep(key)
    // kept; false when nothing is kept under `key`.
    bool restore(const std::string& key) {
        if (o_.system == "postgresql") {
            std::ifstream marker(o_.keep_filled / (key + pg_marker));
            std::string name;
            if (!std::getline(marker, name) || name.empty()) return false;
            bench::pg_restore(o_.pg, name);
            return true;
        }
        const fs::path copy = o_.keep_filled / key;
        if (!fs::is_directory(copy)) return false;
        fs::remove_all(dir_);
        copy_store(copy, dir_);
        return true;
    }

    // Drops every copy under --keep-filled (the PostgreSQL databases it
    // names too) and removes the folder.
    void forget_filled() const {
        if (!fs::is_directory(o_.keep_filled)) return;
        for (const auto& entry : fs::directory_iterator(o_.keep_filled)) {
            if (entry.path().extension() != pg_marker) continue;
            if (o_.pg.empty()) {
                throw std::runtime_error(fmt::format("{} names a PostgreSQL copy: --forget-filled needs "
                                                     "--system postgresql --pg CONNINFO",
                                                     entry.path().string()));
            }
            std::ifstream marker(entry.path());
            std::string name;
            if (std::getline(marker, name) && !name.empty()) bench::pg_forget(o_.pg, name);
            fs::remove(entry.path());
        }
        fs::remove_all(o_.keep_filled);
    }

    ~system_under_test() { remove(); }

private:
    static constexpr const char* pg_marker = ".postgresql";

    static std::string pg_copy_name(std::string key) {
        std::replace(key.begin(), key.end(), '-', '_');
        return "regledger_filled_" + key;
    }

    // A copy of a closed store's folder: the table files (*.sst), which
    // RocksDB never changes once written, as hard links; the rest copied.
    static void copy_store(const fs::path& from, const fs::path& to) {
        fs::create_directories(to);
        for (const auto& entry : fs::recursive_directory_iterator(from)) {
            const fs::path target = to / fs::relative(entry.path(), from);
            if (entry.is_directory()) {
                fs::create_directories(target);
            } else if (entry.path().extension() == ".sst") {
                fs::create_hard_link(entry.path(), target);
            } else {
                fs::copy_file(entry.path(), target);
            }
        }
    }

    const options& o_;
    fs::path dir_;
    std::string topic_;
};

// ---- feeding and checking ------------------------------------------------------------------

// Clients of the filling driver: enough in flight for large batches (a
// transaction each on Kafka), few enough for PostgreSQL's default connection
// limit.
std::size_t fill_clients(const options& o) { return o.system == "postgresql" ? 32 : 128; }
// The most commands a closed loop is expected to take per second on any of
// the systems: what is generated ahead of a measurement of that many seconds.
constexpr double closed_loop_per_s_max = 50'000;

// Exits 1 unless every command of `r` was applied, as the workload expects.
void require_agreement(const bench::run_report& r, std::string_view what) {
    if (r.rejected == 0 && r.unavailable == 0 && r.applied == r.commands) return;
    fmt::print(stderr,
               "compare_bench: {}: the system disagreed with the workload: {} commands, {} applied, {} rejected, "
               "{} unavailable\n",
               what, r.commands, r.applied, r.rejected, r.unavailable);
    for (const auto& m : r.first_rejections) fmt::print(stderr, "  {}\n", m);
    std::exit(1);
}

std::function<void(const bench::run_progress&)> progress_printer(std::string what) {
    return [what](const bench::run_progress& p) {
        fmt::print("    {}: {:5.1f} s, {} commands ({}/s), virtual {}\n", what, p.seconds, grouped(p.commands),
                   grouped(static_cast<double>(p.commands) / std::max(p.seconds, 1e-9)),
                   p.at.shanghai_date().to_string());
        std::fflush(stdout);
    };
}

bench::workload_options workload_for(const options& o, std::size_t registrations) {
    bench::workload_options wo;
    wo.registrations = registrations;
    wo.seed = o.seed;
    return wo;
}

// A point's workload and where the drivers are in it.
struct feed {
    explicit feed(const bench::workload_options& wo) : w(wo), cursor(w) {}
    bench::workload w;
    bench::feed_cursor cursor;
};

// Where a filling stops by default: the first tick after the intake period.
instant intake_end(const bench::workload& w) {
    return instant::start_of_day(bench::intake_days(w.options()).back().plus_days(1));
}

// Fills the store of the last reset() without durability: --fill-commands
// commands, or every tick up to the end of the intake period, or the ticks
// holding `events_max` more events.
bench::run_report fill(const options& o, const system_under_test& sut, feed& f,
                       std::optional<std::uint64_t> events_max = {}) {
    bench::run_limits limits;
    if (events_max) {
        limits.events_max = *events_max;
    } else if (o.fill_commands) {
        limits.commands_max = *o.fill_commands;
    } else {
        limits.ticks_before = intake_end(f.w);
    }
    limits.progress = progress_printer("filling");
    bench::run_report r;
    {
        auto t = sut.open(bench::durability::not_durable, f.w.start());
        bench::driver d(f.cursor, *t, fill_clients(o));
        r = d.run(limits);
    }
    require_agreement(r, "filling");
    // What the filling target freed goes back to the system, so that the
    // memory of the measured target is its own.
    ::malloc_trim(0);
    fmt::print("  filled (not durable): {} commands, {} events in {:.1f} s; {} registrations\n", grouped(r.commands),
               grouped(r.events), r.seconds, grouped(f.cursor.registrations().size()));
    return r;
}

// fill(), or with --keep-filled a copy of the store an earlier fill of the
// same workload kept (the first fill keeps one).
void fill_or_restore(const options& o, system_under_test& sut, feed& f) {
    if (!sut.keeps_filled() || o.fill_commands) {
        fill(o, sut, f);
        return;
    }
    const std::string key = fmt::format("{}-{}-{}", o.system, f.w.options().registrations, o.seed);
    const auto started = steady::now();
    if (sut.restore(key)) {
        const bench::run_counts taken = f.cursor.skip_until(intake_end(f.w));
        fmt::print("  restored the store an earlier point filled ({} commands, {} events) in {:.1f} s; "
                   "{} registrations\n",
                   grouped(taken.commands), grouped(taken.events), seconds_since(started),
                   grouped(f.cursor.registrations().size()));
        return;
    }
    fill(o, sut, f);
    const auto kept = steady::now();
    sut.keep(key);
    fmt::print("  kept a copy of the filled store in {:.1f} s\n", seconds_since(kept));
}

// Generates the commands a measurement may take before it starts.
void prefetch(feed& f, double commands) {
    const auto started = steady::now();
    f.cursor.prefetch(static_cast<std::uint64_t>(commands));
    fmt::print("  generated ahead: {} commands in {:.1f} s\n", grouped(f.cursor.held_commands()),
               seconds_since(started));
}

void note_measurement(const bench::run_report& r, const feed& f, std::uint64_t generated_before, double seconds) {
    if (r.workload_over && r.seconds < seconds * 0.95) {
        fmt::print("  note: the workload ended after {:.1f} s of the {:.0f} s (more --registrations, or fewer "
                   "--fill-commands, give a longer run)\n",
                   r.seconds, seconds);
    }
    if (f.cursor.generated_on_demand() != generated_before) {
        fmt::print("  note: the run outran the commands generated ahead; the generator's time is in the figures\n");
    }
}

// ---- figures -----------------------------------------------------------------------------------

double cpu_us_per_command(const bench::run_report& r) {
    return r.cpu_s * 1e6 / static_cast<double>(std::max<std::uint64_t>(r.commands, 1));
}

struct command_point {
    bench::run_report report;
    double rss_mib = 0;
};

// One point of a command figure: an empty store, filled, then `clients`
// durable sessions for --seconds, closed loop or at `rate_per_s`.
command_point measure_commands(const options& o, system_under_test& sut, const std::string& point,
                               std::size_t registrations, std::size_t clients, std::optional<double> rate_per_s) {
    sut.reset(point);
    feed f(workload_for(o, registrations));
    fill_or_restore(o, sut, f);
    prefetch(f, (rate_per_s ? *rate_per_s * 1.05 : closed_loop_per_s_max) * o.seconds + 1'000);
    const std::uint64_t generated_before = f.cursor.generated_on_demand();

    command_point p;
    auto t = sut.open(bench::durability::durable, f.w.start());
    fmt::print("  measuring: {}, {} client{}{}, {:.0f} s\n", t->name(), clients, clients == 1 ? "" : "s",
               rate_per_s ? fmt::format(", {} commands/s due", grouped(*rate_per_s)) : std::string(", closed loop"),
               o.seconds);
    std::fflush(stdout);
    {
        bench::driver d(f.cursor, *t, clients);
        bench::run_limits limits;
        limits.duration_max = std::chrono::duration<double>(o.seconds);
        limits.progress = progress_printer("measuring");
        p.report = rate_per_s ? d.run_at_rate(*rate_per_s, limits) : d.run(limits);
    }
    p.rss_mib = mib(t->resident_bytes());
    const double process_mib = mib(bench::process_resident_bytes());
    t.reset();
    sut.remove();
    require_agreement(p.report, point);
    note_measurement(p.report, f, generated_before, o.seconds);
    const auto& r = p.report;
    fmt::print("  {}: {} commands in {:.2f} s = {} commands/s; latency p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms; "
               "process CPU {:.1f} us per command; resident {:.0f} MiB (this process: {:.0f} MiB)\n",
               point, grouped(r.commands), r.seconds, grouped(r.per_second()), r.percentile_ms(0.5),
               r.percentile_ms(0.99), r.percentile_ms(1.0),
               cpu_us_per_command(r), p.rss_mib, process_mib);
    std::fflush(stdout);
    return p;
}

void figure_throughput(const options& o, system_under_test& sut, figure_file& out) {
    const auto n = static_cast<std::size_t>(o.registrations.front());
    fmt::print("== throughput: {}, {} registrations, clients {} ==\n", o.system, grouped(n),
               fmt::join(o.clients, ","));
    for (const double k : o.clients) {
        const auto p =
            measure_commands(o, sut, fmt::format("clients-{}", k), n, static_cast<std::size_t>(k), std::nullopt);
        out.put("throughput", o.system, k, "commands_per_s", p.report.per_second());
        out.put("throughput", o.system, k, "p50_ms", p.report.percentile_ms(0.5));
        out.put("throughput", o.system, k, "p99_ms", p.report.percentile_ms(0.99));
        out.put("throughput", o.system, k, "cpu_us_per_command", cpu_us_per_command(p.report));
        out.put("throughput", o.system, k, "rss_mib", p.rss_mib);
    }
}

void figure_latency(const options& o, system_under_test& sut, figure_file& out) {
    const auto n = static_cast<std::size_t>(o.registrations.front());
    const auto clients = static_cast<std::size_t>(o.clients.front());
    fmt::print("== latency: {}, {} registrations, {} clients, rates {} commands/s ==\n", o.system,
               grouped(n), clients, fmt::join(o.rates, ","));
    for (const double rate : o.rates) {
        const auto p = measure_commands(o, sut, fmt::format("rate-{}", rate), n, clients, rate);
        out.put("latency", o.system, rate, "p50_ms", p.report.percentile_ms(0.5));
        out.put("latency", o.system, rate, "p99_ms", p.report.percentile_ms(0.99));
        out.put("latency", o.system, rate, "achieved_per_s", p.report.per_second());
    }
}

void figure_registrations(const options& o, system_under_test& sut, figure_file& out) {
    const auto clients = static_cast<std::size_t>(o.clients.front());
    fmt::print("== registrations: {}, {} clients, registrations {} ==\n", o.system, clients,
               fmt::join(o.registrations, ","));
    for (const double n : o.registrations) {
        const auto p = measure_commands(o, sut, fmt::format("registrations-{}", n), static_cast<std::size_t>(n),
                                        clients, std::nullopt);
        out.put("registrations", o.system, n, "commands_per_s", p.report.per_second());
        out.put("registrations", o.system, n, "p99_ms", p.report.percentile_ms(0.99));
    }
}

// One store, filled once; then for each --clients a driver of point queries.
void figure_query(const options& o, system_under_test& sut, figure_file& out) {
    const auto n = static_cast<std::size_t>(o.registrations.front());
    fmt::print("== query: {}, {} registrations, clients {} ==\n", o.system, grouped(n),
               fmt::join(o.clients, ","));
    sut.reset("query");
    feed f(workload_for(o, n));
    fill_or_restore(o, sut, f);
    if (f.cursor.registrations().empty()) {
        fmt::print(stderr, "compare_bench: the filling created no registration to query\n");
        std::exit(1);
    }
    auto t = sut.open(bench::durability::durable, f.w.start());
    for (const double k : o.clients) {
        bench::run_report r;
        {
            bench::driver d(f.cursor, *t, static_cast<std::size_t>(k));
            r = d.query(std::chrono::duration<double>(o.seconds), o.seed);
        }
        if (r.rejected != 0 || r.commands == 0) {
            fmt::print(stderr, "compare_bench: query, {} clients: {} of {} registrations not found\n", k, r.rejected,
                       r.commands);
            for (const auto& m : r.first_rejections) fmt::print(stderr, "  {}\n", m);
            std::exit(1);
        }
        fmt::print("  clients-{}: {} queries in {:.2f} s = {} requests/s; latency p50 {:.3f} ms, p99 {:.3f} ms; "
                   "process CPU {:.1f} us per query\n",
                   k, grouped(r.commands), r.seconds, grouped(r.per_second()), r.percentile_ms(0.5),
                   r.percentile_ms(0.99), cpu_us_per_command(r));
        std::fflush(stdout);
        out.put("query", o.system, k, "requests_per_s", r.per_second());
        out.put("query", o.system, k, "p50_ms", r.percentile_ms(0.5));
        out.put("query", o.system, k, "p99_ms", r.percentile_ms(0.99));
    }
    t.reset();
    sut.remove();
}

// The registrations a workload needs for `events` events, from a small
// sample of it (larger workloads have a few fewer events per registration:
// the margin covers it; the fill stops at `events`).
std::size_t registrations_for_events(const options& o, double events) {
    const std::size_t sample_registrations = events < 20'000 ? 200 : 2'000;
    bench::workload sample(workload_for(o, sample_registrations));
    while (sample.next_tick()) {
    }
    const double per_registration =
        static_cast<double>(sample.totals().events) / static_cast<double>(sample_registrations);
    return static_cast<std::size_t>(std::ceil(events / per_registration * 1.1)) + 10;
}

// PostgreSQL's history for the rebuild figure: the events the workload
// recorded for its next ticks, up to `events_max` more, written to
// audit_log with COPY instead of by running their commands (what the
// rebuild reads is the same; the bench test "the history loaded with COPY
// is the one the commands write" holds it to that). Running them would take
// the baseline minutes per million events.
std::uint64_t load_pg_history(const options& o, feed& f, std::uint64_t events_max) {
    const auto started = steady::now();
    std::uint64_t commands = 0;
    std::uint64_t events = 0;
    std::vector<bench::tick> batch;
    std::uint64_t batch_events = 0;
    auto flush = [&] {
        bench::pg_append_history(o.pg, batch);
        batch.clear();
        batch_events = 0;
        fmt::print("    loading: {:5.1f} s, {} events\n", seconds_since(started), grouped(events));
        std::fflush(stdout);
    };
    while (events < events_max) {
        std::optional<bench::tick> t = f.cursor.next();
        if (!t) break;
        for (const command_envelope& c : t->commands) f.cursor.applied(c);
        commands += t->commands.size();
        events += t->events;
        batch_events += t->events;
        batch.push_back(std::move(*t));
        if (batch_events >= 100'000) flush();
    }
    if (!batch.empty()) flush();
    fmt::print("  loaded into audit_log with COPY: {} events of {} commands in {:.1f} s\n", grouped(events),
               grouped(commands), seconds_since(started));
    return events;
}

// One history, growing: the workload sized for the most --events, filled
// up to each size in turn (ascending) and rebuilt there. A smaller history
// is the beginning of the larger one, as a ledger's history grows.
void figure_rebuild(const options& o, system_under_test& sut, figure_file& out) {
    std::vector<double> sizes = o.events;
    std::sort(sizes.begin(), sizes.end());
    sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
    fmt::print("== rebuild: {}, events {} ==\n", o.system, fmt::join(sizes, ","));
    sut.reset("rebuild");
    const bool postgresql = o.system == "postgresql";
    bench::workload_options wo = workload_for(o, registrations_for_events(o, sizes.back()));
    wo.record_events = postgresql;
    feed f(wo);
    std::uint64_t filled = 0;
    for (const double events : sizes) {
        const auto size = static_cast<std::uint64_t>(events);
        if (size > filled) {
            filled += postgresql ? load_pg_history(o, f, size - filled) : fill(o, sut, f, size - filled).events;
        }
        const auto [read, seconds] = sut.rebuild();
        fmt::print("  events-{}: rebuilt from {} events in {:.2f} s = {} events/s\n", events,
                   grouped(read), seconds, grouped(static_cast<double>(read) / seconds));
        std::fflush(stdout);
        out.put("rebuild", o.system, events, "seconds", seconds);
        out.put("rebuild", o.system, events, "events_per_s", static_cast<double>(read) / seconds);
    }
    sut.remove();
}

void run_figure(const options& o, const std::string& figure, figure_file& out) {
    system_under_test sut(o);
    const auto started = steady::now();
    if (figure == "throughput") figure_throughput(o, sut, out);
    if (figure == "latency") figure_latency(o, sut, out);
    if (figure == "query") figure_query(o, sut, out);
    if (figure == "registrations") figure_registrations(o, sut, out);
    if (figure == "rebuild") figure_rebuild(o, sut, out);
    fmt::print("== {} on {}: done in {:.1f} s ==\n", figure, o.system, seconds_since(started));
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    options o = parse(argc, argv);
    if (o.forget_filled) {
        try {
            system_under_test(o).forget_filled();
        } catch (const std::exception& e) {
            fmt::print(stderr, "compare_bench: {}\n", e.what());
            return 1;
        }
        return 0;
    }
    const bool own_work_dir = o.work_dir.empty();
    if (own_work_dir) o.work_dir = fs::temp_directory_path() / fmt::format("compare-bench-{}", ::getpid());
    std::error_code ec;
    fs::create_directories(o.work_dir, ec);
    if (ec) {
        fmt::print(stderr, "compare_bench: cannot create {}: {}\n", o.work_dir.string(), ec.message());
        return 1;
    }
    figure_file out(o, argc, argv);
    try {
        if (o.quick && o.figure.empty()) {
            for (const std::string_view figure : figures) {
                if (figure == "rebuild" && o.system == "regledger-kafka") continue;
                run_figure(o, std::string(figure), out);
            }
        } else {
            run_figure(o, o.figure, out);
        }
    } catch (const std::exception& e) {
        // The PostgreSQL target reports what the server refused this way.
        fmt::print(stderr, "compare_bench: {}\n", e.what());
        return 1;
    }
    if (own_work_dir) fs::remove_all(o.work_dir, ec);
    return 0;
}
