// ledger: a data directory opened for service — the store, the log, the read
// model and the writer, wired in the order that keeps them consistent:
//   1. open the RocksDB store with the log's and the read models' families;
//   2. verify the whole log (events/log_verify.h): a damaged log is refused
//      with the position of its first problem, and nothing is served;
//   3. apply what the log holds beyond the checkpoint (replay.h);
//   4. start the writer. Only then is the ledger ready.
//
// Thread-safety: the parts are as their headers say; open/close from one
// thread.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "events/event_log.h"
#include "events/kafka_log.h"
#include "events/rocks_store.h"
#include "projections/clock.h"
#include "projections/read_model.h"
#include "projections/replay.h"
#include "projections/writer.h"

namespace regledger::projections {

struct ledger_options {
    std::filesystem::path data_dir;
    bool sync_writes = true;
    writer_options writer;
    // Progress of the start-up verification: records checked, records in all.
    std::function<void(std::uint64_t checked, std::uint64_t total)> verify_progress;
};

struct open_failure {
    std::string message;
    // The first damaged record, when the log is damaged.
    std::optional<log_position> position;
};

class ledger {
public:
    // The embedded default: the log in the data directory's own RocksDB.
    [[nodiscard]] static result<std::unique_ptr<ledger>, open_failure> open_embedded(const ledger_options& options,
                                                                                    const clock& time,
                                                                                    ledger_context context);
    ~ledger();

    writer& writes() noexcept { return *writer_; }
    read_model& reads() noexcept { return *reads_; }
    events::event_log& log() noexcept { return *log_; }
    events::rocks_store& store() noexcept { return *store_; }
    const clock& time() const noexcept { return clock_; }

    // Apache Kafka as the log; the data directory holds the read models and
    // the checkpoint only. The whole topic is not re-verified at every start
    // (`regledger verify --brokers` does that); what the checkpoint has not
    // reached is replayed before the writer starts.
    [[nodiscard]] static result<std::unique_ptr<ledger>, open_failure> open_kafka(
        const ledger_options& options, const events::kafka_options& kafka, const clock& time, ledger_context context);

    // Stops the writer after the commands queued so far.
    void close();

    // Column families of an embedded data directory, and of a Kafka one.
    static std::vector<std::string_view> embedded_families();
    static std::vector<std::string_view> kafka_families();

private:
    ledger(const clock& time) : clock_(time) {}

    const clock& clock_;
    std::unique_ptr<events::rocks_store> store_;
    std::unique_ptr<events::event_log> log_;
    std::unique_ptr<read_model> reads_;
    std::unique_ptr<writer> writer_;
};


}  // namespace regledger::projections
