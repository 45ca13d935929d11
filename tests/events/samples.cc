#include "tests/events/samples.h"

#include <cassert>
#include <string>
#include <utility>

#include "engine/sha256.h"
#include "events/canonical.h"

namespace regledger::samples {
namespace {

calendar_date day(int y, unsigned m, unsigned d) { return calendar_date::from_ymd(y, m, d); }

const application_id app("app-2026-000123");
const registration_id reg("R2026-000045");
const objection_id obj("obj-2026-0007");

material file(std::string name) {
    std::string hex = to_hex(sha256::of(name));
    return material{std::move(name), std::move(hex)};
}

registration_record full_registration_record() {
    registration_record r;
    r.object_type = object_type::product;
    r.data_name = "辽宁省高速公路实时路况数据";
    r.summary = "覆盖全省高速公路的实时通行、拥堵与交通事件数据，每5分钟更新一次。";
    r.industry_codes = {"54", "65"};
    r.coverage_regions = {"210000", "210100", "210200"};
    r.coverage_time = date_range{day(2024, 1, 1), day(2026, 12, 31)};
    r.update_frequency = "每5分钟";
    r.data_scale = "约1.2TB/年";
    r.security_level = "二级";
    r.access_method = access_method::authorized_operation;
    r.product_form = product_form::api;
    r.authorization = authorization{"LN-AO-2025-007号授权运营协议", day(2025, 7, 1), day(2028, 6, 30)};
    return r;
}

bool is_account_event(event_type_id id) { return id == type_id_of(account_opened{}) || id == type_id_of(account_verified{}); }

envelope full_envelope(event_type_id id) {
    envelope env;
    const bool account = is_account_event(id);
    env.stream_id = account ? account_stream(account_id("sub-ln-transport")) : registration_stream(reg);
    env.version = stream_version(id);
    env.event_id = event_id(env.stream_id.value() + "/" + std::to_string(id));
    env.occurred_at = *instant::parse("2026-10-12T09:30:00.123456+08:00");
    env.actor = actor{account_id("clerk-210000-07"), role::clerk, institution_id("inst-210000")};
    env.command_id = command_id("cmd-20261012-0001");
    env.correlation_id = correlation_id("corr-5f3a9c");
    env.causation_id = causation_id("cmd-20261012-0001");
    env.rule_set = rule_set_id("LN-2025");
    env.calendar_version = digest(sha256::of("cn-holidays.tsv 2025-2026"));
    env.config_hash = digest(sha256::of("regledger.toml"));
    env.prev_hash = digest(sha256::of("previous event " + std::to_string(id)));
    return env;
}

template <std::size_t... I>
event default_event(std::size_t index, std::index_sequence<I...>) {
    event e;
    ((index == I ? (e.emplace<I>(), 0) : 0), ...);
    return e;
}

}  // namespace

std::vector<event> full_payloads() {
    return {
        account_opened{account_id("sub-ln-transport"), "辽宁省交通运输厅", "11210000MB1234567A",
                       subject_type::party_government, "210000"},
        account_verified{account_id("sub-ln-transport"), institution_id("inst-210000")},
        application_submitted{app,
                              reg,
                              application_kind::correction,
                              institution_id("inst-210000"),
                              account_id("sub-ln-transport"),
                              {applicant{"辽宁省交通运输厅", "11210000MB1234567A", applicant_role::lead},
                               applicant{"辽宁省大数据中心", "12210000MB0D12345K", applicant_role::joint}},
                              full_registration_record(),
                              {file("数据资源目录.xlsx"), file("安全评估报告.pdf")},
                              day(2026, 10, 10),
                              true},
        supplement_requested{app, {"补充数据来源说明", "补充安全评估报告的签章页"}, "请于五个工作日内补正。"},
        materials_resubmitted{app, full_registration_record(), {file("安全评估报告（签章版）.pdf")},
                              day(2026, 10, 16), true},
        acceptance_overdue{app, day(2026, 10, 10)},
        application_accepted{app, day(2026, 11, 13), true},
        application_rejected{app, "申请材料与登记对象不符。"},
        application_withdrawn{app},
        review_overdue{app, day(2026, 11, 13)},
        review_delay_explained{app, "涉及跨部门数据核验，需延长审核。"},
        review_passed{app},
        review_failed{app, "数据内容摘要与数据资源目录不一致。"},
        publicity_started{app, day(2026, 11, 16), day(2026, 11, 30), true},
        objection_filed{app, obj, objector{"张伟", "210102199001011234"}, "该数据包含未脱敏的个人信息。",
                        {file("异议证据截图.png"), file("公证书.pdf")}},
        objection_upheld{app, obj, "经核实，异议成立。"},
        objection_dismissed{app, obj, "经核实，数据已按规定脱敏。"},
        application_terminated{app, obj},
        publicity_ended{app, day(2026, 11, 30)},
        code_issued{app, "2100002026200000015", "LN-LOCAL-1", day(2026, 12, 1), day(2029, 11, 30),
                    day(2029, 10, 1)},
        registration_changed{app, full_registration_record(), 2},
        registration_corrected{app, full_registration_record(), 3},
        registration_deregistered{app, deregistration_reason::expired},
        renewal_window_opened{day(2029, 10, 1), day(2029, 11, 30)},
        validity_expired{day(2029, 11, 30), true},
        renewal_granted{app, day(2029, 11, 30), day(2032, 11, 30), day(2032, 10, 1)},
        registration_revoked{institution_id("inst-210100"), revocation_grounds::tampering,
                             "经查，该登记主体篡改登记材料，依规撤销其登记。"},
        revocation_filed{institution_id("inst-210100"), institution_id("inst-210000")},
        revocation_annulled{institution_id("inst-210000"), "撤销依据不足，予以纠正。", registration_status::deregistered},
        ledger_checkpointed{0, 1024, digest(sha256::of("root of 1024 leaves")), *instant::parse("2026-12-01T17:30:00+08:00"), "9f86d081884c7d65",
                            std::string(128, 'a')},
    };
}

std::optional<event_record> full_record(event_type_id id) {
    for (auto& payload : full_payloads()) {
        if (type_id_of(payload) != id) continue;
        event_record rec{full_envelope(id), std::move(payload)};
        rec.envelope.hash = events::compute_hash(rec.envelope, rec.event);
        return rec;
    }
    return std::nullopt;
}

event_record minimal_record(event_type_id id) {
    assert(id >= 1 && id <= event_type_count);
    event_record rec{envelope{}, default_event(id - 1, std::make_index_sequence<event_type_count>{})};
    rec.envelope.hash = events::compute_hash(rec.envelope, rec.event);
    return rec;
}

}  // namespace regledger::samples
