// regledger_target: the ledger itself as a bench::target (driver.h), in
// this process: a projections::ledger on the embedded log or on Apache
// Kafka, with a manual clock that set_time() moves. A session submits to the
// ledger's writer and waits for the answer, which the writer gives only once
// the command's batch is committed (group commit across the sessions);
// get_registration() reads the document GET /v1/registrations/{id} serves.
//
// Durability: on the embedded log, durable means synced writes (one fsync
// per batch) and non-durable none. On Kafka, the log is always written as
// the server writes it (a transaction per batch, acks=all); durable then
// decides whether the local read-model store is synced too, as it is in
// regledgerd.
//
// Lifecycle: open(), then sessions; destroying the target stops the writer
// after the commands in hand. Sessions must be destroyed first.
// Thread-safety: as driver.h says for targets and sessions.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "bench/driver.h"
#include "engine/result.h"
#include "events/kafka_log.h"

namespace regledger::bench {

enum class durability { durable, not_durable };

struct regledger_target_options {
    // The data directory: the whole ledger on the embedded log, the read
    // models and the checkpoint on Kafka. Created when missing.
    std::filesystem::path data_dir;
    durability mode = durability::durable;
    // The clock's instant until the first set_time().
    instant start;
    // Apache Kafka as the log (its brokers and topics); the embedded log
    // when absent.
    std::optional<events::kafka_options> kafka;
};

class regledger_target final : public target {
public:
    [[nodiscard]] static result<std::unique_ptr<regledger_target>, std::string> open(
        const regledger_target_options& options);
    ~regledger_target() override;

    std::string name() const override;
    // REQUIRES: `at` is not before the last instant set (the workload's
    // ticks move forward).
    void set_time(instant at) override;
    std::unique_ptr<session> open_session() override;
    // What this process's VmRSS grew by since open(): the ledger's share,
    // less the benchmark's own (the workload generator keeps a copy of every
    // stream). Memory the process freed before open() and the ledger then
    // reused is not counted; a caller that wants it counted returns it to the
    // system first (malloc_trim).
    std::uint64_t resident_bytes() const override;

private:
    struct impl;
    explicit regledger_target(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

}  // namespace regledger::bench
