#include "events/archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <rocksdb/write_batch.h>

#include "engine/sha256.h"
#include "events/codec.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "events/rocks_store.h"

namespace regledger::events {

namespace {

class archive_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "regledger.archive"; }
    std::string message(int value) const override {
        switch (static_cast<archive_errc>(value)) {
            case archive_errc::io: return "the archive cannot be read or written";
            case archive_errc::not_an_archive: return "not a regledger archive";
            case archive_errc::truncated: return "the archive is truncated";
            case archive_errc::digest_mismatch: return "the archive does not match its digest";
            case archive_errc::bad_header: return "the archive's header is malformed";
            case archive_errc::unsupported_format: return "an archive format this build does not read";
            case archive_errc::bad_record: return "the archive's records are malformed";
            case archive_errc::damaged: return "the archived log is damaged";
            case archive_errc::key_mismatch: return "the archive carries another public key";
            case archive_errc::changed: return "the archive changed while it was read";
            case archive_errc::read_only: return "an archive is read only";
            case archive_errc::exists: return "the target exists";
            case archive_errc::not_restorable: return "the archive cannot be restored as an embedded ledger";
            case archive_errc::bad_source: return "the log cannot be archived";
        }
        return "archive error";
    }
};

namespace bj = boost::json;

// Reads and writes (1 MiB), and the trailer check (4 MiB at a time).
constexpr std::size_t write_buffer_bytes = 1u << 20;
constexpr std::size_t read_chunk_bytes = 4u << 20;

archive_problem problem(archive_errc code, std::string what, std::optional<log_position> position = std::nullopt) {
    return archive_problem{make_error_code(code), std::move(what), position};
}

std::string errno_text(int error) { return std::error_code(error, std::generic_category()).message(); }

// SHA-256 of a stream of bytes, through libcrypto (as canonical.cc: the CPU's
// SHA extensions make it several times the portable engine/sha256).
class sha256_stream {
public:
    sha256_stream() : context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
        static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        const bool ok = algorithm != nullptr && context_ != nullptr &&
                        EVP_DigestInit_ex(context_.get(), algorithm, nullptr) == 1;
        // Nothing can be archived or checked without it.
        if (!ok) std::abort();
    }
    void update(const void* data, std::size_t size) {
        if (EVP_DigestUpdate(context_.get(), data, size) != 1) std::abort();
    }
    sha256_digest finish() {
        sha256_digest out;
        unsigned int size = 0;
        if (EVP_DigestFinal_ex(context_.get(), out.data(), &size) != 1 || size != out.size()) std::abort();
        return out;
    }

private:
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

void put_u32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_i64(std::string& out, std::int64_t value) {
    const auto v = static_cast<std::uint64_t>(value);
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint32_t get_u32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

std::int64_t get_i64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
    return static_cast<std::int64_t>(v);
}

// pread until `size` bytes are in or the file ends; the bytes read.
result<std::size_t> read_at(int fd, std::uint64_t at, void* out, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
        const auto n = ::pread(fd, static_cast<char*>(out) + done, size - done, static_cast<off_t>(at + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::error_code(errno, std::generic_category());
        }
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    return done;
}

// ---- The header's JSON --------------------------------------------------

bj::value optional_string(const std::optional<std::string>& s) {
    if (!s) return nullptr;
    return bj::string(*s);
}

bj::array hex_list(const std::vector<digest>& digests) {
    bj::array out;
    for (const auto& d : digests) out.emplace_back(to_hex(d.value()));
    return out;
}

// Reads the members of the header object, naming the first bad one.
class member_reader {
public:
    explicit member_reader(const bj::object& object) : object_(object) {}

    const std::optional<std::string>& error() const { return error_; }

    const bj::value* get(std::string_view name) {
        const auto* v = object_.if_contains(name);
        if (v == nullptr) fail(name, "is missing");
        return v;
    }
    std::uint64_t u64(const bj::value& v, std::string_view name) {
        if (v.is_uint64()) return v.get_uint64();
        if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
        fail(name, "is not a non-negative integer");
        return 0;
    }
    std::optional<std::int64_t> optional_i64(const bj::value& v, std::string_view name) {
        if (v.is_null()) return std::nullopt;
        if (v.is_int64()) return v.get_int64();
        fail(name, "is neither an integer nor null");
        return std::nullopt;
    }
    std::string string(const bj::value& v, std::string_view name) {
        if (v.is_string()) return std::string(v.get_string());
        fail(name, "is not a string");
        return {};
    }
    std::optional<std::string> optional_string(const bj::value& v, std::string_view name) {
        if (v.is_null()) return std::nullopt;
        return string(v, name);
    }
    digest hex(const bj::value& v, std::string_view name) {
        if (v.is_string()) {
            if (auto d = digest_from_hex(std::string_view(v.get_string())); d && v.get_string().size() == 64) {
                return digest(*d);
            }
        }
        fail(name, "is not 64 hex digits");
        return {};
    }
    std::vector<digest> hex_list(const bj::value& v, std::string_view name) {
        std::vector<digest> out;
        if (!v.is_array()) {
            fail(name, "is not an array");
            return out;
        }
        for (std::size_t i = 0; i < v.get_array().size(); ++i) {
            out.push_back(hex(v.get_array()[i], fmt::format("{}[{}]", name, i)));
        }
        return out;
    }
    void fail(std::string_view name, std::string_view what) {
        if (!error_) error_ = fmt::format("the archive header's member \"{}\" {}", name, what);
    }

private:
    const bj::object& object_;
    std::optional<std::string> error_;
};

// ---- Writing --------------------------------------------------------------

// Buffered writes to a descriptor, hashing every byte written.
class hashing_writer {
public:
    explicit hashing_writer(int fd) : fd_(fd) { buffer_.reserve(write_buffer_bytes); }

    result<void> write(std::string_view bytes) {
        hash_.update(bytes.data(), bytes.size());
        written_ += bytes.size();
        if (buffer_.size() + bytes.size() > write_buffer_bytes) {
            if (auto f = flush(); !f) return f;
        }
        if (bytes.size() >= write_buffer_bytes) return write_all(bytes);
        buffer_.append(bytes);
        return success();
    }
    // Writes without hashing: the trailer's digest is not part of itself.
    result<void> write_unhashed(std::string_view bytes) {
        if (auto f = flush(); !f) return f;
        written_ += bytes.size();
        return write_all(bytes);
    }
    result<void> flush() {
        auto w = write_all(buffer_);
        buffer_.clear();
        return w;
    }
    // REQUIRES: called once, after the last hashed write.
    sha256_digest finish_digest() { return hash_.finish(); }
    std::uint64_t written() const { return written_; }

private:
    result<void> write_all(std::string_view bytes) {
        while (!bytes.empty()) {
            const auto n = ::write(fd_, bytes.data(), bytes.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                return std::error_code(errno, std::generic_category());
            }
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return success();
    }

    int fd_;
    std::string buffer_;
    sha256_stream hash_;
    std::uint64_t written_ = 0;
};

// What the first pass learns of the log.
struct scan_result {
    std::vector<archive_partition> partitions;
    std::vector<log_offset> ends;
    std::set<sha256_digest> config_hashes;
    std::set<sha256_digest> calendar_versions;
    std::set<std::string> key_ids;
    std::uint64_t records = 0;
    std::uint64_t checkpoints = 0;
};

// Calls `each(record)` for every record of `partition` below `end`, in order.
template <typename Each>
std::optional<archive_problem> for_each_record(const event_log& log, partition_id partition, log_offset end,
                                               std::size_t batch, Each&& each) {
    batch = std::max<std::size_t>(batch, 1);
    for (std::int64_t next = 0; next < end.value();) {
        auto records = log.read({partition, log_offset(next)}, batch);
        if (!records) {
            return problem(archive_errc::io,
                           fmt::format("cannot read the log at {}:{}: {}", partition.value(), next,
                                       records.error().message()),
                           log_position{partition, log_offset(next)});
        }
        // The rest of a transactional topic's end is commit markers.
        if (records.value().empty()) break;
        for (const stored_record& r : records.value()) {
            if (r.position.offset >= end) return std::nullopt;
            if (auto bad = each(r)) return bad;
            next = r.position.offset.value() + 1;
        }
    }
    return std::nullopt;
}

result<scan_result, archive_problem> scan_log(const event_log& log, const export_options& options) {
    scan_result scan;
    std::uint64_t total = 0;
    for (std::int32_t p = 0; p < log.partition_count(); ++p) {
        auto end = log.end(partition_id(p));
        if (!end) {
            return problem(archive_errc::io, fmt::format("cannot read the end of partition {}: {}", p,
                                                         end.error().message()));
        }
        scan.ends.push_back(end.value());
        total += static_cast<std::uint64_t>(end.value().value());
    }
    for (std::int32_t p = 0; p < log.partition_count(); ++p) {
        archive_partition part;
        part.partition = p;
        const auto note = [&](const stored_record& r) -> std::optional<archive_problem> {
            auto rec = decode(r.value);
            if (!rec) {
                return problem(archive_errc::bad_source,
                               fmt::format("the record at log position {}:{} does not decode ({}): the log is "
                                           "damaged; regledger verify names what is wrong",
                                           p, r.position.offset.value(), rec.error().message()),
                               r.position);
            }
            const envelope& env = rec.value().envelope;
            scan.config_hashes.insert(env.config_hash.value());
            scan.calendar_versions.insert(env.calendar_version.value());
            if (const auto* c = std::get_if<ledger_checkpointed>(&rec.value().event)) {
                if (options.public_key != nullptr && c->key_id != options.public_key->id()) {
                    return problem(archive_errc::bad_source,
                                   fmt::format("the checkpoint at log position {}:{} is signed by key {}, not by the "
                                               "given public key {}: the archive would not verify with it",
                                               p, r.position.offset.value(), c->key_id, options.public_key->id()),
                                   r.position);
                }
                scan.key_ids.insert(c->key_id);
                ++scan.checkpoints;
            }
            if (part.records == 0) part.first_offset = r.position.offset;
            part.last_offset = r.position.offset;
            ++part.records;
            ++scan.records;
            if (options.progress && scan.records % std::max<std::size_t>(options.read_batch_records, 1) == 0) {
                options.progress("scan", scan.records, total);
            }
            return std::nullopt;
        };
        const auto end = scan.ends[static_cast<std::size_t>(p)];
        if (auto bad = for_each_record(log, partition_id(p), end, options.read_batch_records, note)) return *bad;
        scan.partitions.push_back(part);
    }
    if (options.progress) options.progress("scan", scan.records, scan.records);
    return scan;
}

// FILE.partial while it is written: closed and removed at the end of the
// scope, whether the export failed or the archive was linked to its name.
class partial_file {
public:
    partial_file(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
    ~partial_file() {
        if (fd_ >= 0) ::close(fd_);
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
    partial_file(const partial_file&) = delete;
    partial_file& operator=(const partial_file&) = delete;
    int fd() const { return fd_; }
    result<void> close() {
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) return std::error_code(errno, std::generic_category());
        return success();
    }
private:
    std::filesystem::path path_;
    int fd_;
};

void sync_directory(const std::filesystem::path& dir) {
    const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

// ---- Reading ----------------------------------------------------------------

// Sequential reads of a region of a file through a buffer, for walking the
// records' frames without a system call per record.
class frame_reader {
public:
    frame_reader(int fd, std::uint64_t end) : fd_(fd), end_(end) {}

    // The `size` bytes at `at`, or nullptr when they run past the end.
    result<const std::uint8_t*> fetch(std::uint64_t at, std::size_t size) {
        if (at + size > end_) return static_cast<const std::uint8_t*>(nullptr);
        if (at < start_ || at + size > start_ + buffer_.size()) {
            buffer_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(read_chunk_bytes, end_ - at)));
            if (buffer_.size() < size) buffer_.resize(size);
            auto n = read_at(fd_, at, buffer_.data(), buffer_.size());
            if (!n) return n.error();
            if (n.value() < buffer_.size()) return make_error_code(archive_errc::changed);
            start_ = at;
        }
        return buffer_.data() + (at - start_);
    }

private:
    int fd_;
    std::uint64_t end_;
    std::uint64_t start_ = 0;
    std::vector<std::uint8_t> buffer_;
};

// An event_log that passes another's reads through and notes the config
// hashes and calendar versions of the records read.
class noting_log final : public event_log {
public:
    explicit noting_log(const event_log& inner) : inner_(inner) {}

    std::int32_t partition_count() const noexcept override { return inner_.partition_count(); }
    bool contiguous_offsets() const noexcept override { return inner_.contiguous_offsets(); }
    partition_id partition_of(const stream_id& key) const noexcept override { return inner_.partition_of(key); }
    result<std::vector<log_position>> stage(std::span<const log_record>) override {
        return make_error_code(archive_errc::read_only);
    }
    result<void> commit(rocksdb::WriteBatch&) override { return make_error_code(archive_errc::read_only); }
    void abort() noexcept override {}
    result<log_offset> end(partition_id partition) const override { return inner_.end(partition); }

    result<std::vector<stored_record>> read(log_position from, std::size_t max_records) const override {
        auto records = inner_.read(from, max_records);
        if (records) {
            for (const auto& r : records.value()) {
                // One that does not decode is verify_log's to report.
                if (auto rec = decode(r.value)) {
                    config_hashes_.insert(rec.value().envelope.config_hash.value());
                    calendar_versions_.insert(rec.value().envelope.calendar_version.value());
                }
            }
        }
        return records;
    }

    const std::set<sha256_digest>& config_hashes() const { return config_hashes_; }
    const std::set<sha256_digest>& calendar_versions() const { return calendar_versions_; }

private:
    const event_log& inner_;
    // Noted by read(), which verify_log calls on one thread.
    mutable std::set<sha256_digest> config_hashes_;
    mutable std::set<sha256_digest> calendar_versions_;
};

std::string hex_set(const std::vector<digest>& digests) {
    std::string out = "[";
    for (std::size_t i = 0; i < digests.size(); ++i) out += (i > 0 ? ", " : "") + to_hex(digests[i].value());
    return out + "]";
}

std::vector<digest> digests_of(const std::set<sha256_digest>& set) {
    std::vector<digest> out;
    for (const auto& d : set) out.emplace_back(d);
    return out;
}

}  // namespace

const std::error_category& archive_category() noexcept {
    static const archive_category_impl category;
    return category;
}

// ---- The header -------------------------------------------------------------

std::string header_json(const archive_header& header) {
    bj::object o;
    o["format"] = header.format;
    o["created_at"] = header.created_at.to_string();
    o["source"] = header.source;
    bj::array partitions;
    for (const auto& p : header.partitions) {
        bj::object part;
        part["partition"] = p.partition;
        part["records"] = p.records;
        part["first_offset"] = p.first_offset ? bj::value(p.first_offset->value()) : bj::value(nullptr);
        part["last_offset"] = p.last_offset ? bj::value(p.last_offset->value()) : bj::value(nullptr);
        partitions.emplace_back(std::move(part));
    }
    o["partitions"] = std::move(partitions);
    o["public_key_pem"] = optional_string(header.public_key_pem);
    o["key_id"] = optional_string(header.key_id);
    o["rule_set"] = header.rule_set.value();
    o["calendar_version"] = to_hex(header.calendar_version.value());
    o["config_hashes"] = hex_list(header.config_hashes);
    o["calendar_versions"] = hex_list(header.calendar_versions);
    o["records"] = header.records;
    return bj::serialize(o);
}

result<archive_header, archive_problem> parse_header(std::string_view json) {
    boost::system::error_code ec;
    const bj::value v = bj::parse(json, ec);
    if (ec) return problem(archive_errc::bad_header, "the archive header is not JSON: " + ec.message());
    if (!v.is_object()) return problem(archive_errc::bad_header, "the archive header is not a JSON object");
    member_reader m(v.get_object());
    archive_header h;
    // The format first: a later format may change everything else.
    if (const auto* f = m.get("format")) {
        const auto format = m.u64(*f, "format");
        if (!m.error() && format != archive_format) {
            return problem(archive_errc::unsupported_format,
                           fmt::format("the archive is of format {}; this program reads format {}", format,
                                       archive_format));
        }
        h.format = archive_format;
    }
    if (const auto* c = m.get("created_at")) {
        const auto text = m.string(*c, "created_at");
        if (auto at = instant::parse(text)) {
            h.created_at = *at;
        } else if (!m.error()) {
            m.fail("created_at", "is not an RFC 3339 instant");
        }
    }
    if (const auto* s = m.get("source")) {
        h.source = m.string(*s, "source");
        if (!m.error() && !h.source.starts_with("embedded ") && !h.source.starts_with("kafka ")) {
            m.fail("source", "starts with neither \"embedded \" nor \"kafka \"");
        }
    }
    if (const auto* ps = m.get("partitions")) {
        if (!ps->is_array() || ps->get_array().empty()) {
            m.fail("partitions", "is not a non-empty array");
        } else {
            for (std::size_t i = 0; i < ps->get_array().size() && !m.error(); ++i) {
                const auto name = fmt::format("partitions[{}]", i);
                const auto& pv = ps->get_array()[i];
                if (!pv.is_object()) {
                    m.fail(name, "is not an object");
                    break;
                }
                member_reader pm(pv.get_object());
                archive_partition part;
                if (const auto* x = pm.get("partition")) {
                    const auto n = pm.u64(*x, "partition");
                    part.partition = n <= std::numeric_limits<std::int32_t>::max() ? static_cast<std::int32_t>(n) : -1;
                }
                if (const auto* x = pm.get("records")) part.records = pm.u64(*x, "records");
                if (const auto* x = pm.get("first_offset")) {
                    if (auto o = pm.optional_i64(*x, "first_offset")) part.first_offset = log_offset(*o);
                }
                if (const auto* x = pm.get("last_offset")) {
                    if (auto o = pm.optional_i64(*x, "last_offset")) part.last_offset = log_offset(*o);
                }
                if (pm.error()) return problem(archive_errc::bad_header, fmt::format("{} (in {})", *pm.error(), name));
                if (part.partition != static_cast<std::int32_t>(i)) {
                    m.fail(name, fmt::format("is partition {}; partitions are listed 0, 1, 2, ...", part.partition));
                } else if ((part.records == 0) != !part.first_offset || (part.records == 0) != !part.last_offset) {
                    m.fail(name, "has offsets that disagree with its record count (null exactly when it has none)");
                }
                h.partitions.push_back(part);
            }
        }
    }
    if (const auto* k = m.get("public_key_pem")) h.public_key_pem = m.optional_string(*k, "public_key_pem");
    if (const auto* k = m.get("key_id")) h.key_id = m.optional_string(*k, "key_id");
    if (!m.error() && h.public_key_pem.has_value() != h.key_id.has_value()) {
        m.fail("key_id", "is null where public_key_pem is not, or the other way round");
    }
    if (const auto* r = m.get("rule_set")) h.rule_set = rule_set_id(m.string(*r, "rule_set"));
    if (const auto* c = m.get("calendar_version")) h.calendar_version = m.hex(*c, "calendar_version");
    if (const auto* c = m.get("config_hashes")) h.config_hashes = m.hex_list(*c, "config_hashes");
    if (const auto* c = m.get("calendar_versions")) h.calendar_versions = m.hex_list(*c, "calendar_versions");
    if (const auto* r = m.get("records")) h.records = m.u64(*r, "records");
    if (m.error()) return problem(archive_errc::bad_header, *m.error());
    return h;
}

// ---- Writing ------------------------------------------------------------------

result<export_report, archive_problem> write_archive(const event_log& log, const std::filesystem::path& file,
                                                     const export_options& options) {
    namespace fs = std::filesystem;
    const auto started = std::chrono::steady_clock::now();
    std::error_code ec;
    if (fs::exists(file, ec)) {
        return problem(archive_errc::exists,
                       fmt::format("{} exists: an archive is never overwritten; choose another name", file.string()));
    }
    auto scan = scan_log(log, options);
    if (!scan) return scan.error();

    export_report report;
    archive_header& h = report.header;
    h.created_at = options.created_at;
    h.source = options.source;
    h.partitions = scan.value().partitions;
    if (options.public_key != nullptr) {
        h.public_key_pem = options.public_key->pem();
        h.key_id = options.public_key->id();
    }
    h.rule_set = options.rule_set;
    h.calendar_version = options.calendar_version;
    h.config_hashes = digests_of(scan.value().config_hashes);
    h.calendar_versions = digests_of(scan.value().calendar_versions);
    h.records = scan.value().records;
    report.checkpoints = scan.value().checkpoints;
    report.checkpoint_key_ids.assign(scan.value().key_ids.begin(), scan.value().key_ids.end());

    const fs::path partial_path = file.string() + ".partial";
    const int fd = ::open(partial_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return problem(archive_errc::io, fmt::format("cannot create {}: {}", partial_path.string(), errno_text(errno)));
    }
    partial_file partial(partial_path, fd);
    hashing_writer out(fd);
    const auto io_failed = [&](const std::error_code& e) {
        return problem(archive_errc::io, fmt::format("cannot write {}: {}", partial_path.string(), e.message()));
    };

    const std::string header = header_json(h);
    if (header.size() > archive_header_bytes_max) {
        return problem(archive_errc::bad_source,
                       fmt::format("the archive header would have {} bytes, more than the {} a reader accepts",
                                   header.size(), archive_header_bytes_max));
    }
    std::string head(archive_magic);
    put_u32(head, static_cast<std::uint32_t>(header.size()));
    head += header;
    if (auto w = out.write(head); !w) return io_failed(w.error());

    std::uint64_t written = 0;
    std::string frame;
    for (std::int32_t p = 0; p < log.partition_count(); ++p) {
        const auto& expected = scan.value().partitions[static_cast<std::size_t>(p)];
        archive_partition seen;
        seen.partition = p;
        const auto put = [&](const stored_record& r) -> std::optional<archive_problem> {
            frame.clear();
            put_u32(frame, static_cast<std::uint32_t>(p));
            put_i64(frame, r.position.offset.value());
            put_u32(frame, static_cast<std::uint32_t>(r.value.size()));
            auto w = out.write(frame);
            if (w) w = out.write({reinterpret_cast<const char*>(r.value.data()), r.value.size()});
            if (!w) return io_failed(w.error());
            if (seen.records == 0) seen.first_offset = r.position.offset;
            seen.last_offset = r.position.offset;
            ++seen.records;
            ++written;
            if (options.progress && written % std::max<std::size_t>(options.read_batch_records, 1) == 0) {
                options.progress("write", written, h.records);
            }
            return std::nullopt;
        };
        const auto end = scan.value().ends[static_cast<std::size_t>(p)];
        if (auto bad = for_each_record(log, partition_id(p), end, options.read_batch_records, put)) return *bad;
        // Records below an end never change; a log that shows others now
        // (its files replaced under us) is not archived.
        if (seen != expected) {
            return problem(archive_errc::bad_source,
                           fmt::format("partition {} changed between the two passes of the export ({} records, "
                                       "then {}); export again",
                                       p, expected.records, seen.records));
        }
    }
    if (options.progress) options.progress("write", written, h.records);

    report.file_digest = digest(out.finish_digest());
    std::string trailer(archive_trailer_magic);
    trailer.append(reinterpret_cast<const char*>(report.file_digest.value().data()), report.file_digest.value().size());
    if (auto w = out.write_unhashed(trailer); !w) return io_failed(w.error());
    report.bytes = out.written();
    if (::fsync(partial.fd()) != 0) return io_failed(std::error_code(errno, std::generic_category()));
    if (auto c = partial.close(); !c) return io_failed(c.error());
    // link() rather than rename(): it refuses a file that appeared meanwhile.
    if (::link(partial_path.c_str(), file.c_str()) != 0) {
        const int error = errno;
        if (error == EEXIST) {
            return problem(archive_errc::exists, fmt::format("{} exists: an archive is never overwritten; choose "
                                                             "another name",
                                                             file.string()));
        }
        return problem(archive_errc::io, fmt::format("cannot create {}: {}", file.string(), errno_text(error)));
    }
    sync_directory(file.parent_path());
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

// ---- Reading --------------------------------------------------------------------

archive_log::~archive_log() {
    if (fd_ >= 0) ::close(fd_);
}

result<std::unique_ptr<archive_log>, archive_problem> archive_log::open(const std::filesystem::path& file,
                                                                      const archive_open_options& options) {
    std::unique_ptr<archive_log> a(new archive_log());
    a->file_ = file;
    const std::string name = file.string();
    a->fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (a->fd_ < 0) return problem(archive_errc::io, fmt::format("cannot open {}: {}", name, errno_text(errno)));
    struct stat st {};
    if (::fstat(a->fd_, &st) != 0) {
        return problem(archive_errc::io, fmt::format("cannot read {}: {}", name, errno_text(errno)));
    }
    if (!S_ISREG(st.st_mode)) return problem(archive_errc::io, fmt::format("{} is not a regular file", name));
    const auto size = static_cast<std::uint64_t>(st.st_size);
    a->file_bytes_ = size;
    const auto io_failed = [&](const std::error_code& e) {
        return problem(archive_errc::io, fmt::format("cannot read {}: {}", name, e.message()));
    };

    // 1. The trailer, before anything else.
    std::string magic(archive_magic.size(), '\0');
    auto got = read_at(a->fd_, 0, magic.data(), magic.size());
    if (!got) return io_failed(got.error());
    const bool starts_right = got.value() == magic.size() && magic == archive_magic;
    std::array<std::uint8_t, archive_trailer_bytes> trailer{};
    bool ends_right = false;
    if (size >= archive_magic.size() + 4 + archive_trailer_bytes) {
        got = read_at(a->fd_, size - archive_trailer_bytes, trailer.data(), trailer.size());
        if (!got) return io_failed(got.error());
        ends_right = got.value() == trailer.size() &&
                     std::memcmp(trailer.data(), archive_trailer_magic.data(), archive_trailer_magic.size()) == 0;
    }
    if (!ends_right) {
        if (!starts_right) {
            return problem(archive_errc::not_an_archive,
                           fmt::format("{} is not a regledger archive: it does not start with \"REGLEDGER-ARCHIVE\\n\"",
                                       name));
        }
        return problem(archive_errc::truncated,
                       fmt::format("{} is truncated: its {} bytes do not end with the trailer (\"REGLEDGER-END\\n\" "
                                   "and a SHA-256); the archive was cut short",
                                   name, size));
    }
    const std::uint64_t body_end = size - archive_trailer_bytes;
    sha256_stream hash;
    std::vector<std::uint8_t> chunk(static_cast<std::size_t>(std::min<std::uint64_t>(read_chunk_bytes, body_end)));
    for (std::uint64_t at = 0; at < body_end;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), body_end - at));
        got = read_at(a->fd_, at, chunk.data(), n);
        if (!got) return io_failed(got.error());
        if (got.value() != n) return problem(archive_errc::changed, fmt::format("{} shrank while it was read", name));
        hash.update(chunk.data(), n);
        at += n;
        if (options.progress) options.progress(at, body_end);
    }
    std::copy_n(trailer.begin() + archive_trailer_magic.size(), 32, a->file_digest_.value().begin());
    const sha256_digest actual = hash.finish();
    if (actual != a->file_digest_.value()) {
        return problem(archive_errc::digest_mismatch,
                       fmt::format("{} does not match its trailer: its first {} bytes hash to {}, the trailer states "
                                   "{} (the file was altered or damaged)",
                                   name, body_end, to_hex(actual), to_hex(a->file_digest_.value())));
    }
    if (!starts_right) {
        return problem(archive_errc::not_an_archive,
                       fmt::format("{} is not a regledger archive: it does not start with \"REGLEDGER-ARCHIVE\\n\"",
                                   name));
    }

    // 2. The header.
    frame_reader frames(a->fd_, body_end);
    auto length = frames.fetch(archive_magic.size(), 4);
    if (!length) return io_failed(length.error());
    if (length.value() == nullptr) return problem(archive_errc::bad_header, "the archive ends before its header");
    const std::uint32_t header_bytes = get_u32(length.value());
    const std::uint64_t header_at = archive_magic.size() + 4;
    if (header_bytes > archive_header_bytes_max || header_at + header_bytes > body_end) {
        return problem(archive_errc::bad_header,
                       fmt::format("the archive header's length {} runs past the records' end at byte {} (or past "
                                   "the {} bytes a header may have)",
                                   header_bytes, body_end, archive_header_bytes_max));
    }
    std::string header_text(header_bytes, '\0');
    got = read_at(a->fd_, header_at, header_text.data(), header_text.size());
    if (!got) return io_failed(got.error());
    if (got.value() != header_text.size()) {
        return problem(archive_errc::changed, fmt::format("{} shrank while it was read", name));
    }
    auto header = parse_header(header_text);
    if (!header) return header.error();
    a->header_ = std::move(header).value();
    const archive_header& h = a->header_;
    if (h.public_key_pem) {
        auto key = verify_key::parse(*h.public_key_pem);
        if (!key) {
            return problem(archive_errc::bad_header,
                           "the archive header's public_key_pem is not an Ed25519 public key: " +
                               key.error().message());
        }
        if (key.value().id() != *h.key_id) {
            return problem(archive_errc::bad_header,
                           fmt::format("the archive header's key_id {} is not the id of its public_key_pem ({})",
                                       *h.key_id, key.value().id()));
        }
        a->embedded_key_.emplace(std::move(key).value());
    }

    // 3. The records' frames, against the header.
    a->index_.resize(h.partitions.size());
    std::uint64_t at = header_at + header_bytes;
    std::uint64_t records = 0;
    std::int32_t current = 0;
    while (at < body_end) {
        auto frame = frames.fetch(at, archive_frame_bytes);
        if (!frame) return io_failed(frame.error());
        if (frame.value() == nullptr) {
            return problem(archive_errc::bad_record,
                           fmt::format("the frame of the record at byte {} runs past the records' end at byte {}", at,
                                       body_end));
        }
        const std::uint32_t raw_partition = get_u32(frame.value());
        const std::int64_t offset = get_i64(frame.value() + 4);
        const std::uint32_t record_bytes = get_u32(frame.value() + 12);
        if (raw_partition >= h.partitions.size()) {
            return problem(archive_errc::bad_record,
                           fmt::format("the record at byte {} names partition {}, which the header does not list", at,
                                       raw_partition));
        }
        const auto partition = static_cast<std::int32_t>(raw_partition);
        const log_position position{partition_id(partition), log_offset(offset)};
        if (partition < current) {
            return problem(archive_errc::bad_record,
                           fmt::format("the record at byte {} (log position {}:{}) comes after records of "
                                       "partition {}: records stand partition by partition",
                                       at, partition, offset, current),
                           position);
        }
        current = partition;
        auto& entries = a->index_[raw_partition];
        if (offset < 0 || (!entries.empty() && offset <= entries.back().offset)) {
            return problem(archive_errc::bad_record,
                           fmt::format("the record at byte {} has offset {} in partition {}, not after the previous "
                                       "record's {}",
                                       at, offset, partition, entries.empty() ? -1 : entries.back().offset),
                           position);
        }
        if (record_bytes > record_bytes_max || at + archive_frame_bytes + record_bytes > body_end) {
            return problem(archive_errc::bad_record,
                           fmt::format("the record at byte {} (log position {}:{}) has length {}, which runs past the "
                                       "records' end at byte {} (or past the {} bytes a record may have)",
                                       at, partition, offset, record_bytes, body_end, record_bytes_max),
                           position);
        }
        entries.push_back({offset, at, record_bytes});
        at += archive_frame_bytes + record_bytes;
        ++records;
    }
    for (std::size_t p = 0; p < h.partitions.size(); ++p) {
        const auto& entries = a->index_[p];
        archive_partition seen;
        seen.partition = static_cast<std::int32_t>(p);
        seen.records = entries.size();
        if (!entries.empty()) {
            seen.first_offset = log_offset(entries.front().offset);
            seen.last_offset = log_offset(entries.back().offset);
        }
        if (seen != h.partitions[p]) {
            const auto offsets = [](const archive_partition& x) {
                return x.records == 0 ? std::string("none")
                                      : fmt::format("{} to {}", x.first_offset->value(), x.last_offset->value());
            };
            return problem(archive_errc::bad_record,
                           fmt::format("partition {} holds {} records (offsets {}), but the header states {} (offsets "
                                       "{})",
                                       p, seen.records, offsets(seen), h.partitions[p].records,
                                       offsets(h.partitions[p])));
        }
    }
    if (records != h.records) {
        return problem(archive_errc::bad_record,
                       fmt::format("the archive holds {} records, but its header states {}", records, h.records));
    }
    return a;
}

std::int32_t archive_log::partition_count() const noexcept { return static_cast<std::int32_t>(index_.size()); }

partition_id archive_log::partition_of(const stream_id& key) const noexcept {
    // As the log it came from chose: the embedded log has one partition,
    // Kafka hashes the key.
    if (index_.size() <= 1) return partition_id(0);
    return partition_id(kafka_log::murmur2_partition(key.value(), partition_count()));
}

result<std::vector<log_position>> archive_log::stage(std::span<const log_record>) {
    return make_error_code(archive_errc::read_only);
}

result<void> archive_log::commit(rocksdb::WriteBatch&) { return make_error_code(archive_errc::read_only); }

result<std::vector<stored_record>> archive_log::read(log_position from, std::size_t max_records) const {
    std::vector<stored_record> out;
    const auto p = from.partition.value();
    if (p < 0 || p >= partition_count() || max_records == 0) return out;
    const auto& entries = index_[static_cast<std::size_t>(p)];
    const auto first = std::lower_bound(entries.begin(), entries.end(), from.offset.value(),
                                        [](const entry& e, std::int64_t offset) { return e.offset < offset; });
    if (first == entries.end()) return out;
    const auto last = first + static_cast<std::ptrdiff_t>(
                                  std::min<std::size_t>(max_records, static_cast<std::size_t>(entries.end() - first)));
    // The records of a partition are contiguous in the file: one read.
    const std::uint64_t begin_at = first->frame_at;
    const std::uint64_t end_at = (last - 1)->frame_at + archive_frame_bytes + (last - 1)->length;
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(end_at - begin_at));
    auto got = read_at(fd_, begin_at, bytes.data(), bytes.size());
    if (!got) return got.error();
    if (got.value() != bytes.size()) return make_error_code(archive_errc::changed);
    out.reserve(static_cast<std::size_t>(last - first));
    for (auto e = first; e != last; ++e) {
        const std::uint8_t* frame = bytes.data() + (e->frame_at - begin_at);
        // open() checked these frames; different ones now mean the file was
        // written since.
        if (get_u32(frame) != static_cast<std::uint32_t>(p) || get_i64(frame + 4) != e->offset ||
            get_u32(frame + 12) != e->length) {
            return make_error_code(archive_errc::changed);
        }
        const std::uint8_t* record = frame + archive_frame_bytes;
        out.push_back({{from.partition, log_offset(e->offset)}, std::vector<std::uint8_t>(record, record + e->length)});
    }
    return out;
}

result<log_offset> archive_log::end(partition_id partition) const {
    const auto p = partition.value();
    if (p < 0 || p >= partition_count() || index_[static_cast<std::size_t>(p)].empty()) return log_offset(0);
    return log_offset(index_[static_cast<std::size_t>(p)].back().offset + 1);
}

// ---- Verifying ------------------------------------------------------------------

result<archive_verify_report, archive_problem> verify_archive(const archive_log& archive,
                                                             const archive_verify_options& options) {
    const auto started = std::chrono::steady_clock::now();
    archive_verify_report report;
    const verify_key* key = nullptr;
    const auto& embedded = archive.embedded_key();
    if (options.pinned_key != nullptr) {
        if (embedded && embedded->raw() != options.pinned_key->raw()) {
            return problem(archive_errc::key_mismatch,
                           fmt::format("the archive carries public key {}, not the pinned key {} (--public-key): it "
                                       "is another ledger's archive, or its key was replaced",
                                       embedded->id(), options.pinned_key->id()));
        }
        key = options.pinned_key;
        report.key = key_origin::pinned;
    } else if (embedded) {
        key = &*embedded;
        report.key = key_origin::archive;
    }
    if (key != nullptr) report.key_id = key->id();

    noting_log log(archive);
    verify_options vo;
    vo.contiguous_offsets = archive.contiguous_offsets();
    vo.read_batch_records = options.read_batch_records;
    vo.progress = options.progress;
    vo.public_key = key;
    auto summary = verify_log(log, vo);
    if (!summary) {
        const auto& p = summary.error();
        return problem(archive_errc::damaged,
                       fmt::format("archive position {}:{}: {}", p.position.partition.value(),
                                   p.position.offset.value(), p.what),
                       p.position);
    }
    report.summary = std::move(summary).value();
    const archive_header& h = archive.header();
    if (report.summary.records != h.records) {
        return problem(archive_errc::bad_record,
                       fmt::format("the log verified {} records, but the header states {}", report.summary.records,
                                   h.records));
    }
    const auto configs = digests_of(log.config_hashes());
    const auto calendars = digests_of(log.calendar_versions());
    if (configs != h.config_hashes) {
        return problem(archive_errc::bad_header,
                       fmt::format("the archive header lists config hashes {}, but the records carry {}",
                                   hex_set(h.config_hashes), hex_set(configs)));
    }
    if (calendars != h.calendar_versions) {
        return problem(archive_errc::bad_header,
                       fmt::format("the archive header lists calendar versions {}, but the records carry {}",
                                   hex_set(h.calendar_versions), hex_set(calendars)));
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

// ---- Restoring ------------------------------------------------------------------

result<restore_report, archive_problem> restore_log(const archive_log& archive, const std::filesystem::path& dir,
                                                   const restore_options& options) {
    namespace fs = std::filesystem;
    const auto started = std::chrono::steady_clock::now();
    std::error_code ec;
    if (fs::exists(dir, ec) && !(fs::is_directory(dir, ec) && fs::is_empty(dir, ec))) {
        return problem(archive_errc::exists,
                       fmt::format("{} exists and is not an empty directory: an archive is restored into a new data "
                                   "directory only",
                                   dir.string()));
    }
    const archive_header& h = archive.header();
    std::uint64_t elsewhere = 0;
    for (std::size_t p = 1; p < h.partitions.size(); ++p) elsewhere += h.partitions[p].records;
    if (elsewhere > 0) {
        std::size_t holding = 0;
        for (const auto& p : h.partitions) holding += p.records > 0 ? 1 : 0;
        return problem(archive_errc::not_restorable,
                       fmt::format("the archive holds records in {} partitions of a Kafka topic ({} of them outside "
                                   "partition 0); an embedded ledger has one partition, so only a single-partition "
                                   "archive can be imported",
                                   holding, elsewhere));
    }

    store_options so;
    so.dir = dir;
    so.create_if_missing = true;
    // Filled, flushed, and only then used (as rebuild's fresh store): a
    // crash before the flush leaves a directory to remove, never a ledger.
    so.sync_writes = false;
    so.disable_wal = true;
    const std::string_view families[] = {embedded_log::column_family};
    auto store = rocks_store::open(so, families);
    if (!store) {
        return problem(archive_errc::io, fmt::format("cannot create {}: {}", dir.string(), store.error().message()));
    }
    auto* family = store.value()->cf(embedded_log::column_family);
    restore_report report;
    const partition_id partition(0);
    const auto end = archive.end(partition);
    if (!end) return problem(archive_errc::io, "cannot read the archive: " + end.error().message());
    const std::size_t batch_records = std::max<std::size_t>(options.write_batch_records, 1);
    for (log_offset next(0); next < end.value();) {
        auto records = archive.read({partition, next}, batch_records);
        if (!records) {
            return problem(archive_errc::io,
                           fmt::format("cannot read the archive at {}:{}: {}", 0, next.value(),
                                       records.error().message()),
                           log_position{partition, next});
        }
        if (records.value().empty()) break;
        rocksdb::WriteBatch batch;
        for (const auto& r : records.value()) {
            // Offsets 0, 1, 2, ... in archive order: a Kafka partition's
            // gaps (transaction markers) are closed up.
            batch.Put(family, embedded_log::key_of(static_cast<std::int64_t>(report.records)),
                      rocksdb::Slice(reinterpret_cast<const char*>(r.value.data()), r.value.size()));
            ++report.records;
        }
        if (auto w = store.value()->write(batch); !w) {
            return problem(archive_errc::io, fmt::format("cannot write {}: {}", dir.string(), w.error().message()));
        }
        next = log_offset(records.value().back().position.offset.value() + 1);
        if (options.progress) options.progress(report.records, h.records);
    }
    rocksdb::FlushOptions flush;
    flush.wait = true;
    if (auto st = store.value()->db().Flush(flush, family); !st.ok()) {
        return problem(archive_errc::io, fmt::format("cannot flush {}: {}", dir.string(), st.ToString()));
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

}  // namespace regledger::events
