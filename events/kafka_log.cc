#include "events/kafka_log.h"

#include <cassert>
#include <limits>
#include <random>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include "engine/envelope.h"

namespace regledger::events {
namespace {

class kafka_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "regledger.kafka"; }
    std::string message(int value) const override {
        switch (static_cast<kafka_errc>(value)) {
            case kafka_errc::unavailable: return "the Kafka brokers did not answer in time";
            case kafka_errc::fenced: return "a newer writer took over these partitions (fenced)";
            case kafka_errc::commit_unknown:
                return "Kafka did not confirm the commit, which may have completed; repeating the command with "
                       "its command_id answers which";
            case kafka_errc::topic_mismatch: return "the topic's partition count differs from the configuration";
            case kafka_errc::bad_config: return "librdkafka refused the configuration";
            case kafka_errc::other: return "Kafka error";
            case kafka_errc::unstable:
                return "a transaction below the log's end is still not readable (open, or without its commit "
                       "markers); the log cannot be read to its end";
        }
        return "Kafka error";
    }
};

bool set(RdKafka::Conf& conf, const std::string& key, const std::string& value, std::string& error) {
    return conf.set(key, value, error) == RdKafka::Conf::CONF_OK;
}

bool is_fenced_code(RdKafka::ErrorCode code) {
    return code == RdKafka::ERR__FENCED || code == RdKafka::ERR_PRODUCER_FENCED ||
           code == RdKafka::ERR_INVALID_PRODUCER_EPOCH || code == RdKafka::ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
}

}  // namespace

const std::error_category& kafka_category() noexcept {
    static const kafka_category_impl category;
    return category;
}

// Delivery reports of one staged batch: the offset (or error) of record i,
// and the first error of its public facts. Each message carries the batch's
// generation beside its index: the report of a message from an earlier batch
// (one that failed, whose messages librdkafka delivered or purged later, and
// reports at the next flush) is not taken for this batch's.
struct kafka_log::delivery final : RdKafka::DeliveryReportCb {
    static_assert(sizeof(std::uintptr_t) >= 8, "the message tag holds a generation and an index");
    static constexpr std::uint32_t public_fact = std::numeric_limits<std::uint32_t>::max();

    std::uint32_t generation = 0;
    std::vector<std::int64_t> offsets;
    std::vector<RdKafka::ErrorCode> errors;
    RdKafka::ErrorCode public_error = RdKafka::ERR_NO_ERROR;

    void reset(std::size_t n) {
        ++generation;
        offsets.assign(n, -1);
        errors.assign(n, RdKafka::ERR__IN_PROGRESS);
        public_error = RdKafka::ERR_NO_ERROR;
    }
    void* tag(std::uint32_t index) const {
        return reinterpret_cast<void*>((static_cast<std::uintptr_t>(generation) << 32) | index);
    }
    void dr_cb(RdKafka::Message& message) override {
        const auto tag = reinterpret_cast<std::uintptr_t>(message.msg_opaque());
        const auto index = static_cast<std::uint32_t>(tag & 0xffffffffu);
        if (static_cast<std::uint32_t>(tag >> 32) != generation) return;
        if (index == public_fact) {
            if (public_error == RdKafka::ERR_NO_ERROR) public_error = message.err();
            return;
        }
        if (index >= offsets.size()) return;
        offsets[index] = message.offset();
        errors[index] = message.err();
    }
};

std::int32_t kafka_log::murmur2_partition(std::string_view key, std::int32_t partitions) noexcept {
    const auto* data = reinterpret_cast<const std::uint8_t*>(key.data());
    const auto length = static_cast<std::uint32_t>(key.size());
    constexpr std::uint32_t m = 0x5bd1e995;
    constexpr int r = 24;
    std::uint32_t h = 0x9747b28cu ^ length;
    const std::uint32_t blocks = length / 4;
    for (std::uint32_t i = 0; i < blocks; ++i) {
        std::uint32_t k = static_cast<std::uint32_t>(data[4 * i]) | static_cast<std::uint32_t>(data[4 * i + 1]) << 8 |
                          static_cast<std::uint32_t>(data[4 * i + 2]) << 16 |
                          static_cast<std::uint32_t>(data[4 * i + 3]) << 24;
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    const std::uint32_t tail = length & ~3u;
    switch (length % 4) {
        case 3: h ^= static_cast<std::uint32_t>(data[tail + 2]) << 16; [[fallthrough]];
        case 2: h ^= static_cast<std::uint32_t>(data[tail + 1]) << 8; [[fallthrough]];
        case 1:
            h ^= static_cast<std::uint32_t>(data[tail]);
            h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return static_cast<std::int32_t>((h & 0x7fffffffu) % static_cast<std::uint32_t>(partitions));
}

kafka_log::kafka_log(kafka_options options) : options_(std::move(options)), delivery_(std::make_unique<delivery>()) {}

kafka_log::~kafka_log() {
    if (producer_) {
        if (in_transaction_ || needs_abort_) {
            if (RdKafka::Error* e = producer_->abort_transaction(static_cast<int>(options_.timeout.count()))) delete e;
        }
        producer_->flush(static_cast<int>(options_.timeout.count()));
    }
    if (consumer_) consumer_->close();
}

partition_id kafka_log::partition_of(const stream_id& key) const noexcept {
    return partition_id(murmur2_partition(key.value(), options_.partitions));
}

bool kafka_log::owns(partition_id p) const noexcept {
    return options_.owned.empty() || options_.owned.contains(p.value());
}

std::error_code kafka_log::classify(int code, bool fatal) noexcept {
    const auto c = static_cast<RdKafka::ErrorCode>(code);
    // librdkafka raises a fatal error (fencing among them) on the handle; a
    // failing call may only say ERR__FATAL or some consequence of it.
    auto c_or_cause = c;
    std::string reason;
    std::lock_guard lock(producer_mutex_);
    if (producer_) {
        if (const auto cause = producer_->fatal_error(reason); cause != RdKafka::ERR_NO_ERROR) {
            fatal = true;
            c_or_cause = cause;
        }
    }
    if (is_fenced_code(c) || is_fenced_code(c_or_cause)) {
        fatal_ = true;
        return kafka_errc::fenced;
    }
    if (fatal || c == RdKafka::ERR__FATAL) {
        // Not fenced, yet this producer is done: a new one takes over.
        if (!options_.read_only) needs_reinit_ = true;
        return kafka_errc::unavailable;
    }
    if (c == RdKafka::ERR__TIMED_OUT || c == RdKafka::ERR__TRANSPORT || c == RdKafka::ERR__ALL_BROKERS_DOWN ||
        c == RdKafka::ERR__MSG_TIMED_OUT || c == RdKafka::ERR_REQUEST_TIMED_OUT ||
        c == RdKafka::ERR_NOT_ENOUGH_REPLICAS || c == RdKafka::ERR_COORDINATOR_NOT_AVAILABLE ||
        c == RdKafka::ERR_NOT_COORDINATOR || c == RdKafka::ERR__TIMED_OUT_QUEUE || c == RdKafka::ERR__QUEUE_FULL) {
        return kafka_errc::unavailable;
    }
    return kafka_errc::other;
}

result<std::unique_ptr<kafka_log>> kafka_log::open(const kafka_options& options) {
    if (options.partitions < 1) return make_error_code(kafka_errc::bad_config);
    std::unique_ptr<kafka_log> log(new kafka_log(options));
    auto& o = log->options_;
    if (o.transactional_id.empty()) {
        std::string parts;
        for (std::int32_t p = 0; p < o.partitions; ++p) {
            if (!o.owned.empty() && !o.owned.contains(p)) continue;
            parts += fmt::format("{}{}", parts.empty() ? "" : "-", p);
        }
        o.transactional_id = fmt::format("regledger-{}-p{}", o.topic, parts);
    }
    const int timeout_ms = static_cast<int>(o.timeout.count());
    std::string error;
    if (const auto failed = log->create_producer()) return failed;

    // The topics: created when missing; the partition count checked.
    rd_kafka_t* rk = log->producer_->c_ptr();
    if (!o.read_only) {
        const std::string min_isr = o.replication >= 3 ? "2" : "1";
        std::vector<rd_kafka_NewTopic_t*> topics;
        char errstr[512];
        for (const std::string& name : {o.topic, o.public_topic}) {
            rd_kafka_NewTopic_t* t =
                rd_kafka_NewTopic_new(name.c_str(), o.partitions, o.replication, errstr, sizeof errstr);
            if (t == nullptr) return make_error_code(kafka_errc::bad_config);
            // A ledger keeps everything: no deletion by age, never compacted.
            rd_kafka_NewTopic_set_config(t, "retention.ms", "-1");
            rd_kafka_NewTopic_set_config(t, "cleanup.policy", "delete");
            rd_kafka_NewTopic_set_config(t, "min.insync.replicas", min_isr.c_str());
            topics.push_back(t);
        }
        rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t* admin = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        rd_kafka_AdminOptions_set_request_timeout(admin, timeout_ms, errstr, sizeof errstr);
        rd_kafka_CreateTopics(rk, topics.data(), topics.size(), admin, queue);
        rd_kafka_event_t* event = rd_kafka_queue_poll(queue, timeout_ms + 1000);
        std::error_code failure;
        if (event == nullptr) {
            failure = kafka_errc::unavailable;
        } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            failure = log->classify(rd_kafka_event_error(event), false);
        } else {
            const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(event);
            size_t n = 0;
            const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
            for (size_t i = 0; i < n; ++i) {
                const auto err = rd_kafka_topic_result_error(results[i]);
                if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                    failure = log->classify(err, false);
                }
            }
        }
        if (event != nullptr) rd_kafka_event_destroy(event);
        rd_kafka_AdminOptions_destroy(admin);
        rd_kafka_queue_destroy(queue);
        for (auto* t : topics) rd_kafka_NewTopic_destroy(t);
        if (failure) return failure;
    }
    // A topic just created reaches the metadata of every broker a moment
    // later: ask again within the bound.
    const auto deadline = std::chrono::steady_clock::now() + o.timeout;
    for (bool found = false; !found;) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return make_error_code(o.read_only ? kafka_errc::topic_mismatch : kafka_errc::unavailable);
        }
        RdKafka::Metadata* raw = nullptr;
        std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(log->producer_.get(), o.topic, nullptr, error));
        if (log->producer_->metadata(false, topic.get(), &raw, timeout_ms) != RdKafka::ERR_NO_ERROR) {
            return make_error_code(kafka_errc::unavailable);
        }
        std::unique_ptr<RdKafka::Metadata> metadata(raw);
        for (const auto* t : *metadata->topics()) {
            if (t->topic() != o.topic || t->err() != RdKafka::ERR_NO_ERROR) continue;
            found = true;
            // A reader takes the topic as it is; a writer insists on its
            // configured partitioning, or streams would change partition.
            if (o.read_only) {
                o.partitions = static_cast<std::int32_t>(t->partitions()->size());
            } else if (static_cast<std::int32_t>(t->partitions()->size()) != o.partitions) {
                return make_error_code(kafka_errc::topic_mismatch);
            }
        }
        // A reader of a topic that does not exist gives up at once.
        if (!found && o.read_only) return make_error_code(kafka_errc::topic_mismatch);
        if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (o.read_only) return log;

    if (const auto failed = log->init_producer()) return failed;
    log->warm_metadata();
    return log;
}

void kafka_log::warm_metadata() {
    const int timeout_ms = static_cast<int>(options_.timeout.count());
    for (const std::string& name : {options_.topic, options_.public_topic}) {
        std::string error;
        std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(producer_.get(), name, nullptr, error));
        if (!topic) continue;
        RdKafka::Metadata* raw = nullptr;
        if (producer_->metadata(false, topic.get(), &raw, timeout_ms) == RdKafka::ERR_NO_ERROR) delete raw;
    }
}

std::error_code kafka_log::create_producer() {
    const auto& o = options_;
    const int timeout_ms = static_cast<int>(o.timeout.count());
    std::string error;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    bool ok = set(*conf, "bootstrap.servers", o.brokers, error) && set(*conf, "client.id", "regledgerd", error) &&
              (o.read_only || set(*conf, "transactional.id", o.transactional_id, error)) &&
              set(*conf, "enable.idempotence", "true", error) && set(*conf, "acks", "all", error) &&
              set(*conf, "linger.ms", "1", error) &&
              // end() asks for the high watermark, past any open transaction
              // (librdkafka's default would answer the last stable offset).
              set(*conf, "isolation.level", "read_uncommitted", error) &&
              set(*conf, "message.timeout.ms", std::to_string(timeout_ms), error) &&
              set(*conf, "transaction.timeout.ms", std::to_string(std::max<std::int64_t>(o.transaction_timeout.count(), 2 * timeout_ms)), error) &&
              set(*conf, "socket.timeout.ms", std::to_string(std::max(1000, timeout_ms)), error) &&
              set(*conf, "message.max.bytes", "8388608", error) &&
              // Errors only: the retries of a broker still starting are expected.
              set(*conf, "log_level", "3", error);
    for (const auto& [k, v] : o.properties) ok = ok && set(*conf, k, v, error);
    if (!ok || conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(delivery_.get()), error) !=
                   RdKafka::Conf::CONF_OK) {
        return make_error_code(kafka_errc::bad_config);
    }
    std::unique_ptr<RdKafka::Producer> created(RdKafka::Producer::create(conf.get(), error));
    if (!created) return make_error_code(kafka_errc::bad_config);
    std::lock_guard lock(producer_mutex_);
    producer_ = std::move(created);
    return {};
}

std::error_code kafka_log::init_producer() {
    if (RdKafka::Error* e = producer_->init_transactions(static_cast<int>(options_.timeout.count()))) {
        const auto code = classify(e->code(), e->is_fatal());
        delete e;
        return code;
    }
    return {};
}

result<void> kafka_log::commit_with_retries() noexcept {
    const auto deadline = std::chrono::steady_clock::now() + 2 * options_.timeout;
    for (;;) {
        RdKafka::Error* e = producer_->commit_transaction(static_cast<int>(options_.timeout.count()));
        if (e == nullptr) {
            in_transaction_ = false;
            return success();
        }
        const bool retriable = e->is_retriable() && !e->txn_requires_abort();
        const auto code = classify(e->code(), e->is_fatal());
        delete e;
        if (fatal_) return code;
        if (retriable && std::chrono::steady_clock::now() < deadline) continue;
        // Whatever librdkafka concludes, the EndTxn(commit) may have reached
        // the coordinator, which then completes it: a transaction that
        // "failed locally" may well be committed. Aborting it is not safe
        // (it may commit regardless), nor is taking it as lost (its records
        // would appear after the read models were caught up, and a repeated
        // command would be written twice). The next settle() replaces the
        // producer; the coordinator decides before anything goes on.
        in_transaction_ = false;
        needs_abort_ = false;
        needs_reinit_ = true;
        return make_error_code(kafka_errc::commit_unknown);
    }
}

result<void> kafka_log::settle() noexcept {
    if (options_.read_only || fatal_) return success();
    if (needs_reinit_) {
        {
            std::lock_guard lock(producer_mutex_);
            producer_.reset();
        }
        if (const auto failed = create_producer()) return failed;
        warm_metadata();
        needs_reinit_ = false;
        needs_init_ = true;
    }
    if (needs_init_) {
        // The old producer's open transaction, if any, is completed (its
        // markers written) or aborted by the coordinator before
        // init_transactions returns. One that timed out (a coordinator still
        // loading, or writing the last markers, after a restart) is asked
        // again on the same producer, as librdkafka allows: a fresh producer
        // each time could never finish within the bound on a slow broker. A
        // fatal error sets needs_reinit_ instead.
        if (const auto failed = init_producer()) return failed;
        needs_init_ = false;
        needs_abort_ = false;
        in_transaction_ = false;
        return success();
    }
    if (!needs_abort_) return success();
    if (RdKafka::Error* e = producer_->abort_transaction(static_cast<int>(options_.timeout.count()))) {
        const auto code = classify(e->code(), e->is_fatal());
        delete e;
        return code;
    }
    needs_abort_ = false;
    in_transaction_ = false;
    return success();
}

std::error_code kafka_log::stage_failed(std::error_code code) noexcept {
    // Some of the batch's messages may have reached the broker without this
    // producer learning so (a delivery timed out, the connection dropped).
    // librdkafka may then give the next transaction's messages the sequence
    // numbers of those, which the broker answers as duplicates of what it
    // holds: delivered, at an offset of the failed transaction, while nothing
    // new was written. Seen with a broker killed mid-batch: a later commit
    // succeeded without its record. A new producer starts a new epoch, whose
    // sequences the broker never confuses with the old ones, and its
    // init_transactions aborts this transaction.
    in_transaction_ = false;
    needs_abort_ = false;
    if (!fatal_) needs_reinit_ = true;
    return code;
}

result<std::vector<log_position>> kafka_log::stage(std::span<const log_record> records) {
    assert(!in_transaction_ && "stage() twice without commit() or abort()");
    if (options_.read_only) return make_error_code(kafka_errc::bad_config);
    if (fatal_) return make_error_code(kafka_errc::fenced);
    BOOST_OUTCOME_TRY(settle());
    if (RdKafka::Error* e = producer_->begin_transaction()) {
        const auto code = classify(e->code(), e->is_fatal());
        delete e;
        return code;
    }
    in_transaction_ = true;
    assert(records.size() < delivery::public_fact);
    delivery_->reset(records.size());
    const std::string schema = std::to_string(current_schema_version);
    for (std::size_t i = 0; i < records.size(); ++i) {
        const log_record& r = records[i];
        const std::int32_t partition = r.partition ? r.partition->value() : partition_of(r.key).value();
        RdKafka::Headers* headers = RdKafka::Headers::create();
        headers->add("type", std::to_string(r.type));
        headers->add("schema", schema);
        auto err = producer_->produce(options_.topic, partition, RdKafka::Producer::RK_MSG_COPY,
                                      const_cast<std::uint8_t*>(r.value.data()), r.value.size(), r.key.value().data(),
                                      r.key.value().size(), 0, headers,
                                      delivery_->tag(static_cast<std::uint32_t>(i)));
        if (err != RdKafka::ERR_NO_ERROR) {
            delete headers;  // not taken on failure
            return stage_failed(classify(err, false));
        }
        if (r.public_fact) {
            RdKafka::Headers* public_headers = RdKafka::Headers::create();
            public_headers->add("type", std::to_string(r.type));
            public_headers->add("content-type", "application/json");
            err = producer_->produce(options_.public_topic, partition, RdKafka::Producer::RK_MSG_COPY,
                                     const_cast<char*>(r.public_fact->data()), r.public_fact->size(),
                                     r.key.value().data(), r.key.value().size(), 0, public_headers,
                                     delivery_->tag(delivery::public_fact));
            if (err != RdKafka::ERR_NO_ERROR) {
                delete public_headers;
                return stage_failed(classify(err, false));
            }
        }
    }
    const auto flushed = producer_->flush(static_cast<int>(options_.timeout.count()));
    if (flushed != RdKafka::ERR_NO_ERROR) return stage_failed(classify(flushed, false));
    if (delivery_->public_error != RdKafka::ERR_NO_ERROR) return stage_failed(classify(delivery_->public_error, false));
    std::vector<log_position> positions;
    positions.reserve(records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
        if (delivery_->errors[i] != RdKafka::ERR_NO_ERROR) return stage_failed(classify(delivery_->errors[i], false));
        positions.push_back({records[i].partition ? *records[i].partition : partition_of(records[i].key),
                             log_offset(delivery_->offsets[i])});
    }
    return positions;
}

result<void> kafka_log::commit(rocksdb::WriteBatch& local) {
    assert(in_transaction_ && "commit() without stage()");
    BOOST_OUTCOME_TRY(commit_with_retries());
    assert(local_ != nullptr);
    if (auto written = local_->write(local); !written) {
        // The events are committed in Kafka but the read models lag: stop
        // writing; a restart replays them from the checkpoint.
        fatal_ = true;
        return written.error();
    }
    return success();
}

void kafka_log::abort() noexcept {
    // A commit that went unconfirmed is not in a transaction any more: it
    // waits for the producer's replacement, never for an abort.
    if (in_transaction_) needs_abort_ = true;
    in_transaction_ = false;
    (void)settle();
}

std::error_code kafka_log::open_reader() const {
    if (consumer_) return {};
    std::string error;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::random_device rd;
    bool ok = set(*conf, "bootstrap.servers", options_.brokers, error) &&
              set(*conf, "group.id", fmt::format("regledger-reader-{}-{:08x}", ::getpid(), rd()), error) &&
              set(*conf, "isolation.level", "read_committed", error) &&
              set(*conf, "enable.auto.commit", "false", error) &&
              set(*conf, "enable.auto.offset.store", "false", error) &&
              set(*conf, "enable.partition.eof", "true", error) &&
              set(*conf, "auto.offset.reset", "earliest", error) &&
              set(*conf, "fetch.message.max.bytes", "8388608", error) && set(*conf, "log_level", "3", error);
    for (const auto& [k, v] : options_.properties) ok = ok && set(*conf, k, v, error);
    if (!ok) return make_error_code(kafka_errc::bad_config);
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
    if (!consumer_) return make_error_code(kafka_errc::bad_config);
    return {};
}

result<std::vector<stored_record>> kafka_log::read(log_position from, std::size_t max_records) const {
    std::lock_guard lock(read_mutex_);
    if (const auto failed = open_reader()) return failed;
    std::vector<RdKafka::TopicPartition*> assignment{
        RdKafka::TopicPartition::create(options_.topic, from.partition.value(), from.offset.value())};
    const auto assigned = consumer_->assign(assignment);
    RdKafka::TopicPartition::destroy(assignment);
    if (assigned != RdKafka::ERR_NO_ERROR) return make_error_code(kafka_errc::other);

    std::vector<stored_record> out;
    const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
    bool at_end = false;
    while (out.size() < max_records && !at_end && std::chrono::steady_clock::now() < deadline) {
        std::unique_ptr<RdKafka::Message> m(consumer_->consume(100));
        switch (m->err()) {
            case RdKafka::ERR_NO_ERROR: {
                if (m->partition() != from.partition.value() || m->offset() < from.offset.value()) break;
                const auto* bytes = static_cast<const std::uint8_t*>(m->payload());
                out.push_back({{partition_id(m->partition()), log_offset(m->offset())},
                               std::vector<std::uint8_t>(bytes, bytes + m->len())});
                break;
            }
            case RdKafka::ERR__PARTITION_EOF: at_end = true; break;
            case RdKafka::ERR__TIMED_OUT: break;
            default:
                consumer_->unassign();
                return const_cast<kafka_log*>(this)->classify(m->err(), false);
        }
    }
    consumer_->unassign();
    if (!at_end && out.empty()) return make_error_code(kafka_errc::unavailable);
    return out;
}

result<void> kafka_log::await_stable(partition_id partition, log_offset end) const {
    if (end.value() <= 0) return success();
    const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
    std::lock_guard lock(read_mutex_);
    if (const auto failed = open_reader()) return failed;
    for (;;) {
        // Where the reader stands when it reports the end of the partition:
        // the last stable offset (or past it, over commit markers).
        std::int64_t reached = -1;
        std::vector<RdKafka::TopicPartition*> assignment{
            RdKafka::TopicPartition::create(options_.topic, partition.value(), end.value() - 1)};
        const auto assigned = consumer_->assign(assignment);
        RdKafka::TopicPartition::destroy(assignment);
        if (assigned != RdKafka::ERR_NO_ERROR) return make_error_code(kafka_errc::other);
        bool at_end = false;
        while (!at_end && reached < end.value() && std::chrono::steady_clock::now() < deadline) {
            std::unique_ptr<RdKafka::Message> m(consumer_->consume(100));
            switch (m->err()) {
                case RdKafka::ERR_NO_ERROR:
                    if (m->partition() == partition.value()) reached = std::max(reached, m->offset() + 1);
                    break;
                case RdKafka::ERR__PARTITION_EOF:
                    reached = std::max(reached, m->offset());
                    at_end = true;
                    break;
                case RdKafka::ERR__TIMED_OUT: break;
                default:
                    consumer_->unassign();
                    return const_cast<kafka_log*>(this)->classify(m->err(), false);
            }
        }
        consumer_->unassign();
        if (reached >= end.value()) return success();
        if (std::chrono::steady_clock::now() >= deadline) {
            // A broker that answers with a last stable offset short of the
            // end: the records are there, a transaction holds them back.
            std::int64_t low = 0;
            std::int64_t stable = 0;
            const bool answered = consumer_->query_watermark_offsets(options_.topic, partition.value(), &low, &stable,
                                                                     1000) == RdKafka::ERR_NO_ERROR;
            return make_error_code(answered && stable < end.value() ? kafka_errc::unstable : kafka_errc::unavailable);
        }
        // Stopped short of the end: the markers are not written yet.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

result<log_offset> kafka_log::stable_end(partition_id partition) const {
    std::lock_guard lock(read_mutex_);
    if (const auto failed = open_reader()) return failed;
    std::int64_t low = 0;
    std::int64_t high = 0;
    // The reader is read_committed: the broker answers its last stable offset.
    const auto err = consumer_->query_watermark_offsets(options_.topic, partition.value(), &low, &high,
                                                        static_cast<int>(options_.timeout.count()));
    if (err != RdKafka::ERR_NO_ERROR) return const_cast<kafka_log*>(this)->classify(err, false);
    return log_offset(high);
}

result<log_offset> kafka_log::end(partition_id partition) const {
    // A topic just created may not have its leaders yet: ask again within
    // the bound.
    const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
    for (;;) {
        std::int64_t low = 0;
        std::int64_t high = 0;
        std::unique_lock lock(producer_mutex_);
        if (!producer_) return make_error_code(kafka_errc::unavailable);
        const auto err = producer_->query_watermark_offsets(options_.topic, partition.value(), &low, &high,
                                                            static_cast<int>(options_.timeout.count()));
        if (err == RdKafka::ERR_NO_ERROR) return log_offset(high);
        const bool transient = err == RdKafka::ERR_LEADER_NOT_AVAILABLE || err == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART ||
                               err == RdKafka::ERR_NOT_LEADER_FOR_PARTITION || err == RdKafka::ERR__UNKNOWN_PARTITION;
        if (!transient || std::chrono::steady_clock::now() >= deadline) return make_error_code(kafka_errc::unavailable);
        lock.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace regledger::events
