// archive: a ledger's whole log as one self-contained, verifiable file, for
// an auditor or a backup (第14条 定期备份; ARCHITECTURE.md "Audit"). Written
// by `regledger export`, checked offline by `regledger verify --archive` and
// restored into a new data directory by `regledger import`.
//
// The format (version 1). Integers are big-endian; U32 unsigned, I64 two's
// complement:
//
//   archive  = magic header record* trailer
//   magic    = "REGLEDGER-ARCHIVE\n"                    (18 bytes)
//   header   = U32(n) || n bytes of UTF-8 JSON          (n <= 16 MiB)
//   record   = U32(partition) || I64(offset) || U32(length) || length bytes
//                                                       (length <= 4 MiB)
//   trailer  = "REGLEDGER-END\n" || SHA-256 of every byte before the trailer
//              (14 + 32 raw bytes)
//
// The trailer is checked before anything else, so a truncated or altered
// file is refused before its header is read. By hand:
//   head -c -46 FILE | sha256sum      equals      tail -c 32 FILE | xxd -p -c 32
//
// The header's members (a reader ignores members it does not know):
//   format             1
//   created_at         when the archive was written, RFC 3339
//   source             "embedded DIR" (the data directory's own log) or
//                      "kafka BROKERS TOPIC"
//   partitions         one object per partition of the log, partition 0
//                      first: {partition, records, first_offset,
//                      last_offset}; the offsets are null when the partition
//                      has no records
//   public_key_pem     the ledger's Ed25519 public key (SubjectPublicKeyInfo
//                      PEM, events/signing.h) as given to export, or null
//                      (export was not given one: the data directory does not
//                      hold the key)
//   key_id             that key's id (16 hex digits), or null
//   rule_set           the rule set id of the program that exported ("LN-2025")
//   calendar_version   that program's holiday calendar version (64 hex digits)
//   config_hashes      the distinct config_hash of the records' envelopes
//   calendar_versions  the distinct calendar_version of the records' envelopes
//                      (both: 64 hex digits each, sorted)
//   records            the number of records in the archive
//
// The records: each partition's records in log order, partition by partition
// from 0; offsets increase within a partition, and from an "embedded" source
// they are 0, 1, 2, ... without a gap (a Kafka topic has gaps where its
// transaction markers sit). A record's bytes are the encoded event record
// exactly as the log stores them (events/codec.h): each record's hash and
// chain link (events/canonical.h) and the Merkle tree of each partition
// (events/merkle.h, leaf i = the i-th record's bytes) are checked as
// events/log_verify.h describes, and each LedgerCheckpointed record's
// signature (events/checkpoint.h) with the header's key or one the auditor
// pins.
//
// What an archive does not hold: the read models (they are derived from the
// log again on import), the outcomes of rejected commands (they leave nothing
// in the log, so a restored ledger answers a repeated rejected command id
// afresh), and any private key.
//
// Thread-safety: write_archive, verify_archive and restore_log run on the
// calling thread. An archive_log is immutable after open(); read() and end()
// may be called from any thread (positioned reads of one descriptor).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "engine/ids.h"
#include "engine/result.h"
#include "engine/time.h"
#include "events/event_log.h"
#include "events/log_verify.h"
#include "events/signing.h"

namespace regledger::events {

inline constexpr std::string_view archive_magic = "REGLEDGER-ARCHIVE\n";
inline constexpr std::string_view archive_trailer_magic = "REGLEDGER-END\n";
inline constexpr std::uint32_t archive_format = 1;
inline constexpr std::size_t archive_header_bytes_max = 16u << 20;
// partition, offset, length.
inline constexpr std::size_t archive_frame_bytes = 4 + 8 + 4;
inline constexpr std::size_t archive_trailer_bytes = archive_trailer_magic.size() + 32;

enum class archive_errc : int {
    // The file cannot be opened, read or written.
    io = 1,
    // The file does not start with the magic: it is something else.
    not_an_archive = 2,
    // The file does not end with the trailer: cut short.
    truncated = 3,
    // The trailer's SHA-256 is not that of the bytes before it.
    digest_mismatch = 4,
    // The header is not the JSON object this format defines.
    bad_header = 5,
    // A header of a format this build does not read.
    unsupported_format = 6,
    // The records' framing disagrees with itself or with the header.
    bad_record = 7,
    // The records are not the ledger they claim to be (verify_log's finding).
    damaged = 8,
    // The archive carries another public key than the one pinned.
    key_mismatch = 9,
    // The file changed after open() checked it.
    changed = 10,
    // An archive is read only: stage() and commit() fail with this.
    read_only = 11,
    // export: the archive file exists; import: the data directory is not empty.
    exists = 12,
    // import: the archive cannot become an embedded ledger (records in more
    // than one partition).
    not_restorable = 13,
    // export: the source log cannot be archived as it stands (a record that
    // does not decode, a checkpoint signed by another key, the log changed
    // between the two passes).
    bad_source = 14,
};
const std::error_category& archive_category() noexcept;
inline std::error_code make_error_code(archive_errc e) noexcept { return {static_cast<int>(e), archive_category()}; }

// What is wrong, said for a person: `what` is a whole sentence naming the
// file position or the log position (also in `position`) where it is.
struct archive_problem {
    std::error_code code;
    std::string what;
    std::optional<log_position> position;
};

struct archive_partition {
    std::int32_t partition = 0;
    std::uint64_t records = 0;
    std::optional<log_offset> first_offset;
    std::optional<log_offset> last_offset;

    friend bool operator==(const archive_partition&, const archive_partition&) = default;
};

struct archive_header {
    std::uint32_t format = archive_format;
    instant created_at;
    std::string source;
    std::vector<archive_partition> partitions;
    std::optional<std::string> public_key_pem;
    std::optional<std::string> key_id;
    rule_set_id rule_set;
    digest calendar_version;
    std::vector<digest> config_hashes;
    std::vector<digest> calendar_versions;
    std::uint64_t records = 0;

    // Whether the records came from the embedded log, whose offsets run
    // 0, 1, 2, ... (verify_log then checks that none is missing).
    bool from_embedded_log() const noexcept { return source.starts_with("embedded "); }

    friend bool operator==(const archive_header&, const archive_header&) = default;
};

// The header's JSON text, members in the order documented above.
std::string header_json(const archive_header& header);
// The header from its JSON text; a message naming the member on a bad one.
// Checks the shape, not that the counts agree with the records (open() does).
[[nodiscard]] result<archive_header, archive_problem> parse_header(std::string_view json);

// ---- Writing ----------------------------------------------------------------

struct export_options {
    // "embedded DIR" or "kafka BROKERS TOPIC" (see the header's `source`).
    std::string source;
    // Passed in: this module reads no clock.
    instant created_at;
    // The ledger's public key, embedded in the header; every checkpoint in
    // the log must name it. nullptr: the header's key is null.
    const verify_key* public_key = nullptr;
    // The rule set and calendar of the exporting program.
    rule_set_id rule_set;
    digest calendar_version;
    std::size_t read_batch_records = 4096;
    // phase ("scan": records decoded; "write": records written), done, total.
    std::function<void(std::string_view phase, std::uint64_t done, std::uint64_t total)> progress;
};

struct export_report {
    archive_header header;
    std::uint64_t bytes = 0;
    // The trailer's SHA-256: worth writing down beside the archive.
    digest file_digest;
    std::uint64_t checkpoints = 0;
    // The key ids the log's checkpoints name, sorted.
    std::vector<std::string> checkpoint_key_ids;
    double seconds = 0;
};

// Writes every record `log` holds now (each partition up to its end() when
// the export starts) to `file`, in two passes over the log: the first decodes
// every record for the header (counts, offsets, config hashes, calendar
// versions, checkpoint keys), the second writes. The archive is written to
// FILE.partial, synced, and linked to `file` only when complete, so a failed
// export leaves no archive behind.
// Fails with `exists` when `file` exists (an archive is never overwritten),
// `bad_source` when a record does not decode or a checkpoint names another
// key than options.public_key.
// REQUIRES: no other writer of FILE.partial.
[[nodiscard]] result<export_report, archive_problem> write_archive(const event_log& log,
                                                                   const std::filesystem::path& file,
                                                                   const export_options& options);

// ---- Reading ----------------------------------------------------------------

struct archive_open_options {
    // Bytes hashed so far, and in all (the trailer check reads the whole file).
    std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

// An archive as a read-only event_log, so that verify_log, a replay or a
// restore reads it as it reads any log. open() checks the trailer digest,
// then the header, then the records' framing against the header (counts,
// partitions, offset order, lengths) and keeps an index of where each record
// sits (24 bytes a record); read() reads the records from the file again
// and checks their framing, failing with `changed` when the file was
// altered in between.
class archive_log final : public event_log {
public:
    [[nodiscard]] static result<std::unique_ptr<archive_log>, archive_problem> open(
        const std::filesystem::path& file, const archive_open_options& options = {});
    ~archive_log() override;
    archive_log(const archive_log&) = delete;
    archive_log& operator=(const archive_log&) = delete;

    const archive_header& header() const noexcept { return header_; }
    const std::filesystem::path& file() const noexcept { return file_; }
    // The file's size and its trailer digest (checked by open()).
    std::uint64_t file_bytes() const noexcept { return file_bytes_; }
    const digest& file_digest() const noexcept { return file_digest_; }
    // The key the header carries (parsed; its id checked against key_id).
    const std::optional<verify_key>& embedded_key() const noexcept { return embedded_key_; }

    std::int32_t partition_count() const noexcept override;
    partition_id partition_of(const stream_id& key) const noexcept override;
    bool contiguous_offsets() const noexcept override { return header_.from_embedded_log(); }

    // Fail with archive_errc::read_only.
    result<std::vector<log_position>> stage(std::span<const log_record> records) override;
    result<void> commit(rocksdb::WriteBatch& local) override;
    void abort() noexcept override {}

    result<std::vector<stored_record>> read(log_position from, std::size_t max_records) const override;
    // One past the partition's last offset (0 when it has no records).
    result<log_offset> end(partition_id partition) const override;

private:
    struct entry {
        std::int64_t offset;
        // Where the record's frame starts in the file.
        std::uint64_t frame_at;
        std::uint32_t length;
    };

    archive_log() = default;

    std::filesystem::path file_;
    int fd_ = -1;
    std::uint64_t file_bytes_ = 0;
    digest file_digest_;
    archive_header header_;
    std::optional<verify_key> embedded_key_;
    // Per partition, its records in order.
    std::vector<std::vector<entry>> index_;
};

// ---- Verifying --------------------------------------------------------------

struct archive_verify_options {
    // The key the auditor trusts (verify --public-key). When the archive
    // carries another key, verification fails naming both ids. nullptr: the
    // archive's own key, when it has one, checks the signatures.
    const verify_key* pinned_key = nullptr;
    std::size_t read_batch_records = 4096;
    // Records checked so far, and in all.
    std::function<void(std::uint64_t checked, std::uint64_t total)> progress;
};

// Which key checked the checkpoints' signatures.
enum class key_origin {
    // None: neither pinned nor in the archive; roots are still checked.
    none,
    // The one the auditor pinned.
    pinned,
    // The archive's own, which proves only that the archive agrees with
    // itself: whoever rewrote the log could have replaced it too.
    archive,
};

struct archive_verify_report {
    log_summary summary;
    key_origin key = key_origin::none;
    // The id of the key that checked the signatures; empty with none.
    std::string key_id;
    double seconds = 0;
};

// verify_log over the archive (offsets checked for gaps when it came from
// the embedded log), with the key chosen as above; then the header's config
// hashes and calendar versions against those of the records. The first
// problem is returned with its log position (`damaged`).
[[nodiscard]] result<archive_verify_report, archive_problem> verify_archive(const archive_log& archive,
                                                                          const archive_verify_options& options);

// ---- Restoring --------------------------------------------------------------

struct restore_options {
    std::size_t write_batch_records = 4096;
    // Records written so far, and in all.
    std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

struct restore_report {
    std::uint64_t records = 0;
    double seconds = 0;
};

// Writes the archive's records into the `log` column family of a new RocksDB
// store in `dir` (events/embedded_log.h) at offsets 0, 1, 2, ... in archive
// order, and flushes it. Only the log: projections::rebuild on `dir` derives
// the read models from it. Fails with `exists` when `dir` exists and is not
// empty, `not_restorable` when records stand in a partition other than 0
// (a multi-partition Kafka topic: an embedded ledger has one partition, and
// its checkpoints would name the others).
// REQUIRES: verify_archive succeeded on `archive`.
[[nodiscard]] result<restore_report, archive_problem> restore_log(const archive_log& archive,
                                                                 const std::filesystem::path& dir,
                                                                 const restore_options& options);

}  // namespace regledger::events

template <>
struct std::is_error_code_enum<regledger::events::archive_errc> : std::true_type {};
