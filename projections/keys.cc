#include "projections/keys.h"

#include <cassert>
#include <cstring>
#include <limits>

#include "events/embedded_log.h"

namespace regledger::projections {

void put_u8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }

void put_u32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_u64(std::string& out, std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_i32(std::string& out, std::int32_t v) { put_u32(out, static_cast<std::uint32_t>(v) ^ 0x8000'0000u); }
void put_i64(std::string& out, std::int64_t v) {
    put_u64(out, static_cast<std::uint64_t>(v) ^ 0x8000'0000'0000'0000ull);
}

std::uint32_t get_u32(std::string_view in, std::size_t at) {
    assert(at + 4 <= in.size());
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(in[at + i]);
    return v;
}

std::uint64_t get_u64(std::string_view in, std::size_t at) {
    assert(at + 8 <= in.size());
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(in[at + i]);
    return v;
}

std::int32_t get_i32(std::string_view in, std::size_t at) {
    return static_cast<std::int32_t>(get_u32(in, at) ^ 0x8000'0000u);
}
std::int64_t get_i64(std::string_view in, std::size_t at) {
    return static_cast<std::int64_t>(get_u64(in, at) ^ 0x8000'0000'0000'0000ull);
}

std::string history_prefix(const stream_id& stream) {
    std::string key = stream.value();
    key.push_back(sep);
    return key;
}

std::string history_key(const stream_id& stream, stream_version version) {
    std::string key = history_prefix(stream);
    put_u64(key, version.value());
    return key;
}

result<std::string> history_record(events::rocks_store& store, std::string row, const rocksdb::ReadOptions& options) {
    if (!store.has(events::embedded_log::column_family)) return row;
    std::string bytes;
    const auto status = store.db().Get(options, store.cf(events::embedded_log::column_family), row, &bytes);
    if (status.IsNotFound()) return make_error_code(events::store_errc::corruption);
    if (!status.ok()) return events::to_error_code(status);
    return bytes;
}

std::string by_subject_key(std::string_view uscc, const registration_id& reg) {
    std::string key(uscc);
    key.push_back(sep);
    key += reg.value();
    return key;
}

std::string by_status_expiry_key(registration_status status, std::optional<calendar_date> valid_until,
                                 const registration_id& reg) {
    std::string key;
    put_u8(key, static_cast<std::uint8_t>(status));
    key.push_back(sep);
    put_i32(key, valid_until ? valid_until->days_since_epoch() : std::numeric_limits<std::int32_t>::max());
    key.push_back(sep);
    key += reg.value();
    return key;
}

std::string by_institution_key(const institution_id& inst, const registration_id& reg) {
    std::string key = inst.value();
    key.push_back(sep);
    key += reg.value();
    return key;
}

std::string stats_key(const institution_id& inst, calendar_date day, std::string_view figure) {
    std::string key = inst.value();
    key.push_back(sep);
    put_i32(key, day.days_since_epoch());
    key.push_back(sep);
    key += figure;
    return key;
}

std::string status_count_key(const institution_id& inst, registration_status status) {
    std::string key = inst.value();
    key.push_back(sep);
    put_u8(key, static_cast<std::uint8_t>(status));
    return key;
}

std::string timer_key(instant due, const stream_id& stream, std::uint8_t kind) {
    std::string key;
    put_i64(key, due.unix_us());
    key.push_back(sep);
    key += stream.value();
    key.push_back(sep);
    put_u8(key, kind);
    return key;
}

std::string counter_key(const institution_id& inst, int year) {
    std::string key = inst.value();
    key.push_back(sep);
    put_i32(key, year);
    return key;
}

std::string application_row(const registration_id& reg, std::string_view document) {
    std::string row;
    row.reserve(reg.value().size() + 1 + document.size());
    row += reg.value();
    row.push_back(sep);
    row += document;
    return row;
}

std::optional<application_row_view> decode_application_row(std::string_view value) {
    const auto at = value.find(sep);
    if (at == std::string_view::npos || at == 0) return std::nullopt;
    return application_row_view{value.substr(0, at), value.substr(at + 1)};
}

std::string checkpoint_key(partition_id partition) {
    std::string key;
    put_u32(key, static_cast<std::uint32_t>(partition.value()));
    return key;
}

std::string merkle_frontier_key(partition_id partition) {
    std::string k(1, 'f');
    put_u32(k, static_cast<std::uint32_t>(partition.value()));
    return k;
}

std::string merkle_leaf_key(partition_id partition, std::uint64_t leaf) {
    std::string k(1, 'n');
    put_u32(k, static_cast<std::uint32_t>(partition.value()));
    put_u64(k, leaf);
    return k;
}

std::string merkle_event_key(const stream_id& stream, stream_version version) {
    std::string k(1, 'e');
    k += stream.value();
    k += sep;
    put_u64(k, version.value());
    return k;
}

std::string merkle_checkpoint_prefix(partition_id partition) {
    std::string k(1, 'c');
    put_u32(k, static_cast<std::uint32_t>(partition.value()));
    return k;
}

std::string merkle_checkpoint_key(partition_id partition, std::uint64_t tree_size) {
    std::string k = merkle_checkpoint_prefix(partition);
    put_u64(k, tree_size);
    return k;
}

std::string encode_head(const stream_head& head) {
    std::string out;
    put_u64(out, head.version.value());
    out.append(reinterpret_cast<const char*>(head.hash.value().data()), head.hash.value().size());
    return out;
}

std::optional<stream_head> decode_head(std::string_view value) {
    if (value.size() != 8 + 32) return std::nullopt;
    stream_head head;
    head.version = stream_version(get_u64(value, 0));
    std::memcpy(head.hash.value().data(), value.data() + 8, 32);
    return head;
}

}  // namespace regledger::projections

namespace regledger::projections {

namespace {

// The deadline date and application a timeout command names.
struct deadline_of {
    std::pair<calendar_date, std::string> operator()(const mark_acceptance_overdue& c) const {
        return {c.acceptance_due, c.application_id.value()};
    }
    std::pair<calendar_date, std::string> operator()(const mark_review_overdue& c) const {
        return {c.review_due, c.application_id.value()};
    }
    std::pair<calendar_date, std::string> operator()(const end_publicity& c) const {
        return {c.publicity_end, c.application_id.value()};
    }
    std::pair<calendar_date, std::string> operator()(const open_renewal_window& c) const {
        return {c.renewal_window_opens, {}};
    }
    std::pair<calendar_date, std::string> operator()(const expire_validity& c) const { return {c.valid_until, {}}; }
    // Only timeout commands are timers.
    template <typename Other>
    std::pair<calendar_date, std::string> operator()(const Other&) const {
        assert(!"a timer fires a timeout command");
        return {};
    }
};

}  // namespace

std::string encode_timer_value(const timer& t) {
    const auto [date, application] = std::visit(deadline_of{}, t.fire);
    std::string out;
    put_i32(out, date.days_since_epoch());
    out += application;
    return out;
}

std::optional<command> decode_timer_row(std::string_view key, std::string_view value) {
    // I64 due, sep, stream, sep, U8 kind.
    if (key.size() < 8 + 1 + 1 + 1 + 1 || value.size() < 4) return std::nullopt;
    const std::string_view stream = key.substr(9, key.size() - 9 - 2);
    if (!stream.starts_with("reg-")) return std::nullopt;
    const registration_id reg(std::string(stream.substr(4)));
    const auto date = calendar_date::from_days(get_i32(value, 0));
    const application_id app(std::string(value.substr(4)));
    switch (static_cast<timer_kind>(static_cast<std::uint8_t>(key.back()))) {
        case timer_kind::acceptance: return mark_acceptance_overdue{reg, app, date};
        case timer_kind::review: return mark_review_overdue{reg, app, date};
        case timer_kind::publicity: return end_publicity{reg, app, date};
        case timer_kind::renewal_window: return open_renewal_window{reg, date};
        case timer_kind::validity: return expire_validity{reg, date};
    }
    return std::nullopt;
}

}  // namespace regledger::projections
