// kafka_log: the production log on Apache Kafka (ARCHITECTURE.md "The log").
//
// Topic `regledger.events`: key = stream id, value = the encoded event
// record, headers `type` (event type id) and `schema` (schema version); the
// partition is murmur2(key) mod the partition count, as Kafka's own clients
// choose it. A second topic, `regledger.public`, carries the public facts of
// the same events as JSON, written in the same transaction.
//
// Exactly once: an idempotent, transactional producer (acks=all) whose
// transactional.id names the partitions this instance owns; init at open
// fences every older instance with the same id. Each stage() begins a
// transaction and produces the batch; commit() commits it and then writes the
// caller's local batch (the projections and the checkpoint, which replay
// repairs if a crash falls in between). Readers are read_committed: aborted
// transactions are never seen. Offsets are never committed to Kafka; the
// checkpoint lives in RocksDB beside the read models.
//
// Failures: a broker that does not answer makes stage() or commit() fail
// within the configured bound (UNAVAILABLE for the commands). The next
// settle() then replaces the producer, whose init_transactions has the
// coordinator finish or abort what the failed one left open before anything
// is read or written again: a commit that went unconfirmed may still
// complete (so it is neither aborted nor taken as lost), and messages whose
// delivery went unconfirmed must not share sequence numbers with the next
// transaction's (a new producer epoch starts afresh). Only a transaction
// the caller drops after a complete stage() is aborted in place. A newer
// instance fencing this one makes fatal() true for good.
//
// Thread-safety: stage/commit/abort/settle from one thread at a time (the
// writer's; commit may run on its committing thread, never alongside the
// others: commits do not overlap stages here); read() and end() from any
// thread (reads are serialized on one consumer).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "events/event_log.h"
#include "events/rocks_store.h"

namespace RdKafka {
class Producer;
class KafkaConsumer;
}  // namespace RdKafka

namespace regledger::events {

enum class kafka_errc : int {
    // No broker answered within the bound.
    unavailable = 1,
    // A newer writer with the same transactional id took over.
    fenced = 2,
    // The commit was asked for and not confirmed: the coordinator may have
    // completed it or not. settle() learns which before the next stage().
    commit_unknown = 3,
    // The topic exists with another partition count than configured.
    topic_mismatch = 4,
    // A configuration librdkafka refused.
    bad_config = 5,
    // Anything else librdkafka reported.
    other = 6,
    // Records below the end stay unreadable to read_committed readers: a
    // transaction still open, or one whose markers are missing (a "hanging"
    // transaction, which kafka-transactions.sh can find and abort).
    unstable = 7,
};
const std::error_category& kafka_category() noexcept;
inline std::error_code make_error_code(kafka_errc e) noexcept { return {static_cast<int>(e), kafka_category()}; }

struct kafka_options {
    std::string brokers = "127.0.0.1:9092";
    std::string topic = "regledger.events";
    std::string public_topic = "regledger.public";
    // The topic's partitions (created with this many when missing).
    std::int32_t partitions = 1;
    // Replication of created topics (3 in production, 1 on one broker).
    std::int16_t replication = 1;
    // The partitions this instance writes; empty = all.
    std::set<std::int32_t> owned;
    // Default: "regledger-<topic>-p<owned partitions joined by '-'>".
    std::string transactional_id;
    // How long a produce, commit or read may wait for the brokers.
    std::chrono::milliseconds timeout{5000};
    // How long the transaction coordinator keeps a transaction open without
    // hearing from this writer before it aborts it and bumps the producer's
    // epoch, which fences this writer for good. A broker outage longer than
    // this therefore stops the writer (exit 3, as when fenced); a writer that
    // dies and is never restarted holds read_committed consumers back at most
    // this long (a restarted one aborts its open transaction at once). At
    // most the brokers' transaction.max.timeout.ms (15 minutes by default).
    std::chrono::milliseconds transaction_timeout{std::chrono::minutes(5)};
    // Read only (verify, rebuild, tail): no transactional producer, so a
    // running writer is not fenced; topics are not created; stage() fails.
    bool read_only = false;
    // Extra librdkafka properties (e.g. test.mock.num.brokers).
    std::map<std::string, std::string> properties;
};

class kafka_log final : public event_log {
public:
    // Connects, creates the topics when missing (checking the partition
    // count when present), and initializes the transactional producer, which
    // fences any older instance with the same transactional id.
    [[nodiscard]] static result<std::unique_ptr<kafka_log>> open(const kafka_options& options);
    ~kafka_log() override;

    std::int32_t partition_count() const noexcept override { return options_.partitions; }
    partition_id partition_of(const stream_id& key) const noexcept override;
    bool owns(partition_id p) const noexcept override;
    bool fatal() const noexcept override { return fatal_.load(); }
    bool contiguous_offsets() const noexcept override { return false; }

    result<std::vector<log_position>> stage(std::span<const log_record> records) override;
    result<void> commit(rocksdb::WriteBatch& local) override;
    void abort() noexcept override;
    result<void> settle() noexcept override;

    result<std::vector<stored_record>> read(log_position from, std::size_t max_records) const override;
    result<log_offset> end(partition_id partition) const override;
    // Reads from `end - 1` until the reader's end of partition reaches
    // `end`: a read_committed reader stops at the last stable offset, before
    // the first transaction whose markers are not written yet.
    result<void> await_stable(partition_id partition, log_offset end) const override;
    // The last stable offset: where a read_committed reader stops now (end()
    // less any transaction still open, or committed without its markers).
    // Reading "from now on" starts here, so that no transaction open at this
    // instant is skipped when it commits.
    result<log_offset> stable_end(partition_id partition) const;

    // The store commit() writes the local batch to. REQUIRES: set before
    // the first commit.
    void set_local_store(rocks_store* store) noexcept { local_ = store; }
    const kafka_options& options() const noexcept { return options_; }

    // Kafka's murmur2 partitioner (the Java client's default).
    static std::int32_t murmur2_partition(std::string_view key, std::int32_t partitions) noexcept;

private:
    explicit kafka_log(kafka_options options);
    // The (transactional, unless read only) producer from options_.
    std::error_code create_producer();
    // init_transactions: fences older instances with the transactional id
    // and completes or aborts whatever transaction of theirs is open.
    std::error_code init_producer();
    // Asks the brokers for both topics' metadata, so that the first
    // transaction of a new producer does not wait for the leader of a
    // partition it has not written yet (about half a second, librdkafka's
    // metadata refresh); best effort: a failure shows at the next produce.
    void warm_metadata();
    // Creates consumer_ (read_committed, never commits offsets) unless it
    // exists. REQUIRES: read_mutex_ held.
    std::error_code open_reader() const;
    // commit_transaction, retried while librdkafka says the error is
    // retriable, within the bound.
    result<void> commit_with_retries() noexcept;
    std::error_code classify(int librdkafka_error, bool fatal) noexcept;
    // A stage() that failed after producing: the transaction is left to the
    // next settle(), which replaces the producer. Returns `code`.
    std::error_code stage_failed(std::error_code code) noexcept;

    kafka_options options_;
    std::unique_ptr<RdKafka::Producer> producer_;
    // Guards producer_ against its replacement (settle(), writer thread)
    // while other threads use it: end() and classify() from read().
    mutable std::mutex producer_mutex_;
    mutable std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
    mutable std::mutex read_mutex_;
    rocks_store* local_ = nullptr;
    std::atomic<bool> fatal_{false};
    bool in_transaction_ = false;
    // A transaction the caller dropped (abort()) after it was staged in
    // full: it is aborted before the next begins.
    bool needs_abort_ = false;
    // The producer raised a fatal error other than fencing (for one, the
    // coordinator lost the transaction over a broker restart), or a commit
    // went unconfirmed: it is replaced by a new one with the same
    // transactional id before the next transaction. The new one's
    // init_transactions returns only once the coordinator has completed
    // (committed or aborted, its markers written) whatever the old one left
    // open, and fences the old one's requests still on their way.
    std::atomic<bool> needs_reinit_{false};
    // A producer whose init_transactions has not succeeded yet (writer
    // thread only).
    bool needs_init_ = false;

    struct delivery;
    std::unique_ptr<delivery> delivery_;
};

}  // namespace regledger::events

template <>
struct std::is_error_code_enum<regledger::events::kafka_errc> : std::true_type {};
