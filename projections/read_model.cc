#include "projections/read_model.h"

#include <algorithm>
#include <map>
#include <memory>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "events/json.h"
#include "events/codec.h"
#include "projections/documents.h"

namespace regledger::projections {
namespace {

using boost::json::array;
using boost::json::object;

object parse_object(std::string_view text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    // The stores only hold documents this code wrote.
    assert(!ec && v.is_object());
    return std::move(v.get_object());
}

std::string to_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 0xf]);
    }
    return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        auto nibble = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            return -1;
        };
        const int hi = nibble(hex[i]);
        const int lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi << 4 | lo));
    }
    return out;
}

bool contains_string(const boost::json::value* arr, std::string_view s) {
    if (arr == nullptr || !arr->is_array()) return false;
    for (const auto& v : arr->get_array()) {
        if (v.is_string() && v.get_string() == s) return true;
    }
    return false;
}

// Whether a registration document passes the filters the index did not.
bool matches(const object& doc, const list_filter& f) {
    if (f.status && doc.at("status").get_string() != json::to_json(*f.status).get_string()) return false;
    if (f.institution && doc.at("institution_id").get_string() != f.institution->value()) return false;
    if (f.subject) {
        bool found = false;
        for (const auto& a : doc.at("applicants").get_array()) {
            if (a.at("uscc").get_string() == *f.subject) found = true;
        }
        if (!found) return false;
    }
    const auto* rec = doc.if_contains("record");
    if (f.industry && !(rec && contains_string(rec->get_object().if_contains("industry_codes"), *f.industry))) {
        return false;
    }
    if (f.region && !(rec && contains_string(rec->get_object().if_contains("coverage_regions"), *f.region))) {
        return false;
    }
    if (f.expiring_before) {
        const auto* until = doc.if_contains("valid_until");
        if (until == nullptr) return false;
        const auto d = calendar_date::parse(until->get_string());
        if (!d || !(*d < *f.expiring_before)) return false;
    }
    return true;
}

// One query's view of the store: the rows it reads and the position it
// reports come from the same RocksDB snapshot, so the position is exactly
// what the answer reflects.
class snapshot_view {
public:
    explicit snapshot_view(rocksdb::DB& db) : db_(db), snapshot_(db.GetSnapshot()) { options_.snapshot = snapshot_; }
    ~snapshot_view() { db_.ReleaseSnapshot(snapshot_); }
    snapshot_view(const snapshot_view&) = delete;
    snapshot_view& operator=(const snapshot_view&) = delete;
    const rocksdb::ReadOptions& options() const noexcept { return options_; }

private:
    rocksdb::DB& db_;
    const rocksdb::Snapshot* snapshot_;
    rocksdb::ReadOptions options_;
};

}  // namespace

read_model::read_model(events::rocks_store& store, const events::event_log& log) : store_(store), log_(log) {}

std::optional<std::string> read_model::get(std::string_view family, std::string_view key) const {
    return get(family, key, rocksdb::ReadOptions());
}

std::optional<std::string> read_model::get(std::string_view family, std::string_view key,
                                           const rocksdb::ReadOptions& options) const {
    std::string value;
    const auto status = store_.db().Get(options, store_.cf(family), key, &value);
    if (!status.ok()) return std::nullopt;
    return value;
}

std::optional<std::vector<std::uint8_t>> read_model::stored_event(const stream_id& stream,
                                                                  stream_version version) const {
    // A history row and the log record it names are written in one batch and
    // the record is never removed: no snapshot is needed to read both.
    const rocksdb::ReadOptions options;
    auto row = get(cf::history, history_key(stream, version), options);
    if (!row) return std::nullopt;
    auto bytes = history_record(store_, std::move(*row), options);
    if (!bytes) return std::nullopt;
    return std::vector<std::uint8_t>(bytes.value().begin(), bytes.value().end());
}

result<std::vector<event_record>> read_model::history(const stream_id& stream) const {
    return history(stream, rocksdb::ReadOptions());
}

result<std::vector<event_record>> read_model::history(const stream_id& stream, const rocksdb::ReadOptions& options) const {
    std::vector<event_record> out;
    const std::string prefix = history_prefix(stream);
    std::unique_ptr<rocksdb::Iterator> it(store_.db().NewIterator(options, store_.cf(cf::history)));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        BOOST_OUTCOME_TRY(auto bytes, history_record(store_, it->value().ToString(), options));
        auto rec = events::decode({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
        if (!rec) return rec.error();
        out.push_back(std::move(rec).value());
    }
    if (!it->status().ok()) return events::to_error_code(it->status());
    return out;
}

result<registration_state> read_model::load_registration(const registration_id& id) const {
    BOOST_OUTCOME_TRY(auto records, history(registration_stream(id)));
    registration_state s;
    for (const auto& r : records) s = evolve(std::move(s), r.event);
    return s;
}

result<registration_state> read_model::load_registration_as_of(const registration_id& id, instant as_of) const {
    BOOST_OUTCOME_TRY(auto records, history(registration_stream(id)));
    registration_state s;
    for (const auto& r : records) {
        if (r.envelope.occurred_at > as_of) break;
        s = evolve(std::move(s), r.event);
    }
    return s;
}

result<account_state> read_model::load_account(const account_id& id) const {
    BOOST_OUTCOME_TRY(auto records, history(account_stream(id)));
    account_state s;
    for (const auto& r : records) s = evolve(std::move(s), r.event);
    return s;
}

std::optional<registration_id> read_model::registration_of(const application_id& id) const {
    auto v = get(cf::applications, id.value());
    if (!v) return std::nullopt;
    const auto row = decode_application_row(*v);
    if (!row) return std::nullopt;
    return registration_id(std::string(row->registration_id));
}

object read_model::compose(object head, const rocksdb::ReadOptions& options) const {
    std::vector<object> apps;
    if (const auto* ids = head.if_contains("applications"); ids && ids->is_array()) {
        apps.reserve(ids->get_array().size());
        for (const auto& id : ids->get_array()) {
            const auto row_text = get(cf::applications, std::string_view(id.get_string()), options);
            const auto row = row_text ? decode_application_row(*row_text) : std::nullopt;
            // Written in the same batch as the head: present unless the
            // store was damaged behind the engine's back.
            assert(row.has_value());
            if (row) apps.push_back(parse_object(row->document));
        }
    }
    return compose_registration(std::move(head), std::move(apps));
}

std::optional<stored_outcome> read_model::outcome_of(const command_id& id) const {
    auto v = get(cf::commands, id.value());
    if (!v) return std::nullopt;
    return decode_outcome(*v);
}

std::optional<stream_head> read_model::head_of(const stream_id& stream) const {
    auto v = get(cf::streams, stream.value());
    if (!v) return std::nullopt;
    return decode_head(*v);
}

log_offset read_model::checkpoint(partition_id partition) const {
    return checkpoint(partition, rocksdb::ReadOptions());
}

log_offset read_model::checkpoint(partition_id partition, const rocksdb::ReadOptions& options) const {
    auto v = get(cf::checkpoint, checkpoint_key(partition), options);
    if (!v || v->size() != 8) return log_offset(0);
    return log_offset(get_i64(*v, 0));
}

std::uint32_t read_model::code_sequence_next(const institution_id& inst, int year) const {
    auto v = get(cf::counters, counter_key(inst, year));
    if (!v || v->size() != 8) return 1;
    return static_cast<std::uint32_t>(std::max<std::int64_t>(get_i64(*v, 0), 1));
}

log_position read_model::position_of(const stream_id& stream, const rocksdb::ReadOptions& options) const {
    const partition_id p = log_.partition_of(stream);
    return {p, checkpoint(p, options)};
}

std::optional<answer> read_model::registration(const registration_id& id) const {
    const snapshot_view view(store_.db());
    auto v = get(cf::directory, id.value(), view.options());
    if (!v) return std::nullopt;
    return answer{compose(parse_object(*v), view.options()), position_of(registration_stream(id), view.options())};
}

result<std::optional<answer>> read_model::registration_as_of(const registration_id& id, instant as_of) const {
    const snapshot_view view(store_.db());
    BOOST_OUTCOME_TRY(auto records, history(registration_stream(id), view.options()));
    registration_state s;
    for (const auto& r : records) {
        if (r.envelope.occurred_at > as_of) break;
        s = evolve(std::move(s), r.event);
    }
    if (!s.exists()) return std::optional<answer>{};
    return std::optional<answer>{answer{registration_document(s), position_of(registration_stream(id), view.options())}};
}

std::optional<answer> read_model::application(const application_id& id) const {
    const snapshot_view view(store_.db());
    const auto v = get(cf::applications, id.value(), view.options());
    const auto row = v ? decode_application_row(*v) : std::nullopt;
    if (!row) return std::nullopt;
    const registration_id reg{std::string(row->registration_id)};
    return answer{parse_object(row->document), position_of(registration_stream(reg), view.options())};
}

std::optional<answer> read_model::account(const account_id& id) const {
    const snapshot_view view(store_.db());
    auto v = get(cf::accounts, id.value(), view.options());
    if (!v) return std::nullopt;
    return answer{parse_object(*v), position_of(account_stream(id), view.options())};
}

result<answer, rejection> read_model::list(const list_filter& f) const {
    const std::size_t limit = std::clamp<std::size_t>(f.limit, 1, list_limits::limit_max);
    // The index that narrows the scan most, and the prefix of its keys.
    std::string_view family = cf::directory;
    std::string prefix;
    if (f.subject) {
        family = cf::by_subject;
        prefix = *f.subject + sep;
    } else if (f.status) {
        family = cf::by_status_expiry;
        put_u8(prefix, static_cast<std::uint8_t>(*f.status));
        prefix.push_back(sep);
    } else if (f.institution) {
        family = cf::by_institution;
        prefix = f.institution->value() + sep;
    }
    std::string start = prefix;
    if (f.cursor) {
        const auto decoded = from_hex(*f.cursor);
        if (!decoded || !decoded->starts_with(prefix)) {
            return reject(errc::malformed, "the cursor does not belong to this listing", "/cursor");
        }
        start = *decoded;
        start.push_back('\0');  // strictly after the last key returned
    }
    const snapshot_view view(store_.db());
    const rocksdb::ReadOptions& options = view.options();
    std::unique_ptr<rocksdb::Iterator> it(store_.db().NewIterator(options, store_.cf(family)));
    array items;
    // The key to resume after: the last one returned, or the last one
    // scanned when the scan stopped at its limit.
    std::optional<std::string> resume_after;
    std::string last_key;
    std::size_t scanned = 0;
    for (it->Seek(start); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        const std::string key = it->key().ToString();
        if (f.status && f.expiring_before) {
            // Keys are ordered by validity end: nothing later can match.
            const auto until = calendar_date::from_days(get_i32(key, prefix.size()));
            if (!(until < *f.expiring_before)) break;
        }
        if (scanned++ == list_limits::scanned_max) {
            resume_after = last_key;
            break;
        }
        const std::string reg_id = family == cf::directory ? key : key.substr(key.rfind(sep) + 1);
        std::string value;
        if (family == cf::directory) {
            value = it->value().ToString();
        } else if (!store_.db().Get(options, store_.cf(cf::directory), reg_id, &value).ok()) {
            continue;
        }
        // The filters look at the registration's own fields only.
        object head = parse_object(value);
        if (matches(head, f)) {
            if (items.size() == limit) {
                resume_after = last_key;
                break;
            }
            items.push_back(compose(std::move(head), options));
        }
        last_key = key;
    }
    object out;
    out["items"] = std::move(items);
    if (resume_after) {
        out["next_cursor"] = to_hex(*resume_after);
    } else {
        out["next_cursor"] = nullptr;
    }
    return answer{std::move(out), {partition_id(0), checkpoint(partition_id(0), options)}};
}

answer read_model::publicity() const {
    const snapshot_view view(store_.db());
    array items;
    std::unique_ptr<rocksdb::Iterator> it(store_.db().NewIterator(view.options(), store_.cf(cf::publicity)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) items.push_back(parse_object(it->value().ToString()));
    object out;
    out["items"] = std::move(items);
    return {std::move(out), {partition_id(0), checkpoint(partition_id(0), view.options())}};
}

std::optional<answer> read_model::by_code(std::string_view code) const {
    const snapshot_view view(store_.db());
    const auto reg = get(cf::by_code, code, view.options());
    if (!reg) return std::nullopt;
    const stream_id stream = registration_stream(registration_id(*reg));
    const auto records = history(stream, view.options());
    if (!records || records.value().empty()) return std::nullopt;
    registration_state s;
    for (const auto& r : records.value()) s = evolve(std::move(s), r.event);
    return answer{public_code_document(s), position_of(stream, view.options())};
}

answer read_model::stats(const std::optional<institution_id>& inst, calendar_date from, calendar_date to) const {
    // institution -> figure -> count
    std::map<std::string, std::map<std::string, std::int64_t>> figures;
    std::map<std::string, std::map<std::string, std::int64_t>> by_status;
    const snapshot_view view(store_.db());
    const rocksdb::ReadOptions& options = view.options();
    {
        std::unique_ptr<rocksdb::Iterator> it(store_.db().NewIterator(options, store_.cf(cf::stats)));
        const std::string prefix = inst ? inst->value() + sep : std::string();
        for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
            const std::string key = it->key().ToString();
            const auto first = key.find(sep);
            const auto day = calendar_date::from_days(get_i32(key, first + 1));
            if (day < from || to < day) continue;
            const std::string figure = key.substr(first + 1 + 4 + 1);
            figures[key.substr(0, first)][figure] += get_i64(it->value().ToString(), 0);
        }
    }
    {
        std::unique_ptr<rocksdb::Iterator> it(store_.db().NewIterator(options, store_.cf(cf::status_counts)));
        const std::string prefix = inst ? inst->value() + sep : std::string();
        for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
            const std::string key = it->key().ToString();
            const auto first = key.find(sep);
            const auto status = static_cast<registration_status>(static_cast<std::uint8_t>(key[first + 1]));
            const std::int64_t count = get_i64(it->value().ToString(), 0);
            if (count != 0) {
                by_status[key.substr(0, first)][std::string(json::to_json(status).get_string())] = count;
            }
        }
    }
    array reports;
    std::map<std::string, int> institutions;
    for (const auto& [k, v] : figures) institutions[k];
    for (const auto& [k, v] : by_status) institutions[k];
    if (inst) institutions[inst->value()];
    for (const auto& [name, unused] : institutions) {
        object report;
        report["institution_id"] = name;
        object f;
        for (const auto& [figure, count] : figures[name]) f[figure] = count;
        report["figures"] = std::move(f);
        object s;
        for (const auto& [status, count] : by_status[name]) s[status] = count;
        report["registrations_by_status"] = std::move(s);
        reports.push_back(std::move(report));
    }
    object out;
    out["from"] = from.to_string();
    out["to"] = to.to_string();
    out["reports"] = std::move(reports);
    return {std::move(out), {partition_id(0), checkpoint(partition_id(0), options)}};
}

result<answer> read_model::events_after(log_position from, std::size_t limit) const {
    BOOST_OUTCOME_TRY(auto records, log_.read(from, limit));
    array items;
    log_position next = from;
    for (const auto& r : records) {
        auto rec = events::decode(r.value);
        if (!rec) return rec.error();
        auto doc = json::to_json(rec.value());
        doc.get_object()["position"] = json::to_json(r.position);
        items.push_back(std::move(doc));
        next = {r.position.partition, log_offset(r.position.offset.value() + 1)};
    }
    object out;
    out["events"] = std::move(items);
    out["next"] = fmt::format("{}:{}", next.partition.value(), next.offset.value());
    return answer{std::move(out), next};
}

std::vector<std::pair<std::string, std::string>> read_model::dump(std::string_view family) const {
    std::vector<std::pair<std::string, std::string>> rows;
    std::unique_ptr<rocksdb::Iterator> it(store_.db().NewIterator(rocksdb::ReadOptions(), store_.cf(family)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) rows.emplace_back(it->key().ToString(), it->value().ToString());
    return rows;
}

result<void> read_model::scan(std::string_view family,
                              const std::function<void(std::string_view key, std::string_view value)>& row) const {
    rocksdb::ReadOptions options;
    options.fill_cache = false;
    options.readahead_size = 2u << 20;
    std::unique_ptr<rocksdb::Iterator> it(store_.db().NewIterator(options, store_.cf(family)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) row(it->key().ToStringView(), it->value().ToStringView());
    if (!it->status().ok()) return events::to_error_code(it->status());
    return success();
}

}  // namespace regledger::projections
