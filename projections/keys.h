// The read models' column families and their key and value formats: the one
// place they are defined (ARCHITECTURE.md "The read side").
//
// Integers in keys are big-endian so that RocksDB's bytewise order is numeric
// order; a '\0' separates variable-length parts (ids never contain it).
//
//   family            key                                        value
//   directory         registration id                            JSON registration head (documents.h)
//   applications      application id                             registration id \0 JSON application document
//   history           stream id \0 U64 version                   encoded event record (events/codec.h);
//                                                                with the embedded log in the same store,
//                                                                the record's key in `log` instead (a
//                                                                copy would double every event's bytes)
//   by_code           registration code                          registration id
//   by_subject        uscc \0 registration id                    ""
//   by_status_expiry  U8 status \0 I32 valid_until days \0 reg id  ""   (days = INT32_MAX when none)
//   by_institution    institution id \0 registration id          ""
//   publicity         application id                             JSON publicity item (public fields)
//   stats             institution id \0 I32 day \0 figure name   U64 count (service report, 第21条)
//   status_counts     institution id \0 U8 status                I64 count (registrations by status)
//   timers            I64 due µs \0 stream id \0 U8 kind          I32 deadline days || application id
//   commands          command id                                 JSON outcome (outcome.h)
//   streams           stream id                                  U64 version || 32-byte head hash
//   accounts          account id                                 JSON account document
//   counters          institution id \0 I32 year                 U32 next code sequence number
//   checkpoint        U32 partition                              I64 next offset to apply
//   merkle            'f' U32 partition                          the partition's Merkle frontier (events/merkle.h)
//                     'n' U32 partition U64 leaf                 I64 offset || the hashes of the nodes the leaf
//                                                                completes, level 0 (the leaf) first, 32 bytes each
//                     'e' stream id \0 U64 version               U32 partition || U64 leaf
//                     'c' U32 partition U64 tree size            U64 checkpoint stream version || U64 its own leaf
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "engine/commands.h"
#include "engine/deadlines.h"
#include "engine/ids.h"
#include "engine/time.h"
#include "engine/vocabulary.h"
#include "events/rocks_store.h"

namespace regledger::projections {

namespace cf {
inline constexpr std::string_view directory = "directory";
inline constexpr std::string_view applications = "applications";
inline constexpr std::string_view history = "history";
inline constexpr std::string_view by_code = "by_code";
inline constexpr std::string_view by_subject = "by_subject";
inline constexpr std::string_view by_status_expiry = "by_status_expiry";
inline constexpr std::string_view by_institution = "by_institution";
inline constexpr std::string_view publicity = "publicity";
inline constexpr std::string_view stats = "stats";
inline constexpr std::string_view status_counts = "status_counts";
inline constexpr std::string_view timers = "timers";
inline constexpr std::string_view commands = "commands";
inline constexpr std::string_view streams = "streams";
inline constexpr std::string_view accounts = "accounts";
inline constexpr std::string_view counters = "counters";
inline constexpr std::string_view checkpoint = "checkpoint";
inline constexpr std::string_view merkle = "merkle";
}  // namespace cf

// Every read-model family, in a fixed order (the store opens them all).
inline constexpr std::array<std::string_view, 17> all_families{
    cf::directory,     cf::applications, cf::history, cf::by_code,  cf::by_subject, cf::by_status_expiry,
    cf::by_institution, cf::publicity,   cf::stats,   cf::status_counts, cf::timers, cf::commands,
    cf::streams,       cf::accounts,     cf::counters, cf::checkpoint, cf::merkle};

void put_u8(std::string& out, std::uint8_t v);
void put_u32(std::string& out, std::uint32_t v);
void put_u64(std::string& out, std::uint64_t v);
// Big-endian with the sign bit flipped, so negative values sort first.
void put_i32(std::string& out, std::int32_t v);
void put_i64(std::string& out, std::int64_t v);
std::uint32_t get_u32(std::string_view in, std::size_t at);
std::uint64_t get_u64(std::string_view in, std::size_t at);
std::int32_t get_i32(std::string_view in, std::size_t at);
std::int64_t get_i64(std::string_view in, std::size_t at);

inline constexpr char sep = '\0';

std::string history_key(const stream_id& stream, stream_version version);
std::string history_prefix(const stream_id& stream);
// The encoded event record a history row stands for: the row itself, or in
// a store that holds the embedded log, the log record it names (read with
// `options`); store_errc::corruption when that record is missing.
[[nodiscard]] result<std::string> history_record(events::rocks_store& store, std::string row,
                                                 const rocksdb::ReadOptions& options);
std::string by_subject_key(std::string_view uscc, const registration_id& reg);
std::string by_status_expiry_key(registration_status status, std::optional<calendar_date> valid_until,
                                 const registration_id& reg);
std::string by_institution_key(const institution_id& inst, const registration_id& reg);
std::string stats_key(const institution_id& inst, calendar_date day, std::string_view figure);
std::string status_count_key(const institution_id& inst, registration_status status);
std::string timer_key(instant due, const stream_id& stream, std::uint8_t kind);
std::string counter_key(const institution_id& inst, int year);
std::string checkpoint_key(partition_id partition);
std::string merkle_frontier_key(partition_id partition);
std::string merkle_leaf_key(partition_id partition, std::uint64_t leaf);
std::string merkle_event_key(const stream_id& stream, stream_version version);
std::string merkle_checkpoint_key(partition_id partition, std::uint64_t tree_size);
// The prefix of a partition's checkpoint rows.
std::string merkle_checkpoint_prefix(partition_id partition);

// A pending timer (engine/deadlines.h) as a row of `timers`, and back: the
// timeout command to issue when it is due.
std::string encode_timer_value(const timer& t);
std::optional<command> decode_timer_row(std::string_view key, std::string_view value);

// A row of `applications`: the registration an application belongs to and
// the application's document, and back.
std::string application_row(const registration_id& reg, std::string_view document);
struct application_row_view {
    std::string_view registration_id;
    std::string_view document;
};
std::optional<application_row_view> decode_application_row(std::string_view value);

// The stream head: its version and the hash of its last event.
struct stream_head {
    stream_version version{0};
    digest hash;
};
std::string encode_head(const stream_head& head);
std::optional<stream_head> decode_head(std::string_view value);

}  // namespace regledger::projections
