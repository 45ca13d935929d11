// driver: the same workload, at the same concurrency, against any system
// that takes registration commands (bench/README.md "Against PostgreSQL").
//
// A system under test is a `target`; it hands out `session`s, one per
// client, each used by one thread. The driver feeds the ticks of a
// bench::workload: before a tick it tells the target the tick's instant, then
// K client threads take the tick's commands (client k takes those whose
// ordering key % K == k, in tick order) and execute them one at a time, each
// waiting for its durable answer; the tick ends when every client is done.
// So at most K commands are in flight, on either system.
//
// Two ways to pace: closed loop (each client sends its next command as soon
// as the last is answered: the throughput at K clients) and a fixed arrival
// rate (commands are due at rate R in total, split evenly over the clients;
// latency is measured from the instant a command was due, so a stall is not
// hidden by the commands that could not be sent meanwhile).
//
// Durability is a target's own, chosen when it is opened: a store is filled
// before a measurement by a non-durable target (no fsync; PostgreSQL's
// synchronous_commit off), closed, and opened again durable; the workload
// goes on where the filling stopped, in a new driver. Where it stopped is a
// `feed_cursor`, which the caller owns and hands to each driver in turn.
//
// Thread-safety: a target's set_time() is called from the driver's thread
// between ticks; each session from one client thread. A feed_cursor and a
// driver belong to the thread that calls run(), run_at_rate() and query().
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/workload.h"
#include "engine/commands.h"
#include "engine/time.h"

namespace regledger::bench {

enum class answer { applied, rejected, unavailable };

class session {
public:
    virtual ~session() = default;
    // Executes one command and returns once its answer is durable.
    virtual answer execute(const command_envelope& command) = 0;
    // One point query: a registration by id (its current document). Returns
    // false when the system does not have it.
    virtual bool get_registration(const std::string& registration_id) = 0;
    // Why the last execute() did not answer `applied` (the system's own
    // words), for the message when a run disagrees with the workload; empty
    // when the target keeps no reason.
    virtual std::string last_failure() const { return {}; }
};

class target {
public:
    virtual ~target() = default;
    virtual std::string name() const = 0;
    // The instant the commands of the next tick are decided at.
    virtual void set_time(instant at) = 0;
    virtual std::unique_ptr<session> open_session() = 0;
    // Resident memory of the system under test, in bytes (the process, or
    // the database server's processes).
    virtual std::uint64_t resident_bytes() const = 0;
};

struct run_counts {
    std::uint64_t commands = 0;
    std::uint64_t events = 0;
};

// Where successive drivers are in one workload. A tick must be fed whole
// for the later ticks to stay valid, so when a limit stops a driver in the
// middle of a tick, the commands it did not send stay here and the next
// driver sends them first, at the same instant. The cursor also keeps the
// registrations the fed commands created, for the point queries, and can
// generate ticks ahead of time, so that a measurement does not pay for the
// generator (it runs each command through decide() and evolve()).
class feed_cursor {
public:
    explicit feed_cursor(workload& w);
    feed_cursor(const feed_cursor&) = delete;
    feed_cursor& operator=(const feed_cursor&) = delete;

    // What is left of a tick cut short, else the next tick generated ahead,
    // else the workload's next tick; nullopt when the workload is over.
    std::optional<tick> next();
    // Gives back a tick, or the part of one that was not sent (its commands
    // in tick order): next() returns it first.
    void put_back(tick rest);
    // Generates ticks ahead until at least `commands` are held (or the
    // workload is over).
    void prefetch(std::uint64_t commands);
    // Called for every command the target answered `applied`, in tick order:
    // keeps the registrations that initial submissions created.
    void applied(const command_envelope& command);
    // Takes every tick before `before` as if a target had applied each of
    // its commands, and returns them counted (commands, events): the cursor
    // of a store restored from a copy that a driver filled up to `before`
    // (run_limits::ticks_before) on the same workload.
    run_counts skip_until(instant before);

    // Registration ids, in the order they were created.
    const std::vector<std::string>& registrations() const noexcept { return registrations_; }
    // Commands held (cut short or generated ahead).
    std::uint64_t held_commands() const noexcept { return held_commands_; }
    // Ticks next() had to generate because none was held.
    std::uint64_t generated_on_demand() const noexcept { return generated_on_demand_; }

private:
    workload& workload_;
    std::deque<tick> held_;
    std::uint64_t held_commands_ = 0;
    std::uint64_t generated_on_demand_ = 0;
    std::vector<std::string> registrations_;
};

struct run_progress {
    std::uint64_t commands = 0;
    double seconds = 0;
    // The instant of the tick in hand.
    instant at;
};

struct run_limits {
    // Stop after this many commands or this long, whichever comes first:
    // the clients take no further command of the tick in hand, and what they
    // did not send stays in the feed_cursor.
    std::uint64_t commands_max = UINT64_MAX;
    std::chrono::duration<double> duration_max = std::chrono::hours(24);
    // Stop before the first tick at or after this instant (whole ticks).
    std::optional<instant> ticks_before;
    // Stop once the ticks fed whole hold this many events (run_report::events).
    std::uint64_t events_max = UINT64_MAX;
    // Called from the driver's thread between ticks, at most every
    // progress_interval.
    std::function<void(const run_progress&)> progress;
    std::chrono::duration<double> progress_interval = std::chrono::seconds(2);
};

struct run_report {
    std::uint64_t commands = 0;
    std::uint64_t applied = 0;
    std::uint64_t rejected = 0;
    std::uint64_t unavailable = 0;
    // Ticks fed, whole or in part.
    std::uint64_t ticks = 0;
    // The events the workload expects for the ticks this run completed (a
    // tick cut short counts in the run that completes it).
    std::uint64_t events = 0;
    double seconds = 0;
    // Process CPU of this process over the run (the system under test's own
    // CPU too when it runs in process).
    double cpu_s = 0;
    // Per command, from when it was sent (closed loop) or due (fixed rate)
    // to its answer, in microseconds. For query(): per query, and `applied`
    // counts the registrations found, `rejected` those not found.
    std::vector<float> latency_us;
    // The first rejections, for the message when the run disagrees with the
    // workload.
    std::vector<std::string> first_rejections;
    // The run stopped because the workload was over.
    bool workload_over = false;

    double per_second() const { return seconds > 0 ? static_cast<double>(commands) / seconds : 0; }
    // The p-quantile of latency_us in milliseconds, p in [0, 1] (0.5: the
    // median, 0.99, 1: the largest); 0 when nothing was measured.
    double percentile_ms(double p) const;
};

class driver {
public:
    // Opens `clients` sessions of `t` and starts a thread for each.
    // REQUIRES: clients > 0.
    driver(feed_cursor& feed, target& t, std::size_t clients);
    ~driver();
    driver(const driver&) = delete;
    driver& operator=(const driver&) = delete;

    // Closed loop: as fast as the target answers with `clients` in flight.
    run_report run(const run_limits& limits);
    // Commands due at `rate_per_s` in total, one every 1/rate_per_s in tick
    // order, each sent by the client its ordering key falls to. The wait at
    // the end of a tick (until every client is done) is left out of the
    // schedule: the next tick's first command is due when the tick starts
    // or on schedule, whichever is later.
    run_report run_at_rate(double rate_per_s, const run_limits& limits);
    // Point queries of registrations the workload has created so far (the
    // feed_cursor's), Zipf-skewed, closed loop, for `duration`; latency_us
    // per query.
    run_report query(std::chrono::duration<double> duration, std::uint64_t seed);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// VmRSS of this process, in bytes (/proc/self/status).
std::uint64_t process_resident_bytes();

}  // namespace regledger::bench
