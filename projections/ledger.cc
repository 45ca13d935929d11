#include "projections/ledger.h"

#include <fmt/format.h>

#include "events/embedded_log.h"
#include "events/log_verify.h"
#include "projections/keys.h"
#include "projections/replay.h"

namespace regledger::projections {

std::vector<std::string_view> ledger::embedded_families() {
    std::vector<std::string_view> families(all_families.begin(), all_families.end());
    families.push_back(events::embedded_log::column_family);
    return families;
}

std::vector<std::string_view> ledger::kafka_families() {
    return std::vector<std::string_view>(all_families.begin(), all_families.end());
}

namespace {

// The data directory's RocksDB store with `families`.
result<std::unique_ptr<events::rocks_store>, open_failure> open_store(const ledger_options& options,
                                                                    const std::vector<std::string_view>& families) {
    events::store_options store_options;
    store_options.dir = options.data_dir;
    store_options.sync_writes = options.sync_writes;
    auto store = events::rocks_store::open(store_options, families);
    if (!store) {
        return open_failure{fmt::format("cannot open the data directory {}: {}", options.data_dir.string(),
                                        store.error().message()),
                            std::nullopt};
    }
    return std::move(store).value();
}

}  // namespace

result<std::unique_ptr<ledger>, open_failure> ledger::open_embedded(const ledger_options& options, const clock& time,
                                                                   ledger_context context) {
    std::unique_ptr<ledger> l(new ledger(time));
    auto store = open_store(options, embedded_families());
    if (!store) return store.error();
    l->store_ = std::move(store).value();
    auto log = events::embedded_log::open(*l->store_);
    if (!log) return open_failure{fmt::format("cannot open the log: {}", log.error().message()), std::nullopt};
    l->log_ = std::move(log).value();

    events::verify_options verify;
    verify.progress = options.verify_progress;
    auto verified = events::verify_log(*l->log_, verify);
    if (!verified) {
        const auto& problem = verified.error();
        return open_failure{fmt::format("the log is damaged at position {}:{}: {}; refusing to serve",
                                        problem.position.partition.value(), problem.position.offset.value(),
                                        problem.what),
                            problem.position};
    }
    l->reads_ = std::make_unique<read_model>(*l->store_, *l->log_);
    // The log and the read models are written in one batch, so the read
    // models never reflect more than the log holds, unless the log lost its
    // tail; serving it would hand the lost offsets out again.
    for (std::int32_t p = 0; p < l->log_->partition_count(); ++p) {
        const partition_id partition(p);
        const auto end = l->log_->end(partition);
        if (!end) return open_failure{"cannot read the log's end: " + end.error().message(), std::nullopt};
        const log_offset applied = l->reads_->checkpoint(partition);
        if (applied > end.value()) {
            return open_failure{fmt::format("the log is damaged at position {}:{}: records {} to {} are missing (the "
                                            "read models reflect them); refusing to serve",
                                            p, end.value().value(), end.value().value(), applied.value() - 1),
                                log_position{partition, end.value()}};
        }
    }
    auto caught_up = catch_up(*l->store_, *l->log_, *l->reads_);
    if (!caught_up) {
        return open_failure{fmt::format("cannot apply the log to the read models: {}", caught_up.error().message()),
                            std::nullopt};
    }
    l->writer_ = std::make_unique<writer>(*l->store_, *l->log_, *l->reads_, time, context, options.writer);
    l->writer_->start();
    return l;
}

result<std::unique_ptr<ledger>, open_failure> ledger::open_kafka(const ledger_options& options,
                                                                const events::kafka_options& kafka, const clock& time,
                                                                ledger_context context) {
    std::unique_ptr<ledger> l(new ledger(time));
    auto store = open_store(options, kafka_families());
    if (!store) return store.error();
    l->store_ = std::move(store).value();
    auto log = events::kafka_log::open(kafka);
    if (!log) {
        return open_failure{fmt::format("cannot open the Kafka log {} at {}: {}", kafka.topic, kafka.brokers,
                                        log.error().message()),
                            std::nullopt};
    }
    log.value()->set_local_store(l->store_.get());
    l->log_ = std::move(log).value();
    l->reads_ = std::make_unique<read_model>(*l->store_, *l->log_);
    for (std::int32_t p = 0; p < l->log_->partition_count(); ++p) {
        const auto end = l->log_->end(partition_id(p));
        if (!end) return open_failure{"cannot read the Kafka log's end: " + end.error().message(), std::nullopt};
        if (l->reads_->checkpoint(partition_id(p)) > end.value()) {
            return open_failure{fmt::format("the read models are ahead of partition {} of {} (checkpoint {}, end {}): "
                                            "this data directory belongs to another topic; refusing to serve",
                                            p, kafka.topic, l->reads_->checkpoint(partition_id(p)).value(),
                                            end.value().value()),
                                log_position{partition_id(p), end.value()}};
        }
    }
    auto caught_up = catch_up(*l->store_, *l->log_, *l->reads_);
    if (!caught_up) {
        return open_failure{fmt::format("cannot apply the log to the read models: {}", caught_up.error().message()),
                            std::nullopt};
    }
    l->writer_ = std::make_unique<writer>(*l->store_, *l->log_, *l->reads_, time, context, options.writer);
    l->writer_->start();
    return l;
}

void ledger::close() {
    if (writer_) writer_->stop();
}

ledger::~ledger() { close(); }

}  // namespace regledger::projections
