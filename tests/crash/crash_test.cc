// Crash safety with real processes (README.md): a ledger under load is killed
// with SIGKILL at random moments, and what the next start finds is checked
// against what the killed process acknowledged and against the log itself.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <unordered_map>

#include <rocksdb/db.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "events/log_verify.h"
#include "projections/keys.h"
#include "tests/crash/crash_world.h"
#include "tests/projections/ledger_fixture.h"

extern char** environ;

namespace {

using namespace regledger;
using regledger::testing::at;
using regledger::testing::temp_dir;
using kind = projections::command_outcome::kind;
namespace fs = std::filesystem;

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// ---- The child process -------------------------------------------------------

struct child_run {
    std::vector<std::string> lines;
    // Bytes after the last '\n' (a torn line; there must be none).
    std::string partial;
    bool ready = false;
    int status = 0;
    std::string stderr_text;
};

// When the child is killed: `delay` after it wrote READY, or after it was
// started (which may fall while it opens the directory or seeds accounts).
enum class kill_from { ready, start };

// The child's environment: ours, with LeakSanitizer off (a killed process has
// no chance to free anything, and one that exits on its own is judged by its
// status, not by leaks).
std::vector<std::string> child_environment() {
    std::vector<std::string> env;
    std::string asan = "ASAN_OPTIONS=detect_leaks=0";
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string_view v(*e);
        if (v.starts_with("ASAN_OPTIONS=")) {
            asan = std::string(v) + ":detect_leaks=0";
        } else {
            env.emplace_back(v);
        }
    }
    env.push_back(std::move(asan));
    return env;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Starts crash_child on `data` and, unless it ends on its own first, kills it
// with SIGKILL `delay` after `from`; returns everything it wrote.
child_run run_child(const fs::path& data, const fs::path& stderr_file, std::uint64_t seed, instant start,
                    std::chrono::milliseconds delay, kill_from from) {
    using steady = std::chrono::steady_clock;
    // Everything the child needs is built before fork(): after it, the child
    // only calls async-signal-safe functions.
    const std::vector<std::string> args{REGLEDGER_CRASH_CHILD, data.string(), std::to_string(seed),
                                        start.to_string()};
    const std::vector<std::string> env = child_environment();
    std::vector<char*> argv, envp;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    const int err = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(err >= 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (::dup2(out[1], STDOUT_FILENO) < 0 || ::dup2(err, STDERR_FILENO) < 0) ::_exit(126);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(out[1]);
    ::close(err);

    child_run run;
    std::string buffer;
    auto take_lines = [&] {
        std::size_t from_pos = 0;
        for (std::size_t nl; (nl = buffer.find('\n', from_pos)) != std::string::npos; from_pos = nl + 1) {
            run.lines.push_back(buffer.substr(from_pos, nl - from_pos));
        }
        buffer.erase(0, from_pos);
    };
    const auto started = steady::now();
    // Opening a large directory under a sanitizer is slow, but not this slow.
    const auto ready_deadline = started + std::chrono::seconds(120);
    std::optional<steady::time_point> kill_at;
    if (from == kill_from::start) kill_at = started + delay;
    bool ended = false;
    char chunk[65536];
    for (;;) {
        const auto now = steady::now();
        const auto until = kill_at ? *kill_at : ready_deadline;
        if (now >= until) break;
        pollfd p{out[0], POLLIN, 0};
        const auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1;
        if (::poll(&p, 1, static_cast<int>(wait_ms)) <= 0) continue;
        const ssize_t n = ::read(out[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ended = true;  // the child closed its output: it ended on its own
            break;
        }
        buffer.append(chunk, static_cast<std::size_t>(n));
        const std::size_t before = run.lines.size();
        take_lines();
        for (std::size_t i = before; i < run.lines.size() && !run.ready; ++i) {
            if (run.lines[i] == "READY") {
                run.ready = true;
                if (!kill_at) kill_at = steady::now() + delay;
            }
        }
    }
    if (!ended) ::kill(pid, SIGKILL);
    for (;;) {
        const ssize_t n = ::read(out[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        buffer.append(chunk, static_cast<std::size_t>(n));
    }
    take_lines();
    run.partial = buffer;
    ::close(out[0]);
    while (::waitpid(pid, &run.status, 0) < 0 && errno == EINTR) {
    }
    for (const auto& line : run.lines) run.ready = run.ready || line == "READY";
    run.stderr_text = read_file(stderr_file);
    return run;
}

std::string describe_status(int status) {
    if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
    if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
    return fmt::format("status {}", status);
}

// ---- The ledger as the parent opens it ---------------------------------------

class parent_ledger {
public:
    parent_ledger(const fs::path& data, projections::manual_clock& clock, const institution_directory& inst)
        : clock_(clock) {
        projections::ledger_options o;
        o.data_dir = data;
        auto l = projections::ledger::open_embedded(o, clock, crash::context(inst));
        REQUIRE_MESSAGE(l.has_value(), (l ? std::string() : l.error().message));
        ledger_ = std::move(l).value();
        scheduler_ = std::make_unique<projections::scheduler>(ledger_->writes(), ledger_->reads(), clock);
    }
    ~parent_ledger() {
        scheduler_.reset();
        ledger_.reset();
    }
    projections::ledger& ledger() { return *ledger_; }
    projections::read_model& reads() { return ledger_->reads(); }
    projections::scheduler& scheduler() { return *scheduler_; }
    instant now() const { return clock_.now(); }

private:
    projections::manual_clock& clock_;
    std::unique_ptr<projections::ledger> ledger_;
    std::unique_ptr<projections::scheduler> scheduler_;
};

// ---- What the log alone says ---------------------------------------------------

// An event of a command, where the log holds it.
struct placed_event {
    stream_id stream;
    std::uint64_t version = 0;
    std::int64_t offset = 0;
    std::string_view type;
};

// The log folded without the read models: the oracle the projections are
// compared with.
struct log_model {
    std::int64_t records = 0;
    std::unordered_map<std::string, std::vector<placed_event>> by_command;
    std::map<stream_id, registration_state> registrations;
    std::map<stream_id, account_state> accounts;
    std::map<stream_id, projections::stream_head> heads;
    std::map<std::string_view, std::uint64_t> event_counts;
    // One key per timeout fact (stream, kind, the deadline it is about): each
    // may be recorded once at most, however often the ledger restarted.
    std::map<std::string, int> timeout_facts;
};

std::optional<std::string> timeout_fact(const stream_id& stream, const event& e) {
    auto key = [&](std::string_view kind, std::string_view app, calendar_date d) {
        return fmt::format("{} {} {} {}", stream.value(), kind, app, d.to_string());
    };
    if (const auto* x = std::get_if<acceptance_overdue>(&e)) {
        return key("acceptance", x->application_id.value(), x->acceptance_due);
    }
    if (const auto* x = std::get_if<review_overdue>(&e)) return key("review", x->application_id.value(), x->review_due);
    if (const auto* x = std::get_if<publicity_ended>(&e)) {
        return key("publicity", x->application_id.value(), x->publicity_end);
    }
    if (const auto* x = std::get_if<renewal_window_opened>(&e)) {
        return key("renewal_window", "", x->renewal_window_opens);
    }
    if (const auto* x = std::get_if<validity_expired>(&e)) return key("validity", "", x->valid_until);
    return std::nullopt;
}

std::string_view timeout_event_of(timer_kind k) {
    switch (k) {
        case timer_kind::acceptance: return acceptance_overdue::type_name;
        case timer_kind::review: return review_overdue::type_name;
        case timer_kind::publicity: return publicity_ended::type_name;
        case timer_kind::renewal_window: return renewal_window_opened::type_name;
        case timer_kind::validity: return validity_expired::type_name;
    }
    return "unknown";
}

// Bytes as text, with everything outside printable ASCII as \xNN.
std::string printable(std::string_view bytes) {
    std::string out;
    for (const char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        out += u >= 0x20 && u < 0x7f ? std::string(1, c) : fmt::format("\\x{:02x}", u);
    }
    return out;
}

// The first row where two sorted key-value sequences differ, for a failure
// message; empty when they are equal.
template <typename Rows>
std::string first_difference(const Rows& got, const Rows& want) {
    auto g = got.begin();
    auto w = want.begin();
    for (; g != got.end() && w != want.end(); ++g, ++w) {
        if (g->first != w->first) {
            return g->first < w->first ? fmt::format("unexpected row {} = {}", printable(g->first), printable(g->second))
                                       : fmt::format("missing row {} = {}", printable(w->first), printable(w->second));
        }
        if (g->second != w->second) {
            return fmt::format("row {}: {} where {} was expected", printable(g->first), printable(g->second),
                               printable(w->second));
        }
    }
    if (g != got.end()) return fmt::format("unexpected row {} = {}", printable(g->first), printable(g->second));
    if (w != want.end()) return fmt::format("missing row {} = {}", printable(w->first), printable(w->second));
    return {};
}

// CHECK and REQUIRE for conditions inside loops over thousands of items:
// doctest sees them only when they fail, so passing rounds stay fast.
#define EXPECT(cond)              \
    do {                          \
        if (!(cond)) CHECK(cond); \
    } while (false)
#define ENSURE(cond)                \
    do {                            \
        if (!(cond)) REQUIRE(cond); \
    } while (false)

// Folds the records the model has not seen yet (all of them, for a new
// model), checking offsets, versions and chain links on the way.
void extend(log_model& m, projections::ledger& l) {
    const partition_id partition(0);
    const auto end = l.log().end(partition);
    REQUIRE(end.has_value());
    std::int64_t next = m.records;
    while (next < end.value().value()) {
        const auto records = l.log().read({partition, log_offset(next)}, 4096);
        REQUIRE(records.has_value());
        REQUIRE_FALSE(records.value().empty());
        for (const auto& r : records.value()) {
            ENSURE(r.position.offset.value() == next);
            auto decoded = events::decode(r.value);
            ENSURE(decoded.has_value());
            const event_record& rec = decoded.value();
            const envelope& env = rec.envelope;
            auto& head = m.heads[env.stream_id];
            CAPTURE(env.event_id.value());
            ENSURE(env.version.value() == head.version.value() + 1);
            ENSURE(env.prev_hash == head.hash);
            head = {env.version, env.hash};
            if (env.stream_id.value().starts_with("reg-")) {
                auto& s = m.registrations[env.stream_id];
                s = evolve(std::move(s), rec.event);
            } else {
                auto& s = m.accounts[env.stream_id];
                s = evolve(std::move(s), rec.event);
            }
            const auto type = type_name_of(rec.event);
            ++m.event_counts[type];
            m.by_command[env.command_id.value()].push_back({env.stream_id, env.version.value(), next, type});
            if (auto fact = timeout_fact(env.stream_id, rec.event)) {
                if (++m.timeout_facts[*fact] > 1) FAIL_CHECK("a timeout was recorded twice: ", *fact);
            }
            ++next;
        }
    }
    m.records = next;
}

// events::verify_log over the whole log agrees with the model.
void check_verified(projections::ledger& l, const log_model& m) {
    const auto verified = events::verify_log(l.log(), {});
    REQUIRE_MESSAGE(verified.has_value(), (verified ? std::string() : verified.error().what));
    CHECK(verified.value().records == static_cast<std::uint64_t>(m.records));
    REQUIRE(verified.value().heads.size() == m.heads.size());
    std::size_t differ = 0;
    for (const auto& [stream, head] : m.heads) {
        const auto it = verified.value().heads.find(stream);
        if (it == verified.value().heads.end() || it->second.first != head.version || it->second.second != head.hash) {
            ++differ;
        }
    }
    CHECK(differ == 0);
}


using ack_map = std::map<std::string, crash::ack>;

// Every projection the log determines row for row, and every outcome, checked
// against the log; every acknowledged command found exactly once.
void check_against_log(parent_ledger& p, const log_model& m, const ack_map& all_acks, const ack_map& round_acks) {
    auto& reads = p.reads();
    CHECK(reads.checkpoint(partition_id(0)).value() == m.records);

    // Stream heads.
    CHECK(reads.dump(projections::cf::streams).size() == m.heads.size());
    for (const auto& [stream, head] : m.heads) {
        CAPTURE(stream.value());
        const auto stored = reads.head_of(stream);
        ENSURE(stored.has_value());
        EXPECT(stored->version == head.version);
        EXPECT(stored->hash == head.hash);
    }

    // Each command's events: one stream, consecutive versions and offsets.
    for (const auto& [id, placed] : m.by_command) {
        CAPTURE(id);
        for (std::size_t i = 1; i < placed.size(); ++i) {
            EXPECT(placed[i].stream == placed[0].stream);
            EXPECT(placed[i].version == placed[0].version + i);
            EXPECT(placed[i].offset == placed[0].offset + static_cast<std::int64_t>(i));
        }
    }

    // The outcomes: every command of the log has its applied outcome, with
    // exactly its events; no outcome claims events the log does not have.
    std::unordered_map<std::string, projections::stored_outcome> outcomes;
    for (const auto& [key, value] : reads.dump(projections::cf::commands)) {
        auto o = projections::decode_outcome(value);
        CAPTURE(key);
        ENSURE(o.has_value());
        outcomes.emplace(key, std::move(*o));
    }
    for (const auto& [id, placed] : m.by_command) {
        CAPTURE(id);
        const auto it = outcomes.find(id);
        // A command in the log has an outcome.
        ENSURE(it != outcomes.end());
        const auto& o = it->second;
        EXPECT(o.ok);
        EXPECT(o.stream == placed.front().stream);
        EXPECT(o.from_version == placed.front().version);
        EXPECT(o.to_version == placed.back().version);
        ENSURE(o.positions.size() == placed.size());
        for (std::size_t i = 0; i < placed.size(); ++i) EXPECT(o.positions[i].offset.value() == placed[i].offset);
    }
    for (const auto& [id, o] : outcomes) {
        if (m.by_command.contains(id)) continue;
        CAPTURE(id);
        if (o.ok) {
            // Applied without events (a timeout no longer relevant, a repeated
            // objection): the stream was at to_version then.
            EXPECT(o.from_version == o.to_version + 1);
            EXPECT(o.positions.empty());
            const auto head = m.heads.find(o.stream);
            if (o.to_version > 0) {
                ENSURE(head != m.heads.end());
                EXPECT(o.to_version <= head->second.version.value());
            }
        }
    }

    // The acknowledged commands, from every round so far.
    for (const auto& [id, a] : all_acks) {
        CAPTURE(id);
        const auto it = outcomes.find(id);
        // An acknowledged command is never lost.
        ENSURE(it != outcomes.end());
        const auto& o = it->second;
        ENSURE(o.ok == a.applied);
        if (!a.applied) {
            EXPECT(!m.by_command.contains(id));
            continue;
        }
        EXPECT(o.stream.value() == a.stream);
        EXPECT(o.to_version == a.version);
        if (const auto placed = m.by_command.find(id); placed != m.by_command.end()) {
            EXPECT(placed->second.back().version == a.version);
            EXPECT(placed->second.back().stream.value() == a.stream);
        }
    }
    // This round's: in the stream's history, at the acknowledged version,
    // under that command id.
    for (const auto& [id, a] : round_acks) {
        if (!a.applied || !m.by_command.contains(id)) continue;
        CAPTURE(id);
        const auto value = reads.stored_event(stream_id(a.stream), stream_version(a.version));
        ENSURE(value.has_value());
        const auto rec = events::decode(*value);
        ENSURE(rec.has_value());
        EXPECT(rec.value().envelope.command_id.value() == id);
        EXPECT(rec.value().envelope.version.value() == a.version);
    }

    // The timers: exactly the deadlines the streams have pending.
    std::map<std::string, std::string> expected_timers;
    for (const auto& [stream, state] : m.registrations) {
        for (const timer& t : pending_timers(state)) {
            expected_timers.emplace(projections::timer_key(t.due, stream, static_cast<std::uint8_t>(t.kind)),
                                    projections::encode_timer_value(t));
        }
    }
    const auto rows = reads.dump(projections::cf::timers);
    const std::map<std::string, std::string> timers(rows.begin(), rows.end());
    CHECK(timers.size() == expected_timers.size());
    CHECK_MESSAGE(timers == expected_timers, first_difference(timers, expected_timers));
}

struct due_timer {
    command_id id;
    timer_kind kind;
};

std::vector<due_timer> due_timers(const log_model& m, instant now) {
    std::vector<due_timer> due;
    for (const auto& [stream, state] : m.registrations) {
        for (const timer& t : pending_timers(state)) {
            if (t.due <= now) due.push_back({timer_command_id(stream, t.kind, t.due), t.kind});
        }
    }
    return due;
}

using family_rows = std::map<std::string_view, std::vector<std::pair<std::string, std::string>>>;

family_rows dump_all(projections::read_model& reads) {
    family_rows rows;
    for (auto family : projections::ledger::embedded_families()) rows[family] = reads.dump(family);
    return rows;
}

// Appends the ACK lines of a run to `round`, checking that a command
// acknowledged twice (a retry) was answered the same both times.
void collect_acks(const child_run& run, ack_map& round) {
    std::size_t malformed = 0;
    for (const auto& line : run.lines) {
        if (line == "READY") continue;
        const auto a = crash::parse_ack(line);
        if (!a) {
            ++malformed;
            continue;
        }
        const auto [it, first] = round.emplace(a->command, *a);
        if (!first) {
            CAPTURE(line);
            CHECK_MESSAGE(it->second == *a, "a retried command was answered differently");
        }
    }
    CHECK(malformed == 0);
    CHECK_MESSAGE(run.partial.empty(), "a torn ACK line: ", run.partial);
}

}  // namespace

TEST_CASE("SIGKILL at random moments: no acknowledged command is lost, and deadlines due meanwhile fire once") {
    const std::uint64_t base_seed = env_or("REGLEDGER_CRASH_SEED", 20260302);
    const std::uint64_t rounds = env_or("REGLEDGER_CRASH_ROUNDS", 25);
    const std::uint64_t rebuild_every = 5;
    MESSAGE("seed ", base_seed, ", ", rounds, " rounds (REGLEDGER_CRASH_SEED, REGLEDGER_CRASH_ROUNDS)");
    std::mt19937_64 rng(base_seed);

    temp_dir dir;
    const fs::path data = dir.path() / "data";
    const institution_directory institutions = crash::institutions();
    projections::manual_clock clock(at("2026-03-02T09:00:00+08:00"));
    ack_map all_acks;
    std::uint64_t killed_before_ready = 0, timers_fired = 0, rebuilds = 0;
    log_model last;

    for (std::uint64_t round = 0; round < rounds; ++round) {
        CAPTURE(round);
        // Most kills fall while commands flow; every sixth may fall while the
        // child opens the directory or seeds the accounts.
        const bool early = round % 6 == 5;
        const auto delay = std::chrono::milliseconds(early ? 5 + rng() % 60 : 20 + rng() % 281);
        const std::uint64_t seed = base_seed * 1000 + round;
        const child_run run = run_child(data, dir.path() / "child.err", seed, clock.now(), delay,
                                        early ? kill_from::start : kill_from::ready);
        INFO("child stderr: ", run.stderr_text);
        REQUIRE_MESSAGE((WIFSIGNALED(run.status) && WTERMSIG(run.status) == SIGKILL),
                        "the child was not killed but ", describe_status(run.status));
        if (!early) REQUIRE(run.ready);
        if (!run.ready) ++killed_before_ready;
        ack_map round_acks;
        collect_acks(run, round_acks);
        for (const auto& [id, a] : round_acks) {
            const auto [it, first] = all_acks.emplace(id, a);
            if (!first) CHECK_MESSAGE(it->second == a, "command ", id, " was answered differently in two runs");
        }

        // Downtime: the clock moves on, so that deadlines fall due meanwhile.
        const auto downtime_days = static_cast<std::int64_t>(2 + rng() % 7);
        const auto downtime_hours = static_cast<std::int64_t>(rng() % 24);
        const std::int64_t downtime_us = downtime_days * us_per_day + downtime_hours * 3600 * us_per_second;
        REQUIRE(clock.set(clock.now().plus_us(downtime_us)).has_value());

        std::optional<parent_ledger> p;
        p.emplace(data, clock, institutions);
        // A fresh fold of the whole log every round: the oracle owes nothing
        // to the previous rounds.
        log_model m;
        extend(m, p->ledger());
        check_against_log(*p, m, all_acks, round_acks);

        // What fell due during the downtime fires once, after the restart.
        const auto due = due_timers(m, clock.now());
        const auto report = p->scheduler().fire_due();
        CHECK(report.unavailable == 0);
        CHECK(report.applied >= due.size());
        timers_fired += report.applied;
        extend(m, p->ledger());
        check_verified(p->ledger(), m);
        for (const auto& t : due) {
            CAPTURE(t.id.value());
            const auto o = p->reads().outcome_of(t.id);
            REQUIRE_MESSAGE(o.has_value(), "a timer due during the downtime did not fire");
            CHECK(o->ok);
            const auto placed = m.by_command.find(t.id.value());
            REQUIRE_MESSAGE(placed != m.by_command.end(), "a timer due during the downtime recorded nothing");
            CHECK(placed->second.front().type == timeout_event_of(t.kind));
        }
        CHECK(due_timers(m, clock.now()).empty());
        check_against_log(*p, m, all_acks, {});
        // Firing again finds nothing due and writes nothing.
        const auto again = p->scheduler().fire_due();
        CHECK(again.fired == 0);
        CHECK(p->ledger().log().end(partition_id(0)).value().value() == m.records);

        // The read models equal a rebuild from the log.
        if (round % rebuild_every == rebuild_every - 1 || round + 1 == rounds) {
            const family_rows live = dump_all(p->reads());
            p.reset();
            projections::rebuild_options o;
            o.data_dir = data;
            const auto rebuilt = projections::rebuild(o);
            REQUIRE_MESSAGE(rebuilt.has_value(), (rebuilt ? std::string() : rebuilt.error()));
            CHECK(rebuilt.value().records == static_cast<std::uint64_t>(m.records));
            p.emplace(data, clock, institutions);
            for (auto family : projections::ledger::embedded_families()) {
                CAPTURE(family);
                const auto rows = p->reads().dump(family);
                CHECK(rows.size() == live.at(family).size());
                CHECK_MESSAGE(rows == live.at(family), "rebuilt vs live: ", first_difference(rows, live.at(family)));
            }
            ++rebuilds;
        }
        p.reset();
        last = std::move(m);
    }

    std::string mix;
    for (const auto& [type, count] : last.event_counts) mix += fmt::format(" {}={}", type, count);
    MESSAGE(rounds, " rounds: ", all_acks.size(), " commands acknowledged, ", last.records, " records, ",
            timers_fired, " timeouts fired, ", rebuilds, " rebuilds compared, ", killed_before_ready,
            " kills before READY; events:", mix);
    // The rounds did real work: a mix of the procedure's steps, with timers.
    CHECK(all_acks.size() >= rounds * 20);
    if (rounds >= 10) {
        for (std::string_view type :
             {"ApplicationSubmitted", "ApplicationAccepted", "SupplementRequested", "MaterialsResubmitted",
              "ApplicationRejected", "ApplicationWithdrawn", "ReviewPassed", "PublicityStarted", "ObjectionFiled",
              "ObjectionDismissed", "PublicityEnded", "CodeIssued", "AcceptanceOverdue"}) {
            CAPTURE(type);
            CHECK(last.event_counts[type] > 0);
        }
    }
}

namespace {

// Opens the closed data directory with RocksDB alone and hands `use` the
// database and its `log` column family.
void with_raw_log(const fs::path& data,
                  const std::function<void(rocksdb::DB&, rocksdb::ColumnFamilyHandle*)>& use) {
    rocksdb::DBOptions options;
    std::vector<std::string> names;
    REQUIRE(rocksdb::DB::ListColumnFamilies(options, data.string(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    std::size_t log_index = names.size();
    for (std::size_t i = 0; i < names.size(); ++i) {
        descriptors.emplace_back(names[i], rocksdb::ColumnFamilyOptions());
        if (names[i] == events::embedded_log::column_family) log_index = i;
    }
    REQUIRE(log_index < names.size());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(options, data.string(), descriptors, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    use(*db, handles[log_index]);
    for (auto* h : handles) REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
    REQUIRE(db->Close().ok());
}

std::string read_log_record(const fs::path& data, std::int64_t offset) {
    std::string value;
    with_raw_log(data, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
        REQUIRE(db.Get(rocksdb::ReadOptions(), log, events::embedded_log::key_of(offset), &value).ok());
    });
    return value;
}

// Writes `value` as log record `offset`, or deletes the record.
void write_log_record(const fs::path& data, std::int64_t offset, const std::optional<std::string>& value) {
    with_raw_log(data, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
        rocksdb::WriteOptions sync;
        sync.sync = true;
        const std::string key = events::embedded_log::key_of(offset);
        REQUIRE((value ? db.Put(sync, log, key, *value) : db.Delete(sync, log, key)).ok());
    });
}

}  // namespace

TEST_CASE("A damaged log record is refused with its position, and the restored record opens again") {
    temp_dir dir;
    const fs::path data = dir.path() / "data";
    const institution_directory institutions = crash::institutions();
    projections::manual_clock clock(at("2026-03-02T09:00:00+08:00"));

    // A small ledger: the accounts and a few registrations; the target is the
    // submission of the third one, in the middle of the log.
    std::int64_t target = 0, records = 0;
    digest target_hash;
    const std::string target_name = "damage-target-data-name";
    const std::string target_command = "damage-target-command";
    {
        parent_ledger p(data, clock, institutions);
        for (auto cmd : crash::seed_commands()) REQUIRE(p.ledger().writes().execute(cmd).result_kind == kind::applied);
        for (int i = 0; i < 5; ++i) {
            submit_application c{application_id(fmt::format("app-{}", i)),
                                 application_kind::initial,
                                 registration_id(fmt::format("reg-{}", i)),
                                 institution_id("LN-SY"),
                                 {{"沈阳市公交集团", std::string(crash::uscc_a), applicant_role::lead}},
                                 testing::sample_record(i == 2 ? target_name : fmt::format("数据 {}", i)),
                                 testing::materials()};
            command_envelope env;
            env.command_id = command_id(i == 2 ? target_command : fmt::format("submit-{}", i));
            env.issued_by = crash::subject_of("acct-a");
            env.body = c;
            const auto o = p.ledger().writes().execute(env);
            REQUIRE(o.result_kind == kind::applied);
            if (i == 2) {
                target = o.positions.at(0).offset.value();
                target_hash = o.events.at(0).envelope.hash;
            }
            env.command_id = command_id(fmt::format("accept-{}", i));
            env.issued_by = crash::clerk_of(institution_id("LN-SY"));
            env.body = accept_application{application_id(fmt::format("app-{}", i))};
            REQUIRE(p.ledger().writes().execute(env).result_kind == kind::applied);
        }
        records = p.ledger().log().end(partition_id(0)).value().value();
    }
    REQUIRE(target > 0);
    REQUIRE(target + 1 < records);
    const std::string good = read_log_record(data, target);

    // Where in the record the byte is flipped: a field of the envelope, the
    // payload, or the stored hash itself.
    std::size_t at_byte = 0;
    const std::string hash_bytes(reinterpret_cast<const char*>(target_hash.value().data()), target_hash.value().size());
    SUBCASE("a byte of the command id in the envelope") { at_byte = good.find(target_command) + 3; }
    SUBCASE("a byte of the data name in the payload") { at_byte = good.find(target_name) + 5; }
    SUBCASE("a byte of the stored hash") { at_byte = good.find(hash_bytes) + 17; }
    REQUIRE(at_byte < good.size());
    REQUIRE(at_byte > 16);
    const std::string position = fmt::format("0:{}", target);

    std::string flipped = good;
    flipped[at_byte] = static_cast<char>(flipped[at_byte] ^ 0x01);
    write_log_record(data, target, flipped);
    {
        projections::ledger_options o;
        o.data_dir = data;
        const auto refused = projections::ledger::open_embedded(o, clock, crash::context(institutions));
        REQUIRE_FALSE(refused.has_value());
        REQUIRE(refused.error().position.has_value());
        CHECK(*refused.error().position == log_position{partition_id(0), log_offset(target)});
        CAPTURE(refused.error().message);
        CHECK(refused.error().message.find(position) != std::string::npos);
        CHECK(refused.error().message.find("refusing to serve") != std::string::npos);
    }
    // A real server process refuses it too, and says where.
    const child_run run =
        run_child(data, dir.path() / "child.err", 1, clock.now(), std::chrono::seconds(120), kill_from::start);
    CHECK_MESSAGE((WIFEXITED(run.status) && WEXITSTATUS(run.status) == 2), describe_status(run.status));
    CHECK_FALSE(run.ready);
    CHECK(run.lines.empty());
    CAPTURE(run.stderr_text);
    CHECK(run.stderr_text.find(position) != std::string::npos);

    // The restored byte: the ledger opens, whole, and serves.
    write_log_record(data, target, good);
    parent_ledger p(data, clock, institutions);
    const auto verified = events::verify_log(p.ledger().log(), {});
    REQUIRE(verified.has_value());
    CHECK(verified.value().records == static_cast<std::uint64_t>(records));
    command_envelope env;
    env.command_id = command_id("after-restore");
    env.issued_by = crash::clerk_of(institution_id("LN-SY"));
    env.body = pass_review{application_id("app-2")};
    CHECK(p.ledger().writes().execute(env).result_kind == kind::applied);
}

TEST_CASE("A missing log record is refused with its position") {
    temp_dir dir;
    const fs::path data = dir.path() / "data";
    const institution_directory institutions = crash::institutions();
    projections::manual_clock clock(at("2026-03-02T09:00:00+08:00"));
    {
        parent_ledger p(data, clock, institutions);
        for (auto cmd : crash::seed_commands()) REQUIRE(p.ledger().writes().execute(cmd).result_kind == kind::applied);
    }
    const std::string removed = read_log_record(data, 1);
    write_log_record(data, 1, std::nullopt);
    projections::ledger_options o;
    o.data_dir = data;
    const auto refused = projections::ledger::open_embedded(o, clock, crash::context(institutions));
    REQUIRE_FALSE(refused.has_value());
    REQUIRE(refused.error().position.has_value());
    CHECK(*refused.error().position == log_position{partition_id(0), log_offset(1)});
    CHECK(refused.error().message.find("0:1") != std::string::npos);
    write_log_record(data, 1, removed);
    CHECK(projections::ledger::open_embedded(o, clock, crash::context(institutions)).has_value());
}
