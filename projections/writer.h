// writer: the single writer of a ledger's log (ARCHITECTURE.md "The write
// path"). Commands wait in a bounded queue; the writer thread takes them in
// batches (group commit: a batch closes at batch_commands_max commands or
// after batch_wait, whichever comes first) and, for each command:
//   - returns the first outcome again for a command id seen before (from the
//     `commands` family, or from earlier in the same batch);
//   - finds the target stream (an application id through the `applications`
//     index) and loads its state, with the batch's own earlier events laid
//     over it;
//   - checks the expected version, runs decide(), and for each event builds
//     the envelope (stream version, prev_hash = the stream's head, hash) and
//     encodes it.
// Then the batch's records are staged in the log and ONE commit makes them
// durable together with every projection row, every command outcome and the
// checkpoint. Only after the commit returned are the commands answered. If the
// commit fails, nothing is answered as done: every command of the batch gets
// UNAVAILABLE, the writer's cached states are dropped, and before the next
// batch the read models catch up with the log (a Kafka commit that timed out
// may still have committed; a client that repeats the command id then gets
// the first outcome).
//
// Commits run on a second thread, the committing thread, which then answers
// the batch. While batch N commits, the writer thread decides batch N+1 on
// top of N as if N were written: N's states are in the cache, and what N
// wrote elsewhere (new application ids, counters, stored outcomes) is looked
// up in N before the store. N+1 is handed on only once N's commit succeeded;
// if it failed, N+1 is computed again after the read models caught up. A log
// whose commits cannot overlap (event_log::overlaps_commits) gets N+1 staged
// only after N's commit returned.
//
// Lifecycle: construct, start(), submit() from any thread, stop() (answers
// what is queued, then joins). The destructor stops.
// Thread-safety: submit(), execute() and metrics() from any thread.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "engine/commands.h"
#include "engine/envelope.h"
#include "engine/institutions.h"
#include "engine/rules/rule_set.h"
#include "engine/state.h"
#include "events/event_log.h"
#include "events/rocks_store.h"
#include "events/signing.h"
#include "projections/audit.h"
#include "projections/clock.h"
#include "projections/projector.h"
#include "projections/read_model.h"

namespace regledger::projections {

// What decide() needs from outside the streams, fixed for a run.
struct ledger_context {
    const rules::rule_set* rules = nullptr;
    const institution_directory* institutions = nullptr;
    // SHA-256 of the configuration file in force (recorded in every envelope).
    digest config_hash;
};

struct writer_options {
    std::size_t queue_commands_max = 100'000;
    std::size_t batch_commands_max = 2'000;
    std::chrono::microseconds batch_wait{500};
    // States kept in memory between batches; past it the cache is emptied.
    std::size_t cached_streams_max = 1'000'000;
    // Called once, on the writer thread, when the log can no longer be
    // written by this instance (event_log::fatal: fenced by a newer writer);
    // from then on every command is answered UNAVAILABLE.
    std::function<void(std::string)> on_fatal;
    // Signed checkpoints of each owned partition's Merkle tree (audit.h):
    // one is appended when `checkpoint_events_max` records have been appended
    // since the last, or `checkpoint_interval` has passed on the ledger's
    // clock with any record appended since, and when the writer stops. Without
    // a key, none.
    const events::signing_key* signing_key = nullptr;
    std::uint64_t checkpoint_events_max = 10'000;
    std::chrono::microseconds checkpoint_interval = std::chrono::seconds(60);
};

struct command_outcome {
    enum class kind { applied, rejected, unavailable };
    kind result_kind = kind::unavailable;
    // applied: the stream, its version after the command, and the events the
    // command appended (none for a no-op), with their positions.
    stream_id stream;
    stream_version version{0};
    std::vector<event_record> events;
    std::vector<log_position> positions;
    // rejected / unavailable.
    rejection error;
    // The first outcome of this command id, returned again.
    bool replayed = false;
};

// Upper bounds of the metrics histograms' buckets (batch sizes in commands,
// latencies in microseconds); values past the last fall in +Inf.
inline constexpr std::array<double, 17> histogram_bounds{1,    2,    5,     10,    25,    50,     100,    250,    500,
                                                         1000, 2500, 5000,  10000, 25000, 50000, 100000, 250000};

struct writer_metrics {
    std::uint64_t batches = 0;
    std::uint64_t commands = 0;
    std::uint64_t events = 0;
    std::uint64_t rejected = 0;
    std::uint64_t replayed = 0;
    std::uint64_t unavailable = 0;
    std::uint64_t queue_depth = 0;
    std::uint64_t last_batch_commands = 0;
    // Commands by type and outcome ("AcceptApplication/applied").
    std::map<std::string, std::uint64_t> by_type_outcome;
    // Histograms of batch sizes and of the commit (append) and the decide +
    // project (apply) time of each batch, in microseconds: bucket upper bound
    // -> count, with +infinity for the rest (cumulative counts are the
    // renderer's job).
    std::map<double, std::uint64_t> batch_size_buckets;
    std::map<double, std::uint64_t> append_us_buckets;
    std::map<double, std::uint64_t> apply_us_buckets;
    double append_us_sum = 0;
    double apply_us_sum = 0;
    std::uint64_t batch_size_sum = 0;
};

class writer {
public:
    using callback = std::function<void(command_outcome)>;

    writer(events::rocks_store& store, events::event_log& log, read_model& reads, const clock& time,
           ledger_context context, writer_options options);
    ~writer();
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    void start();
    // Stops taking commands (later submits get UNAVAILABLE), finishes what is
    // queued, then joins the thread.
    void stop();

    // Queues `cmd`; `done` runs on the committing thread once the outcome is
    // known (callbacks run one at a time, in the order commands were taken).
    // A full or stopped queue answers UNAVAILABLE at once, on the caller's
    // thread.
    void submit(command_envelope cmd, callback done);
    // submit() and wait for the outcome.
    command_outcome execute(command_envelope cmd);

    writer_metrics metrics() const;
    const ledger_context& context() const noexcept { return context_; }

private:
    struct pending {
        command_envelope cmd;
        callback done;
    };
    struct stream_work;
    // A batch handed to the committing thread: its rows to commit (none for
    // a batch answered without a write) and its answers.
    struct commit_job;

    void run();
    void process(std::vector<pending>& batch);
    // The committing thread: commits the jobs handed to it, in order, and
    // answers their commands.
    void commit_loop();
    void hand_off(std::shared_ptr<commit_job> job);
    // Runs on the committing thread: the outcomes as the commit left them,
    // metrics, then the callbacks.
    void answer(commit_job& job);
    // Waits until the batch in flight (if any) is committed. false: its
    // commit failed; the log's staged batches are dropped, the cache is
    // emptied and the read models must catch up (needs_resync_).
    bool settle_in_flight();
    // The log refuses this instance for good (fenced): stop taking commands.
    void report_fatal(const std::string& message);
    // The checkpoint records due now, for the partitions whose tree (as
    // tree_ holds it) has grown past the last checkpoint by the limits.
    // `decoded` receives their event records, in the same order.
    [[nodiscard]] result<std::vector<events::log_record>> due_checkpoints(instant now,
                                                                          std::vector<event_record>& decoded);
    void record_metrics(const std::vector<command_outcome>& outcomes, const std::vector<pending>& batch,
                        double apply_us, double append_us);

    events::rocks_store& store_;
    events::event_log& log_;
    read_model& reads_;
    const clock& clock_;
    ledger_context context_;
    writer_options options_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<pending> queue_;
    bool accepting_ = false;
    bool fatal_reported_ = false;
    // A commit failed: whether the log kept the batch is unknown until the
    // read models have caught up with the log again.
    bool needs_resync_ = false;
    // The last failed attempt to catch up, and what it said (writer thread).
    struct resync_failure {
        std::chrono::steady_clock::time_point at;
        std::string message;
    };
    std::optional<resync_failure> last_resync_failure_;
    bool stopping_ = false;
    std::thread thread_;

    // Writer-thread state: the last instant stamped and the cached streams.
    instant last_now_;
    struct cached;
    std::unordered_map<stream_id, std::shared_ptr<cached>> cache_;
    // The partitions' Merkle trees as committed, and each partition's last
    // checkpoint (tree size and instant; none before the first).
    audit_tree tree_;
    struct last_checkpoint {
        // The tree's size just after the checkpoint's own leaf; 0 for none.
        std::uint64_t leaves = 0;
        instant at;
    };
    std::map<std::int32_t, last_checkpoint> checkpoints_;
    // Stopping: a checkpoint for whatever the last one does not cover.
    bool final_checkpoint_ = false;
    // Reads tree_ and checkpoints_ back from the store (start, resync).
    [[nodiscard]] result<void> load_audit();

    // The batch handed on whose commit result the writer thread has not yet
    // seen (writer thread).
    std::shared_ptr<commit_job> in_flight_;
    // Jobs for the committing thread, and each job's `settled` flag.
    std::mutex commit_mutex_;
    std::condition_variable commit_wake_;
    std::condition_variable settled_wake_;
    std::deque<std::shared_ptr<commit_job>> commit_queue_;
    bool committer_stopping_ = false;

    mutable std::mutex metrics_mutex_;
    writer_metrics metrics_;
};

}  // namespace regledger::projections
