#include "projections/writer.h"

#include <cassert>
#include <future>
#include <limits>
#include <memory>
#include <unordered_set>

#include <fmt/format.h>

#include "engine/decide.h"
#include "engine/validate.h"
#include "events/canonical.h"
#include "events/checkpoint.h"
#include "events/codec.h"
#include "events/kafka_log.h"
#include "projections/documents.h"
#include "projections/replay.h"

#include <boost/json/serialize.hpp>

namespace regledger::projections {

// A stream's state: a registration or an account, and the hash of its last
// event (the next event's prev_hash).
struct writer::cached {
    std::variant<registration_state, account_state> state;
    digest head;
};

// A stream the current batch touches: as it was before the batch and as the
// batch's events have left it so far. `before` is the cache's own entry (or
// the state just loaded), shared rather than copied: nothing modifies a cached
// entry, a commit replaces it, so one copy per stream and batch (`now`) is
// all the batch makes.
struct writer::stream_work {
    std::shared_ptr<const cached> before;
    cached now;
};

struct writer::commit_job {
    std::vector<pending> batch;
    std::vector<command_outcome> outcomes;
    // For each command: the earlier command of the batch whose outcome it
    // repeats, or npos.
    std::vector<std::size_t> repeats;
    // The rows committed with the staged records; none: a batch answered
    // without a write.
    std::unique_ptr<projection_batch> rows;
    // Why the batch was not written: its outcomes become UNAVAILABLE.
    std::string failure;
    // The log could not tell whether the failed commit took effect.
    bool outcome_unknown = false;
    double apply_us = 0;
    double append_us = 0;
    // What the next batch looks up here while this one commits.
    bool has_checkpoints = false;
    std::unordered_set<command_id> stored_commands;
    std::unordered_map<application_id, registration_id> new_applications;
    // Kept to be freed on the committing thread.
    std::map<stream_id, stream_work> touched;
    std::vector<events::log_record> records;
    // Set by the committing thread, under commit_mutex_.
    bool settled = false;
    bool committed = false;
};

namespace {

using clock_type = std::chrono::steady_clock;

// After a failed attempt to catch up with the log, how long batches are
// answered UNAVAILABLE without another attempt.
constexpr std::chrono::milliseconds resync_pause{1000};

stream_version version_of(const std::variant<registration_state, account_state>& s) {
    return std::visit([](const auto& x) { return x.version; }, s);
}

bool is_account_stream(const stream_id& id) { return id.value().starts_with("acct-"); }

command_outcome unavailable(std::string message) {
    command_outcome o;
    o.result_kind = command_outcome::kind::unavailable;
    o.error = reject(errc::unavailable, std::move(message));
    return o;
}

command_outcome rejected(rejection r) {
    command_outcome o;
    o.result_kind = command_outcome::kind::rejected;
    o.error = std::move(r);
    return o;
}

void add_to_histogram(std::map<double, std::uint64_t>& buckets, double value) {
    for (double b : histogram_bounds) {
        if (value <= b) {
            ++buckets[b];
            return;
        }
    }
    ++buckets[std::numeric_limits<double>::infinity()];
}

std::string_view outcome_name(command_outcome::kind k) {
    switch (k) {
        case command_outcome::kind::applied: return "applied";
        case command_outcome::kind::rejected: return "rejected";
        case command_outcome::kind::unavailable: return "unavailable";
    }
    return "unknown";
}

}  // namespace

writer::writer(events::rocks_store& store, events::event_log& log, read_model& reads, const clock& time,
               ledger_context context, writer_options options)
    : store_(store), log_(log), reads_(reads), clock_(time), context_(context), options_(options), tree_(store) {
    assert(context_.rules != nullptr && context_.institutions != nullptr);
}

writer::~writer() { stop(); }

void writer::start() {
    std::lock_guard lock(mutex_);
    if (thread_.joinable()) return;
    accepting_ = true;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void writer::stop() {
    {
        std::lock_guard lock(mutex_);
        accepting_ = false;
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void writer::submit(command_envelope cmd, callback done) {
    bool running = false;
    {
        std::lock_guard lock(mutex_);
        running = accepting_;
        if (accepting_ && queue_.size() < options_.queue_commands_max) {
            queue_.push_back({std::move(cmd), std::move(done)});
            if (queue_.size() == 1 || queue_.size() >= options_.batch_commands_max) wake_.notify_one();
            return;
        }
    }
    {
        std::lock_guard lock(metrics_mutex_);
        ++metrics_.unavailable;
    }
    done(unavailable(running ? "the writer queue is full; nothing was written" : "the writer is not running"));
}

command_outcome writer::execute(command_envelope cmd) {
    std::promise<command_outcome> promise;
    auto future = promise.get_future();
    submit(std::move(cmd), [&promise](command_outcome o) { promise.set_value(std::move(o)); });
    return future.get();
}

writer_metrics writer::metrics() const {
    std::lock_guard lock(metrics_mutex_);
    writer_metrics m = metrics_;
    std::lock_guard queue_lock(mutex_);
    m.queue_depth = queue_.size();
    return m;
}

void writer::run() {
    // The trees as the read models hold them; when they cannot be read, the
    // first batch reads them again after catching up.
    if (!load_audit()) needs_resync_ = true;
    {
        std::lock_guard lock(commit_mutex_);
        committer_stopping_ = false;
    }
    std::thread committer([this] { commit_loop(); });
    std::vector<pending> batch;
    for (;;) {
        batch.clear();
        {
            std::unique_lock lock(mutex_);
            if (options_.signing_key == nullptr) {
                wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            } else {
                // Checkpoints fall due by time too: look every second.
                wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || !queue_.empty(); });
            }
            if (queue_.empty() && stopping_) {
                // Nothing left. The records since the last checkpoint get
                // one now, so that a stopped ledger is covered to its end.
                lock.unlock();
                settle_in_flight();
                if (options_.signing_key != nullptr && !needs_resync_ && !log_.fatal()) {
                    final_checkpoint_ = true;
                    process(batch);
                    settle_in_flight();
                }
                {
                    std::lock_guard commit_lock(commit_mutex_);
                    committer_stopping_ = true;
                }
                commit_wake_.notify_all();
                committer.join();
                return;
            }
            // Group commit: wait a little for more, unless the batch is full.
            if (!queue_.empty() && queue_.size() < options_.batch_commands_max && !stopping_) {
                wake_.wait_for(lock, options_.batch_wait,
                               [&] { return stopping_ || queue_.size() >= options_.batch_commands_max; });
            }
            const std::size_t n = std::min(queue_.size(), options_.batch_commands_max);
            for (std::size_t i = 0; i < n; ++i) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        process(batch);
    }
}

void writer::hand_off(std::shared_ptr<commit_job> job) {
    {
        std::lock_guard lock(commit_mutex_);
        commit_queue_.push_back(std::move(job));
    }
    commit_wake_.notify_one();
}

void writer::commit_loop() {
    for (;;) {
        std::shared_ptr<commit_job> job;
        {
            std::unique_lock lock(commit_mutex_);
            commit_wake_.wait(lock, [&] { return committer_stopping_ || !commit_queue_.empty(); });
            if (commit_queue_.empty()) return;
            job = std::move(commit_queue_.front());
            commit_queue_.pop_front();
        }
        if (job->rows) {
            const auto started = clock_type::now();
            auto done = log_.commit(job->rows->batch());
            const double append_us = std::chrono::duration<double, std::micro>(clock_type::now() - started).count();
            {
                std::lock_guard lock(commit_mutex_);
                job->append_us = append_us;
                job->committed = done.has_value();
                if (!done) {
                    job->failure = done.error().message();
                    job->outcome_unknown = done.error() == events::kafka_errc::commit_unknown;
                }
                job->settled = true;
            }
            settled_wake_.notify_all();
            // The writer thread may still read the job's counters, never its
            // rows: free them here.
            job->rows->batch() = rocksdb::WriteBatch();
        }
        answer(*job);
    }
}

void writer::answer(commit_job& job) {
    auto& outcomes = job.outcomes;
    if (!job.failure.empty()) {
        for (auto& o : outcomes) {
            if (o.replayed) continue;
            // A commit that may have completed is not said to have written
            // nothing: the command's id, repeated, answers how it ended.
            o = unavailable(job.outcome_unknown
                                ? fmt::format("the log did not confirm the write ({}); repeat the command with the "
                                              "same command_id to learn its outcome",
                                              job.failure)
                                : fmt::format("the log could not be written ({}); nothing was written", job.failure));
        }
    }
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        if (job.repeats[i] != std::string::npos) {
            outcomes[i] = outcomes[job.repeats[i]];
            if (outcomes[i].result_kind != command_outcome::kind::unavailable) outcomes[i].replayed = true;
        }
    }
    job.touched.clear();
    job.records.clear();
    if (job.batch.empty()) return;  // a checkpoint alone
    record_metrics(outcomes, job.batch, job.apply_us, job.append_us);
    for (std::size_t i = 0; i < job.batch.size(); ++i) job.batch[i].done(std::move(outcomes[i]));
    job.batch.clear();
    job.outcomes.clear();
}

bool writer::settle_in_flight() {
    if (!in_flight_) return true;
    const std::shared_ptr<commit_job> job = std::move(in_flight_);
    in_flight_.reset();
    {
        std::unique_lock lock(commit_mutex_);
        settled_wake_.wait(lock, [&] { return job->settled; });
    }
    if (job->committed) return true;
    // What was staged after it is dropped with it; the states cached on the
    // assumption that it would be written are forgotten, and the log tells
    // what it kept before the next batch.
    log_.abort();
    report_fatal(job->failure);
    cache_.clear();
    needs_resync_ = true;
    return false;
}

void writer::report_fatal(const std::string& message) {
    if (!log_.fatal() || fatal_reported_) return;
    // Fenced: a newer writer owns the log now. Take nothing more.
    fatal_reported_ = true;
    {
        std::lock_guard lock(mutex_);
        accepting_ = false;
    }
    if (options_.on_fatal) options_.on_fatal(message);
}

void writer::process(std::vector<pending>& batch) {
    const auto started = clock_type::now();
    if (needs_resync_) {
        assert(!in_flight_);
        // A checkpoint alone waits until commands bring the log back.
        if (batch.empty()) return;
        // Every command of the batch answered UNAVAILABLE, nothing written.
        auto refuse = [&](const std::string& message) {
            auto job = std::make_shared<commit_job>();
            for (std::size_t i = 0; i < batch.size(); ++i) job->outcomes.push_back(unavailable(message));
            job->repeats.assign(batch.size(), std::string::npos);
            job->batch = std::move(batch);
            hand_off(std::move(job));
        };
        // A log that failed to answer a moment ago is not asked again at
        // once: the commands queued meanwhile get their answer now rather
        // than after another attempt's timeouts.
        if (last_resync_failure_ && clock_type::now() - last_resync_failure_->at < resync_pause) {
            return refuse(last_resync_failure_->message);
        }
        // Settle what the failure left open first, or the log could still
        // gain the failed batch's records after they were read.
        auto settled = log_.settle();
        auto caught_up = settled ? catch_up(store_, log_, reads_) : result<std::uint64_t>(settled.error());
        if (!caught_up) {
            last_resync_failure_ = resync_failure{
                clock_type::now(),
                fmt::format("the log is unreachable ({}); nothing was written", caught_up.error().message())};
            return refuse(last_resync_failure_->message);
        }
        last_resync_failure_.reset();
        cache_.clear();
        if (auto loaded = load_audit(); !loaded) {
            return refuse(fmt::format("the read models cannot be read ({}); nothing was written",
                                      loaded.error().message()));
        }
        needs_resync_ = false;
    }
    // Instants stamped on events never go backwards, whatever the clock does.
    const instant now = std::max(clock_.now(), last_now_);
    last_now_ = now;

    // The batch before this one may still be committing. Its states are in
    // cache_ and its tree in tree_ already; what it wrote elsewhere is looked
    // up in it before the store. Should its commit fail, this batch is
    // computed again from what the log kept.
    const std::shared_ptr<const commit_job> earlier = in_flight_;
    // A checkpoint reads the head of the ledger's stream from the store.
    if (earlier && earlier->has_checkpoints && !settle_in_flight()) return process(batch);

    // The checkpoints due go first: each covers the tree as the batches
    // before this one left it, and is the next leaf.
    std::vector<event_record> checkpoint_events;
    auto checkpoint_records = due_checkpoints(now, checkpoint_events);
    if (!checkpoint_records) {
        checkpoint_records = std::vector<events::log_record>();
        checkpoint_events.clear();
    }
    if (batch.empty() && checkpoint_records.value().empty()) return;

    auto job = std::make_shared<commit_job>();
    job->rows = std::make_unique<projection_batch>(store_);
    projection_batch& rows = *job->rows;
    if (earlier) rows.read_through(&earlier->rows->counters());
    job->has_checkpoints = !checkpoint_records.value().empty();
    auto& touched = job->touched;
    auto& new_applications = job->new_applications;
    std::unordered_map<command_id, std::size_t> first_in_batch;
    auto& outcomes = job->outcomes;
    outcomes.resize(batch.size());
    // For each command: the index of the earlier command in this batch whose
    // outcome it repeats, or npos.
    auto& repeats = job->repeats;
    repeats.assign(batch.size(), std::string::npos);
    auto& records = job->records;
    records = std::move(checkpoint_records).value();
    // For each record: the command it belongs to (npos: a checkpoint), and
    // its event record (the index in the owner's events, or in
    // checkpoint_events).
    std::vector<std::size_t> record_owner(records.size(), std::string::npos);
    std::vector<std::size_t> record_event(records.size());
    for (std::size_t k = 0; k < records.size(); ++k) record_event[k] = k;
    bool store_failed = false;
    std::string store_failure;
    // The batch in flight failed: this one starts again.
    bool restart = false;

    auto fail_store = [&](const std::error_code& ec) {
        store_failed = true;
        store_failure = ec.message();
    };

    // The registration an application id belongs to: this batch's, the
    // batch in flight's, or the store's.
    auto owner_of = [&](const application_id& app) -> std::optional<registration_id> {
        if (auto it = new_applications.find(app); it != new_applications.end()) return it->second;
        if (earlier) {
            if (auto it = earlier->new_applications.find(app); it != earlier->new_applications.end()) {
                return it->second;
            }
        }
        return reads_.registration_of(app);
    };

    // The stream's state as this batch sees it.
    auto load = [&](const stream_id& id) -> stream_work* {
        if (auto it = touched.find(id); it != touched.end()) return &it->second;
        std::shared_ptr<const cached> before;
        if (auto hit = cache_.find(id); hit != cache_.end()) {
            before = hit->second;
        } else {
            auto c = std::make_shared<cached>();
            if (is_account_stream(id)) {
                auto s = reads_.load_account(account_id(id.value().substr(5)));
                if (!s) {
                    fail_store(s.error());
                    return nullptr;
                }
                c->state = std::move(s).value();
            } else {
                auto s = reads_.load_registration(registration_id(id.value().substr(4)));
                if (!s) {
                    fail_store(s.error());
                    return nullptr;
                }
                c->state = std::move(s).value();
            }
            if (auto head = reads_.head_of(id)) c->head = head->hash;
            before = std::move(c);
        }
        auto [it, inserted] = touched.emplace(id, stream_work{before, *before});
        return &it->second;
    };

    for (std::size_t i = 0; i < batch.size() && !store_failed; ++i) {
        const command_envelope& cmd = batch[i].cmd;
        // Client ids are [A-Za-z0-9._-]{1,64}; the scheduler's are derived
        // (engine/deadlines.h) and contain ':', so they never collide.
        if (auto r = is_timeout_command(cmd.body) ? std::nullopt : validate_command_id(cmd.command_id)) {
            outcomes[i] = rejected(*r);
            continue;
        }
        // Idempotency: the first outcome of a command id, even after a restart.
        if (auto it = first_in_batch.find(cmd.command_id); it != first_in_batch.end()) {
            repeats[i] = it->second;
            continue;
        }
        first_in_batch.emplace(cmd.command_id, i);
        // An outcome the batch in flight stores is read once it is written.
        if (earlier && earlier->stored_commands.contains(cmd.command_id) && !settle_in_flight()) {
            restart = true;
            break;
        }
        if (auto stored = reads_.outcome_of(cmd.command_id)) {
            command_outcome o;
            o.replayed = true;
            if (stored->ok) {
                o.result_kind = command_outcome::kind::applied;
                o.stream = stored->stream;
                o.version = stream_version(stored->to_version);
                o.positions = stored->positions;
                auto history = reads_.history(stored->stream);
                if (!history) {
                    fail_store(history.error());
                    break;
                }
                for (auto& rec : history.value()) {
                    const auto v = rec.envelope.version.value();
                    if (v >= stored->from_version && v <= stored->to_version) o.events.push_back(std::move(rec));
                }
            } else {
                o.result_kind = command_outcome::kind::rejected;
                o.error = stored->error;
            }
            outcomes[i] = std::move(o);
            continue;
        }

        // The target stream.
        const command_target target = target_of(cmd.body);
        stream_id stream;
        if (const auto* s = std::get_if<stream_id>(&target)) {
            stream = *s;
        } else if (auto reg = owner_of(std::get<application_id>(target))) {
            stream = registration_stream(*reg);
        }

        if (!stream.value().empty() && !log_.owns(log_.partition_of(stream))) {
            outcomes[i] = unavailable(fmt::format("{} is in partition {}, which another node writes", stream.value(),
                                                  log_.partition_of(stream).value()));
            continue;
        }

        decide_context ctx;
        ctx.now = now;
        ctx.rules = context_.rules;
        ctx.institutions = context_.institutions;
        ctx.issuer = cmd.issued_by;
        ctx.next_code_sequence = [&rows](const institution_id& inst, int year) {
            return rows.next_code_sequence(inst, year);
        };
        if (cmd.issued_by.role == role::subject) {
            stream_work* issuer = load(account_stream(cmd.issued_by.account));
            if (issuer == nullptr) break;
            ctx.issuer_account = &std::get<account_state>(issuer->now.state);
        }

        if (stream.value().empty()) {
            // An application nobody submitted: decide() checks the role and
            // the fields, then finds no such application.
            auto r = decide(registration_state{}, cmd.body, ctx);
            outcomes[i] = rejected(r ? reject(errc::not_found, "no such application") : r.error());
            continue;
        }
        stream_work* work = load(stream);
        if (work == nullptr) break;
        const stream_version current = version_of(work->now.state);
        if (cmd.expected_version && *cmd.expected_version != current) {
            outcomes[i] = rejected(reject(errc::conflict,
                                          fmt::format("expected version {} but {} is at version {}",
                                                      cmd.expected_version->value(), stream.value(), current.value()),
                                          "/expected_version"));
            continue;
        }
        auto decided = std::visit([&](const auto& s) { return decide(s, cmd.body, ctx); }, work->now.state);
        if (!decided) {
            outcomes[i] = rejected(decided.error());
            continue;
        }
        // An application id names one application across every registration
        // (the `applications` index); decide() sees only its own stream.
        if (const auto* submit = std::get_if<submit_application>(&cmd.body)) {
            const std::optional<registration_id> owner = owner_of(submit->application_id);
            if (owner && *owner != submit->registration_id) {
                outcomes[i] = rejected(reject(
                    errc::conflict, fmt::format("application id {} is already used", submit->application_id.value())));
                continue;
            }
        }

        command_outcome o;
        o.result_kind = command_outcome::kind::applied;
        o.stream = stream;
        for (const event& e : decided.value()) {
            event_record rec;
            envelope& env = rec.envelope;
            const stream_version version(version_of(work->now.state).value() + 1);
            env.event_id = event_id(fmt::format("{}/{}", stream.value(), version.value()));
            env.stream_id = stream;
            env.version = version;
            env.occurred_at = now;
            env.actor = cmd.issued_by;
            env.command_id = cmd.command_id;
            env.correlation_id = cmd.correlation_id.value_or(correlation_id(cmd.command_id.value()));
            env.causation_id = causation_id(cmd.command_id.value());
            env.rule_set = context_.rules->id;
            env.calendar_version = context_.rules->calendar->version();
            env.config_hash = context_.config_hash;
            env.prev_hash = work->now.head;
            rec.event = e;
            env.hash = events::compute_hash(env, e);
            auto bytes = events::encode(rec);

            std::optional<std::string> fact;
            if (auto* reg = std::get_if<registration_state>(&work->now.state)) {
                rows.on_registration_event(*reg, rec);
                *reg = evolve(std::move(*reg), e);
                if (const auto* submitted = std::get_if<application_submitted>(&e)) {
                    new_applications[submitted->application_id] = submitted->registration_id;
                }
                if (auto f = public_fact(*reg, rec)) fact = boost::json::serialize(*f);
            } else {
                auto& acct = std::get<account_state>(work->now.state);
                acct = evolve(std::move(acct), e);
            }
            work->now.head = env.hash;
            records.push_back({stream, type_id_of(e), std::move(bytes), std::move(fact), std::nullopt});
            record_owner.push_back(i);
            record_event.push_back(o.events.size());
            o.events.push_back(std::move(rec));
        }
        o.version = version_of(work->now.state);
        outcomes[i] = std::move(o);
    }
    if (restart) return process(batch);

    audit_tree tree(store_);
    bool staged = false;
    if (!store_failed) {
        // A log whose commits do not overlap stages after the last commit.
        if (!log_.overlaps_commits() && !settle_in_flight()) return process(batch);
        auto positions = log_.stage(records);
        if (!positions) {
            store_failed = true;
            store_failure = positions.error().message();
        } else {
            staged = true;
            std::map<partition_id, log_offset> next_offsets;
            tree = tree_;
            for (std::size_t r = 0; r < records.size() && !store_failed; ++r) {
                const log_position& p = positions.value()[r];
                const event_record* rec = nullptr;
                if (record_owner[r] == std::string::npos) {
                    rec = &checkpoint_events[record_event[r]];
                    rows.on_ledger_event(*rec);
                } else {
                    auto& o = outcomes[record_owner[r]];
                    o.positions.push_back(p);
                    rec = &o.events[record_event[r]];
                }
                rows.on_recorded(*rec, records[r].value, p);
                if (auto appended = tree.append(rows.batch(), p, *rec, records[r].value); !appended) {
                    fail_store(appended.error());
                }
                auto& next = next_offsets[p.partition];
                next = log_offset(std::max(next.value(), p.offset.value() + 1));
            }
            for (std::size_t i = 0; i < batch.size(); ++i) {
                const auto& o = outcomes[i];
                if (repeats[i] != std::string::npos || o.replayed) continue;
                if (o.result_kind == command_outcome::kind::applied) {
                    stored_outcome s;
                    s.ok = true;
                    s.stream = o.stream;
                    s.to_version = o.version.value();
                    s.from_version = o.version.value() + 1 - o.events.size();
                    s.positions = o.positions;
                    rows.on_command(batch[i].cmd.command_id, s);
                    job->stored_commands.insert(batch[i].cmd.command_id);
                } else if (o.result_kind == command_outcome::kind::rejected &&
                           o.error.field != "/command_id") {
                    stored_outcome s;
                    s.ok = false;
                    s.error = o.error;
                    rows.on_command(batch[i].cmd.command_id, s);
                    job->stored_commands.insert(batch[i].cmd.command_id);
                }
            }
            for (auto& [id, work] : touched) {
                if (version_of(work.now.state) == version_of(work.before->state)) continue;
                if (const auto* reg = std::get_if<registration_state>(&work.now.state)) {
                    rows.on_registration_settled(std::get<registration_state>(work.before->state), *reg, work.now.head);
                } else {
                    rows.on_account_settled(std::get<account_state>(work.now.state), work.now.head);
                }
            }
            tree.finish(rows.batch());
            for (const auto& [partition, next] : next_offsets) rows.on_checkpoint(partition, next);
            rows.finish();
        }
    }
    job->apply_us = std::chrono::duration<double, std::micro>(clock_type::now() - started).count();

    // This batch goes on only after the one before it is written. Had that
    // failed, the log dropped this batch with it.
    if (!settle_in_flight()) return process(batch);
    if (store_failed) {
        if (staged) log_.abort();
        report_fatal(store_failure);
        // Nothing of this batch is answered as done: forget what it computed,
        // and learn from the log what it kept before the next batch.
        for (const auto& [id, work] : touched) cache_.erase(id);
        needs_resync_ = true;
        job->rows.reset();
        job->failure = store_failure.empty() ? std::string("unknown") : store_failure;
        job->batch = std::move(batch);
        hand_off(std::move(job));
        return;
    }

    // Taken as written: the next batch builds on it while it commits.
    tree_ = std::move(tree);
    for (std::size_t r = 0; r < records.size(); ++r) {
        if (record_owner[r] != std::string::npos) continue;
        const auto& c = std::get<ledger_checkpointed>(checkpoint_events[record_event[r]].event);
        checkpoints_[c.partition] = {c.tree_size + 1, c.signed_at};
    }
    if (cache_.size() + touched.size() > options_.cached_streams_max) cache_.clear();
    for (auto& [id, work] : touched) cache_[id] = std::make_shared<cached>(std::move(work.now));
    job->batch = std::move(batch);
    in_flight_ = job;
    hand_off(std::move(job));
}

result<void> writer::load_audit() {
    tree_ = audit_tree(store_);
    checkpoints_.clear();
    const audit_reads reads(store_);
    for (std::int32_t p = 0; p < log_.partition_count(); ++p) {
        if (!log_.owns(partition_id(p))) continue;
        BOOST_OUTCOME_TRY(tree_.tree(partition_id(p)));
        if (auto last = reads.latest_checkpoint(partition_id(p))) {
            checkpoints_[p] = {last->leaf + 1, last->checkpoint.signed_at};
        } else {
            // Counted from the start: a ledger's first checkpoint comes one
            // interval after it first ran, or at the size limit.
            checkpoints_[p] = {0, std::max(clock_.now(), last_now_)};
        }
    }
    return success();
}

result<std::vector<events::log_record>> writer::due_checkpoints(instant now, std::vector<event_record>& decoded) {
    std::vector<events::log_record> out;
    if (options_.signing_key == nullptr) return out;
    for (const auto& [p, last] : checkpoints_) {
        BOOST_OUTCOME_TRY(auto tree, tree_.tree(partition_id(p)));
        const std::uint64_t since = tree.size() - std::min(tree.size(), last.leaves);
        const bool due = since >= options_.checkpoint_events_max ||
                         (since > 0 && (final_checkpoint_ ||
                                        now.unix_us() - last.at.unix_us() >= options_.checkpoint_interval.count()));
        if (!due) continue;
        BOOST_OUTCOME_TRY(auto signed_checkpoint, events::sign_checkpoint(p, tree, now, *options_.signing_key));
        const stream_id stream = ledger_stream(p);
        const auto head = reads_.head_of(stream);
        event_record rec;
        envelope& env = rec.envelope;
        env.stream_id = stream;
        env.version = stream_version((head ? head->version.value() : 0) + 1);
        env.event_id = event_id(fmt::format("{}/{}", stream.value(), env.version.value()));
        env.occurred_at = now;
        env.actor = actor{account_id("ledger"), role::system, std::nullopt};
        env.command_id = command_id(fmt::format("checkpoint:p{}:{}", p, tree.size()));
        env.correlation_id = correlation_id(env.command_id.value());
        env.causation_id = causation_id(env.command_id.value());
        env.rule_set = context_.rules->id;
        env.calendar_version = context_.rules->calendar->version();
        env.config_hash = context_.config_hash;
        if (head) env.prev_hash = head->hash;
        rec.event = std::move(signed_checkpoint);
        env.hash = events::compute_hash(env, rec.event);
        out.push_back({stream, type_id_of(rec.event), events::encode(rec), std::nullopt, partition_id(p)});
        decoded.push_back(std::move(rec));
    }
    return out;
}

void writer::record_metrics(const std::vector<command_outcome>& outcomes, const std::vector<pending>& batch,
                            double apply_us, double append_us) {
    std::lock_guard lock(metrics_mutex_);
    ++metrics_.batches;
    metrics_.commands += batch.size();
    metrics_.last_batch_commands = batch.size();
    metrics_.batch_size_sum += batch.size();
    metrics_.apply_us_sum += apply_us;
    metrics_.append_us_sum += append_us;
    add_to_histogram(metrics_.batch_size_buckets, static_cast<double>(batch.size()));
    add_to_histogram(metrics_.apply_us_buckets, apply_us);
    add_to_histogram(metrics_.append_us_buckets, append_us);
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        const auto& o = outcomes[i];
        if (o.replayed) ++metrics_.replayed;
        switch (o.result_kind) {
            case command_outcome::kind::applied: metrics_.events += o.replayed ? 0 : o.events.size(); break;
            case command_outcome::kind::rejected: ++metrics_.rejected; break;
            case command_outcome::kind::unavailable: ++metrics_.unavailable; break;
        }
        ++metrics_.by_type_outcome[fmt::format("{}/{}", type_name_of(batch[i].cmd.body), outcome_name(o.result_kind))];
    }
}

}  // namespace regledger::projections
