// pg_target: the baseline of the side-by-side benchmark (driver.h): the same
// commands as regledger takes, implemented the way a registration service is
// usually built on PostgreSQL, through libpq.
//
// One command is one transaction on the session's own connection:
//
//   BEGIN
//   SELECT the stream's row ... FOR UPDATE      (no row: a new stream)
//   SELECT the command id in command_outcomes   (seen: its first outcome)
//   decode the state from the row, decide() at the target's instant, with the
//   workload's rule set and institutions, exactly as the ledger's writer does
//   UPDATE/INSERT the state row and the application rows that changed,
//   INSERT one audit_log row per event, INSERT the outcome
//   COMMIT                                      (synchronous_commit = on)
//
// so the comparison is about storage and durability, not about the rules.
// A command names its stream as in the ledger (target_of(), engine/decide.h);
// one that names only an application finds its registration through the
// `applications` table, as the writer does through its application index.
// A rejection is committed too (its outcome row) and answers `rejected`.
// Failures of the server (a lost connection, a statement refused) answer
// `unavailable`; a deadlock, a serialization failure or a unique key taken by
// a concurrent first command of the same stream is retried a few times.
//
// Schema (created on first use; pg_reset() drops and creates it afresh):
//
//   registrations     id PK, version, status, institution_id, code (unique),
//                     valid_from, valid_until, state jsonb (the whole
//                     registration_state, pg_state_codec.h); indexes on
//                     (status, valid_until) and institution_id
//   applications      id PK, registration_id → registrations, position in the
//                     registration, kind, status, institution_id,
//                     submitted_by, the deadlines; index on registration_id
//   accounts          id PK, version, verified, state jsonb
//   audit_log         id bigserial PK, stream, version, command_id,
//                     event_type, occurred_at, actor jsonb, payload jsonb (the
//                     event's fields, events/json.h); unique (stream, version)
//   command_outcomes  command_id PK, stream, applied, versions, error jsonb
//   code_sequences    (institution_id, year) PK, codes issued so far
//
// Thread-safety: as driver.h says: set_time() from the driver's thread
// between ticks, each session from one thread; resident_bytes() from any.
// Setup failures (connecting, creating the schema) throw std::runtime_error
// with the server's message.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/driver.h"

namespace regledger::bench {

// A target on the database of `conninfo` (a libpq connection string, e.g.
// what `scripts/postgres conninfo` prints), creating the schema if it is
// missing. `durable` keeps synchronous_commit on, as the server's default
// (fsync on); false turns it off on the target's connections, for filling a
// database before a measurement.
std::unique_ptr<target> make_pg_target(const std::string& conninfo, bool durable);

// Drops the tables of the schema above and creates them empty.
void pg_reset(const std::string& conninfo);

// Copies of a filled database, so that the points of a figure that start
// from the same filled store fill it once (compare_bench --keep-filled).
// A copy is a database of the same server, made with CREATE DATABASE …
// TEMPLATE (a file copy) while no session uses the original.
//
// pg_keep: the database of `conninfo` as it is now, kept as `name` (an
// older `name` is dropped first).
void pg_keep(const std::string& conninfo, const std::string& name);
// pg_restore: the database of `conninfo` replaced by a copy of `name`, its
// tables and indexes then read into shared buffers (pg_prewarm), as the
// filling would have left them.
void pg_restore(const std::string& conninfo, const std::string& name);
// pg_forget: `name` dropped, if it exists.
void pg_forget(const std::string& conninfo, const std::string& name);

struct pg_rebuild_report {
    // Events read from audit_log.
    std::uint64_t events = 0;
    std::uint64_t registrations = 0;
    std::uint64_t accounts = 0;
    double seconds = 0;
};

// The baseline's equivalent of `regledger rebuild`: re-derives the
// registrations, applications and accounts tables from audit_log alone. Reads
// the log in id order (a cursor), decodes each payload (pg_state_codec.h),
// folds it with evolve(), then, in one transaction, empties the three tables
// and writes them afresh with COPY. The rows it writes are those execute()
// writes for the same events. `seconds` covers all of it, the read included.
// Throws std::runtime_error when the server fails or the log does not fold
// (a payload that does not decode, a version out of order).
pg_rebuild_report pg_rebuild(const std::string& conninfo);

// Appends the events the workload recorded for `ticks`
// (workload_options::record_events) to audit_log with COPY, in one
// transaction: the history the commands would have left there, for the
// rebuild figure, which reads nothing else (the same rows as the commands
// sent one at a time in tick order write; concurrent clients may number
// two codes of one tick the other way round). The state tables are left as
// they are (pg_rebuild replaces them). REQUIRES: every tick's `recorded`.
void pg_append_history(const std::string& conninfo, const std::vector<tick>& ticks);

// audit_log's rows as text, in stream and version order: `stream version
// command_id event_type occurred_at actor payload`, tab-separated.
std::vector<std::string> pg_history(const std::string& conninfo);

}  // namespace regledger::bench
