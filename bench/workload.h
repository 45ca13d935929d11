// workload: a deterministic stream of valid commands shaped like a year-round
// registration service, for the benchmarks (bench/README.md "The workload").
//
// N registrations go through the whole procedure of DOMAIN.md:
//   - subjects open their real-name accounts and a clerk verifies them a few
//     working days before their first submission;
//   - initial applications arrive evenly over an intake period, spread over
//     the 14 municipal institutions and the provincial one; some need a
//     supplement and a resubmission, a few are withdrawn, rejected or fail
//     the review, some are accepted or reviewed late (and then the overdue
//     timers fire and the delay is explained);
//   - a passed review starts the publicity period; a few applications draw an
//     objection from the public, which the clerk dismisses or upholds;
//   - the deadline timers fire as the scheduler would fire them: publicity
//     ends and the code is issued, the renewal window opens, validity
//     expires;
//   - valid registrations get changes and corrections (each a full
//     application with its own publicity), Zipf-skewed: a few registrations
//     change often, most rarely or never; some deregister voluntarily, most
//     renew in their window, the rest expire; a very few are revoked, and
//     the province annuls some of the municipal revocations.
//
// Time is virtual: the workload advances a calendar day at a time and hands
// out one tick per day that has anything to do, stamped 09:00 Asia/Shanghai.
// Every command of a tick is valid at the tick's instant, in the tick's order,
// given every earlier tick; the workload checks this itself by running each
// command through decide() and evolve() on its own copy of the streams, and
// drops what the rules would refuse. Feeding a ledger therefore means: set
// the clock to tick.at, submit the tick's commands (commands with different
// ordering keys may go through different threads), wait until all are
// answered, take the next tick.
//
// The same options and seed give the same commands, byte for byte, on any
// platform (the random generator and its distributions are defined here).
//
// Thread-safety: a workload belongs to one thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/commands.h"
#include "engine/events.h"
#include "engine/institutions.h"
#include "engine/rules/rule_set.h"
#include "engine/time.h"

namespace regledger::bench {

// xoshiro256** seeded through splitmix64: small, fast, and the same on every
// platform (unlike the distributions of <random>).
class rng {
public:
    explicit rng(std::uint64_t seed);
    std::uint64_t next() noexcept;
    // Uniform in [0, n). REQUIRES: n > 0.
    std::uint64_t below(std::uint64_t n) noexcept;
    // Uniform in [lo, hi]. REQUIRES: lo <= hi.
    std::int64_t between(std::int64_t lo, std::int64_t hi) noexcept;
    // Uniform in [0, 1).
    double unit() noexcept;
    bool chance(double p) noexcept { return unit() < p; }

private:
    std::uint64_t s_[4];
};

// Ranks 0..n-1 with P(rank k) proportional to 1 / (k + 1)^exponent.
class zipf_sampler {
public:
    zipf_sampler(std::size_t n, double exponent);
    std::size_t sample(rng& r) const;

private:
    std::vector<double> cumulative_;
};

enum class lifecycle {
    // The whole procedure, timers included, as described above.
    full,
    // A backlog for the scheduler: accounts, initial submissions and
    // acceptances only. The registrations of every intake day but the last
    // are accepted on the next working day and wait in formal review (their
    // review timers pending, due 20 working days later); those of the last
    // intake day wait for acceptance, their acceptance timers all due at the
    // same instant (backlog_due_at). The workload fires no timers: the
    // ledger's scheduler is what is measured.
    backlog,
};

struct workload_options {
    std::size_t registrations = 100'000;
    std::uint64_t seed = 20250101;
    lifecycle mode = lifecycle::full;
    // Registrations per subject account, on average.
    double registrations_per_subject = 4;
    // Initial submissions are spread evenly over this many working days,
    // from first_intake_day on (a registration's day is drawn at random,
    // the days' shares are equal).
    int intake_working_days = 60;
    calendar_date first_intake_day = calendar_date::from_ymd(2025, 3, 3);
    // Changes and corrections per registration over its validity, on average
    // (before saturation: a registration has at most one open application).
    double later_applications_per_registration = 1.5;
    // Skew of the later applications across registrations.
    double zipf_exponent = 1.0;
    // Keep each tick's events (tick::recorded).
    bool record_events = false;
};

// An event of a tick as the workload's own copy of its stream folded it.
struct recorded_event {
    // Its command, an index into tick::commands.
    std::uint32_t command = 0;
    stream_id stream;
    // The stream's version once it is folded.
    stream_version version;
    event body;
};

// One virtual day's commands.
struct tick {
    // The instant to set the clock to before submitting (09:00 Shanghai).
    instant at;
    std::vector<command_envelope> commands;
    // Commands with the same key must be submitted in tick order; commands
    // with different keys are independent within the tick.
    std::vector<std::uint32_t> ordering_keys;
    // Events the ledger appends for this tick's commands.
    std::uint64_t events = 0;
    // Those events in order, with workload_options::record_events.
    std::vector<recorded_event> recorded;
};

struct workload_totals {
    std::uint64_t ticks = 0;
    std::uint64_t commands = 0;
    std::uint64_t events = 0;
    // By command type name ("SubmitApplication").
    std::map<std::string, std::uint64_t> by_type;
    // By event type name, as the workload's own copy of the streams folded them.
    std::map<std::string, std::uint64_t> events_by_type;
    // Actions the rules refused at generation time and that were therefore
    // left out (a planned renewal while a change was still open, ...).
    std::uint64_t dropped = 0;
};

// The intake days of `options`, in order.
std::vector<calendar_date> intake_days(const workload_options& options);
// lifecycle::backlog: the instant at which the acceptance timers of the last
// intake day's registrations are due, and nothing else is.
instant backlog_due_at(const workload_options& options);

class workload {
public:
    explicit workload(workload_options options);
    ~workload();
    workload(const workload&) = delete;
    workload& operator=(const workload&) = delete;

    // The 15 institutions of Liaoning: the provincial data center (LN,
    // 210000) and one per city (LN-SY 210100 … LN-HLD 211400).
    static const institution_directory& institutions();
    // LN-2025 with the built-in calendar.
    static const rules::rule_set& rules();

    // An instant before the first tick, to start the ledger's clock at.
    instant start() const;
    // The next day with commands; nullopt when the workload is over.
    std::optional<tick> next_tick();

    const workload_totals& totals() const;
    const workload_options& options() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace regledger::bench
