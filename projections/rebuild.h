// rebuild: re-derives every read model from the log (ARCHITECTURE.md "The
// read side": the log is the source of truth, RocksDB a cache of it).
//
// Reads the data directory's log into a fresh store beside it (the log's
// records copied as they are, every projection replayed from them), carries
// over what the log cannot tell (the outcomes of rejected commands), then
// swaps the fresh store in: the old directory is renamed aside, the fresh one
// takes its name, and the old one is removed. A crash before the swap leaves
// the old directory untouched; the leftover fresh one is removed by the next
// rebuild.
//
// REQUIRES: no server has the directory open (RocksDB's lock refuses it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>
#include <string>

#include "engine/result.h"
#include "events/event_log.h"
#include "events/kafka_log.h"
#include "events/rocks_store.h"
#include "projections/read_model.h"

namespace regledger::projections {

struct rebuild_options {
    std::filesystem::path data_dir;
    // The log is a Kafka topic (read only: a running writer is not fenced);
    // the data directory then holds the read models alone.
    std::optional<events::kafka_options> kafka;
    std::size_t read_batch_records = 8192;
    // Streams whose state rows go into one WriteBatch at the end (replayer::
    // finish()).
    std::size_t settle_streams_per_batch = 4096;
    // The embedded log's records go into the fresh store too (a rebuild:
    // its table files hard-linked from the source store, which replay_into
    // flushes first); verify, which only compares the read models, leaves
    // them out.
    bool copy_log = true;
    // The fresh store's table files are compressed (a rebuild keeps them;
    // verify removes its scratch store once compared).
    bool compress = true;
    // Records replayed so far, and in all.
    std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

struct rebuild_report {
    std::uint64_t records = 0;
    std::uint64_t streams = 0;
    std::uint64_t outcomes_kept = 0;
    double seconds = 0;
};

[[nodiscard]] result<rebuild_report, std::string> rebuild(const rebuild_options& options);

// The fresh store of rebuild(): every read model replayed from the log (and,
// for the embedded log, the log's records themselves), in `fresh_dir`,
// flushed. options.data_dir is unused.
[[nodiscard]] result<rebuild_report, std::string> replay_into(const events::event_log& source_log,
                                                              const read_model& source_reads,
                                                              const std::filesystem::path& fresh_dir,
                                                              const rebuild_options& options);

// The families of a data directory for the given log, and the log itself
// (embedded over `store`, or Kafka read only).
std::vector<std::string_view> families_for(const rebuild_options& options);
[[nodiscard]] result<std::unique_ptr<events::event_log>, std::string> open_source_log(events::rocks_store& store,
                                                                                    const rebuild_options& options);

}  // namespace regledger::projections
