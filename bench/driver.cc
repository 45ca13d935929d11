#include "bench/driver.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <cassert>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace regledger::bench {

namespace {

using steady = std::chrono::steady_clock;

// CPU time of the whole process (every thread), in seconds.
double process_cpu_s() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return s(usage.ru_utime) + s(usage.ru_stime);
}

double seconds_between(steady::time_point from, steady::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

float micros_between(steady::time_point from, steady::time_point to) {
    return static_cast<float>(std::chrono::duration<double, std::micro>(to - from).count());
}

// How a command of the tick in hand ended; `not_sent` when a limit stopped
// its client first.
enum class outcome : std::uint8_t { not_sent, applied, rejected, unavailable };

// Rejections kept for the message when a run disagrees with the workload.
constexpr std::size_t first_rejections_max = 5;

}  // namespace

// ---- feed_cursor -----------------------------------------------------------------

feed_cursor::feed_cursor(workload& w) : workload_(w) {}

std::optional<tick> feed_cursor::next() {
    if (!held_.empty()) {
        tick t = std::move(held_.front());
        held_.pop_front();
        held_commands_ -= t.commands.size();
        return t;
    }
    std::optional<tick> t = workload_.next_tick();
    if (t) ++generated_on_demand_;
    return t;
}

void feed_cursor::put_back(tick rest) {
    held_commands_ += rest.commands.size();
    held_.push_front(std::move(rest));
}

void feed_cursor::prefetch(std::uint64_t commands) {
    while (held_commands_ < commands) {
        std::optional<tick> t = workload_.next_tick();
        if (!t) return;
        held_commands_ += t->commands.size();
        held_.push_back(std::move(*t));
    }
}

void feed_cursor::applied(const command_envelope& command) {
    if (const auto* submit = std::get_if<submit_application>(&command.body)) {
        if (submit->kind == application_kind::initial) registrations_.push_back(submit->registration_id.value());
    }
}

run_counts feed_cursor::skip_until(instant before) {
    run_counts taken;
    while (std::optional<tick> t = next()) {
        if (t->at >= before) {
            put_back(std::move(*t));
            break;
        }
        for (const command_envelope& c : t->commands) applied(c);
        taken.commands += t->commands.size();
        taken.events += t->events;
    }
    return taken;
}

// ---- run_report ------------------------------------------------------------------

double run_report::percentile_ms(double p) const {
    if (latency_us.empty()) return 0;
    std::vector<float> v = latency_us;
    const double last = static_cast<double>(v.size() - 1);
    const auto k = static_cast<std::size_t>(std::clamp(p * static_cast<double>(v.size()), 0.0, last));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]) / 1000;
}

// ---- driver ----------------------------------------------------------------------

// The client threads run rounds: the driver's thread sets `job`, wakes them,
// and waits until each has run job(its number) once. A round is a tick (or
// what a limit left of one), or a whole query run.
struct driver::impl {
    // What each client gathered in a round; merged by the driver's thread
    // once the round is over.
    struct client_report {
        std::vector<float> latency_us;
        std::uint64_t found = 0;
        std::uint64_t missing = 0;
        std::vector<std::string> failures;
    };

    feed_cursor& feed;
    target& system;
    std::vector<std::unique_ptr<session>> sessions;
    std::vector<client_report> reports;

    std::mutex mutex;
    std::condition_variable wake;
    std::condition_variable round_done;
    std::uint64_t generation = 0;
    std::size_t busy = 0;
    bool stopping = false;
    std::function<void(std::size_t)> job;
    std::vector<std::thread> threads;

    // ---- the tick in hand (set by the driver's thread before a round) ----
    const tick* current = nullptr;
    // The indices of the tick's commands each client sends, in tick order.
    std::vector<std::vector<std::uint32_t>> shares;
    std::vector<outcome> outcomes;
    // Fixed rate: command i of the tick is due at due_base + i * interval.
    bool paced = false;
    steady::time_point due_base;
    std::chrono::duration<double> interval{0};
    // Limits: the commands of the tick the clients may send (the first ones
    // in tick order, so that where a run stops does not depend on which
    // client was quicker), and until when.
    std::size_t send_before = 0;
    steady::time_point deadline;

    impl(feed_cursor& f, target& t, std::size_t clients) : feed(f), system(t), reports(clients), shares(clients) {
        assert(clients > 0);
        for (std::size_t k = 0; k < clients; ++k) sessions.push_back(system.open_session());
        for (std::size_t k = 0; k < clients; ++k) threads.emplace_back([this, k] { serve(k); });
    }

    ~impl() {
        {
            std::lock_guard lock(mutex);
            stopping = true;
        }
        wake.notify_all();
        for (auto& t : threads) t.join();
    }

    std::size_t clients() const { return sessions.size(); }

    // A client thread: one job(k) per round.
    void serve(std::size_t k) {
        std::uint64_t seen = 0;
        for (;;) {
            {
                std::unique_lock lock(mutex);
                wake.wait(lock, [&] { return stopping || generation != seen; });
                if (stopping) return;
                seen = generation;
            }
            // The driver's thread leaves `job` alone until every client is done.
            job(k);
            {
                std::lock_guard lock(mutex);
                --busy;
            }
            round_done.notify_one();
        }
    }

    // Runs `work` on every client and waits until all are done.
    void round(std::function<void(std::size_t)> work) {
        {
            std::lock_guard lock(mutex);
            job = std::move(work);
            busy = clients();
            ++generation;
        }
        wake.notify_all();
        std::unique_lock lock(mutex);
        round_done.wait(lock, [&] { return busy == 0; });
    }

    // Client k's share of the tick in hand.
    void send_share(std::size_t k) {
        session& s = *sessions[k];
        client_report& report = reports[k];
        for (const std::uint32_t i : shares[k]) {
            if (i >= send_before) return;
            // Past the deadline, this client sends nothing further (its
            // later commands are due later still); the others send what is
            // due before it.
            const steady::time_point started =
                paced ? due_base + std::chrono::duration_cast<steady::duration>(interval * i) : steady::now();
            if (started >= deadline) return;
            if (paced) std::this_thread::sleep_until(started);
            const command_envelope& command = current->commands[i];
            const answer a = s.execute(command);
            report.latency_us.push_back(micros_between(started, steady::now()));
            switch (a) {
                case answer::applied: outcomes[i] = outcome::applied; break;
                case answer::rejected: outcomes[i] = outcome::rejected; break;
                case answer::unavailable: outcomes[i] = outcome::unavailable; break;
            }
            if (a != answer::applied && report.failures.size() < first_rejections_max) {
                const std::string why = s.last_failure();
                report.failures.push_back(fmt::format("{} {} {}{}{}",
                                                      a == answer::rejected ? "rejected" : "unavailable",
                                                      type_name_of(command.body), command.command_id.value(),
                                                      why.empty() ? "" : ": ", why));
            }
        }
    }

    run_report feed_ticks(std::optional<double> rate_per_s, const run_limits& limits) {
        run_report r;
        const auto started = steady::now();
        const double cpu_started = process_cpu_s();
        deadline = started + std::chrono::duration_cast<steady::duration>(limits.duration_max);
        paced = rate_per_s.has_value();
        if (paced) interval = std::chrono::duration<double>(1.0 / *rate_per_s);
        steady::time_point next_due = started;
        steady::time_point progress_at = started;
        for (auto& c : reports) c = client_report{};

        for (;;) {
            if (r.commands >= limits.commands_max || r.events >= limits.events_max || steady::now() >= deadline) break;
            std::optional<tick> t = feed.next();
            if (!t) {
                r.workload_over = true;
                break;
            }
            if (limits.ticks_before && t->at >= *limits.ticks_before) {
                feed.put_back(std::move(*t));
                break;
            }
            system.set_time(t->at);

            const std::size_t n = t->commands.size();
            current = &*t;
            for (auto& share : shares) share.clear();
            for (std::size_t i = 0; i < n; ++i) {
                shares[t->ordering_keys[i] % clients()].push_back(static_cast<std::uint32_t>(i));
            }
            outcomes.assign(n, outcome::not_sent);
            send_before = static_cast<std::size_t>(std::min<std::uint64_t>(n, limits.commands_max - r.commands));
            if (paced) due_base = std::max(steady::now(), next_due);
            round([this](std::size_t k) { send_share(k); });
            if (paced) next_due = due_base + std::chrono::duration_cast<steady::duration>(interval * n);
            ++r.ticks;

            // In tick order: what was applied, and what was not sent.
            tick rest;
            rest.at = t->at;
            rest.events = t->events;
            std::uint64_t sent = 0;
            for (std::size_t i = 0; i < n; ++i) {
                switch (outcomes[i]) {
                    case outcome::not_sent:
                        rest.commands.push_back(std::move(t->commands[i]));
                        rest.ordering_keys.push_back(t->ordering_keys[i]);
                        continue;
                    case outcome::applied:
                        ++r.applied;
                        feed.applied(t->commands[i]);
                        break;
                    case outcome::rejected: ++r.rejected; break;
                    case outcome::unavailable: ++r.unavailable; break;
                }
                ++sent;
            }
            r.commands += sent;
            current = nullptr;
            if (!rest.commands.empty()) {
                // The rest carries the whole tick's events: its share of
                // them is not known, and the run that completes it counts them.
                feed.put_back(std::move(rest));
                break;
            }
            r.events += t->events;
            if (limits.progress && seconds_between(progress_at, steady::now()) >= limits.progress_interval.count()) {
                progress_at = steady::now();
                limits.progress(run_progress{r.commands, seconds_between(started, progress_at), t->at});
            }
        }

        r.seconds = seconds_between(started, steady::now());
        r.cpu_s = process_cpu_s() - cpu_started;
        merge_reports(r);
        return r;
    }

    run_report query(std::chrono::duration<double> duration, std::uint64_t seed) {
        run_report r;
        const std::vector<std::string>& ids = feed.registrations();
        if (ids.empty()) return r;
        // Zipf ranks fall on registrations in a random order, so that the
        // hot ones are not simply the oldest.
        std::vector<std::uint32_t> order(ids.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(i);
        rng shuffle(seed);
        for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[shuffle.below(i + 1)]);
        const zipf_sampler zipf(ids.size(), 1.0);

        for (auto& c : reports) c = client_report{};
        const auto started = steady::now();
        const double cpu_started = process_cpu_s();
        const auto until = started + std::chrono::duration_cast<steady::duration>(duration);
        round([&](std::size_t k) {
            session& s = *sessions[k];
            client_report& report = reports[k];
            rng draw(seed ^ (0x9e3779b97f4a7c15ULL * (k + 1)));
            for (auto now = steady::now(); now < until;) {
                const std::string& id = ids[order[zipf.sample(draw)]];
                const bool found = s.get_registration(id);
                const auto answered = steady::now();
                report.latency_us.push_back(micros_between(now, answered));
                now = answered;
                if (found) {
                    ++report.found;
                } else {
                    ++report.missing;
                    if (report.failures.size() < first_rejections_max) {
                        report.failures.push_back("no registration " + id);
                    }
                }
            }
        });
        r.seconds = seconds_between(started, steady::now());
        r.cpu_s = process_cpu_s() - cpu_started;
        for (const auto& c : reports) {
            r.applied += c.found;
            r.rejected += c.missing;
        }
        r.commands = r.applied + r.rejected;
        merge_reports(r);
        return r;
    }

    void merge_reports(run_report& r) {
        std::size_t total = 0;
        for (const auto& c : reports) total += c.latency_us.size();
        r.latency_us.reserve(total);
        for (auto& c : reports) {
            r.latency_us.insert(r.latency_us.end(), c.latency_us.begin(), c.latency_us.end());
            for (auto& f : c.failures) {
                if (r.first_rejections.size() < first_rejections_max) r.first_rejections.push_back(std::move(f));
            }
            c = client_report{};
        }
    }
};

driver::driver(feed_cursor& feed, target& t, std::size_t clients)
    : impl_(std::make_unique<impl>(feed, t, clients)) {}

driver::~driver() = default;

run_report driver::run(const run_limits& limits) { return impl_->feed_ticks(std::nullopt, limits); }

run_report driver::run_at_rate(double rate_per_s, const run_limits& limits) {
    assert(rate_per_s > 0);
    return impl_->feed_ticks(rate_per_s, limits);
}

run_report driver::query(std::chrono::duration<double> duration, std::uint64_t seed) {
    return impl_->query(duration, seed);
}

std::uint64_t process_resident_bytes() {
    std::ifstream in("/proc/self/status");
    constexpr std::string_view field = "VmRSS:";
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with(field)) return std::strtoull(line.c_str() + field.size(), nullptr, 10) * 1024;
    }
    return 0;
}

}  // namespace regledger::bench
