// A small world for domain tests: the LN-2025 rule set, three institutions,
// subject accounts, and one registration stream driven through decide() and
// evolve() exactly as the writer does (decide, then fold the events).
//
// Tests read as "given events / when command / then events or error".
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "engine/decide.h"
#include "engine/deadlines.h"
#include "engine/rules/rule_set.h"
#include "engine/state.h"

namespace regledger::testing {

inline instant at(std::string_view rfc3339) {
    const auto t = instant::parse(rfc3339);
    REQUIRE_MESSAGE(t.has_value(), "bad instant in test: ", rfc3339);
    return *t;
}

inline calendar_date day(std::string_view ymd) {
    const auto d = calendar_date::parse(ymd);
    REQUIRE_MESSAGE(d.has_value(), "bad date in test: ", ymd);
    return *d;
}

// Valid unified social credit codes (GB 32100).
inline constexpr std::string_view uscc_a = "91350100M000100Y43";
inline constexpr std::string_view uscc_b = "91110000802100433B";

inline institution_directory sample_institutions() {
    std::vector<institution> list{
        {institution_id("LN"), "辽宁省数据中心", institution_level::provincial, "210000", std::nullopt},
        {institution_id("LN-SY"), "沈阳市公共数据资源登记机构", institution_level::municipal, "210100",
         institution_id("LN")},
        {institution_id("LN-DL"), "大连市公共数据资源登记机构", institution_level::municipal, "210200",
         institution_id("LN")},
    };
    auto d = institution_directory::make(std::move(list));
    REQUIRE(d.has_value());
    return std::move(d).value();
}

inline actor clerk(std::string_view institution) {
    return {account_id(fmt::format("clerk-{}", institution)), role::clerk, institution_id(std::string(institution))};
}
inline actor subject(std::string_view account) { return {account_id(std::string(account)), role::subject, std::nullopt}; }
inline actor auditor() { return {account_id("audit-1"), role::auditor, std::nullopt}; }
inline actor supervisor() { return {account_id("sup-1"), role::supervisor, std::nullopt}; }
inline actor anyone() { return {account_id("anonymous"), role::public_, std::nullopt}; }
inline actor scheduler() { return {account_id("scheduler"), role::system, std::nullopt}; }

inline registration_record sample_record(std::string name = "沈阳市公共交通客流数据") {
    registration_record r;
    r.object_type = object_type::resource;
    r.data_name = std::move(name);
    r.summary = "全市公交线路按日客流统计";
    r.industry_codes = {"54"};
    r.coverage_regions = {"210100"};
    r.update_frequency = "daily";
    r.access_method = access_method::open;
    return r;
}

inline std::vector<applicant> lead_a() { return {{"沈阳市公交集团", std::string(uscc_a), applicant_role::lead}}; }
inline std::vector<applicant> joint_ab() {
    return {{"沈阳市公交集团", std::string(uscc_a), applicant_role::lead},
            {"北京数据运营公司", std::string(uscc_b), applicant_role::joint}};
}
inline std::vector<material> materials(std::string name = "申请表.pdf") {
    return {{std::move(name), std::string(64, 'a')}};
}

inline submit_application initial_application(std::string application = "app-1", std::string institution = "LN-SY") {
    return {application_id(std::move(application)), application_kind::initial, registration_id("reg-1"),
            institution_id(std::move(institution)), lead_a(), sample_record(), materials()};
}

inline submit_application later_application(std::string application, application_kind kind) {
    submit_application c{application_id(std::move(application)), kind, registration_id("reg-1"),
                         institution_id("LN-SY"), lead_a(), std::nullopt, materials()};
    if (kind == application_kind::change || kind == application_kind::correction) {
        c.record = sample_record("沈阳市公共交通客流数据（第二版）");
    }
    return c;
}

class world {
public:
    world() : institutions_(sample_institutions()) {
        open_verified_account("acct-a", uscc_a);
        open_verified_account("acct-b", uscc_b);
    }

    const rules::rule_set& rules() const { return rules::rule_set::ln_2025(); }
    const registration_state& reg() const { return reg_; }
    const institution_directory& institutions() const { return institutions_; }
    std::uint32_t codes_issued() const { return next_sequence_ - 1; }

    decide_context context(const actor& issuer, instant now) const {
        decide_context ctx;
        ctx.now = now;
        ctx.rules = &rules();
        ctx.institutions = &institutions_;
        ctx.issuer = issuer;
        const auto it = accounts_.find(issuer.account);
        ctx.issuer_account = issuer.role == role::subject && it != accounts_.end() ? &it->second : nullptr;
        ctx.next_code_sequence = [this](const institution_id&, int) { return next_sequence_; };
        return ctx;
    }

    // Decides against the registration stream without applying anything.
    result<event_list, rejection> try_command(const command& c, const actor& issuer, instant now) const {
        return decide(reg_, c, context(issuer, now));
    }

    // Decides and, on success, folds the events into the stream.
    result<event_list, rejection> run(const command& c, const actor& issuer, instant now) {
        auto r = try_command(c, issuer, now);
        if (r) apply(r.value());
        return r;
    }

    // Runs a command that must succeed and returns its events.
    event_list ok(const command& c, const actor& issuer, instant now) {
        auto r = run(c, issuer, now);
        if (!r) FAIL("unexpected rejection: ", api_code(r.error().code), " ", r.error().message, " ", r.error().field);
        return r.value();
    }

    // Runs a command that must be rejected with `code`; nothing changes.
    rejection refused(const command& c, const actor& issuer, instant now, errc code) {
        const registration_state before = reg_;
        auto r = run(c, issuer, now);
        REQUIRE_MESSAGE(!r, "expected ", api_code(code), " but the command succeeded");
        CHECK_MESSAGE(r.error().code == code, "got ", api_code(r.error().code), ": ", r.error().message);
        CHECK(reg_ == before);
        return r.error();
    }

    void apply(const event_list& es) {
        for (const event& e : es) {
            if (std::holds_alternative<code_issued>(e)) ++next_sequence_;
            reg_ = evolve(std::move(reg_), e);
            history_.push_back(e);
        }
    }

    // Fires every timer due by `now`, earliest first, as the scheduler would.
    event_list advance_to(instant now) {
        event_list fired;
        for (;;) {
            const auto timers = pending_timers(reg_);
            const auto next = std::min_element(timers.begin(), timers.end(),
                                               [](const timer& a, const timer& b) { return a.due < b.due; });
            if (next == timers.end() || next->due > now) return fired;
            auto r = run(next->fire, scheduler(), now);
            REQUIRE(r.has_value());
            // A pending timer that is due always produces its event.
            REQUIRE_FALSE(r.value().empty());
            fired.insert(fired.end(), r.value().begin(), r.value().end());
        }
    }

    const event_list& history() const { return history_; }

    account_state& account(std::string_view id) { return accounts_.at(account_id(std::string(id))); }

    void open_verified_account(std::string_view id, std::string_view uscc) {
        account_state s;
        s = evolve(std::move(s), account_opened{account_id(std::string(id)), "主体", std::string(uscc),
                                                subject_type::public_utility, "210100"});
        s = evolve(std::move(s), account_verified{account_id(std::string(id)), institution_id("LN-SY")});
        accounts_[account_id(std::string(id))] = std::move(s);
    }

    // A registration made valid through the whole procedure; returns the day
    // the code was issued.
    calendar_date make_valid(std::string application = "app-1");

private:
    institution_directory institutions_;
    std::map<account_id, account_state> accounts_;
    registration_state reg_;
    event_list history_;
    std::uint32_t next_sequence_ = 1;
};

inline calendar_date world::make_valid(std::string application) {
    const auto sy = clerk("LN-SY");
    ok(initial_application(application), subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
    ok(accept_application{application_id(application)}, sy, at("2026-03-03T09:00:00+08:00"));
    ok(pass_review{application_id(application)}, sy, at("2026-03-10T09:00:00+08:00"));
    // Publicity: 10 working days after Tue 2026-03-10 ends Tue 2026-03-24.
    advance_to(at("2026-03-25T00:00:00+08:00"));
    REQUIRE(reg_.status == registration_status::valid);
    return day("2026-03-25");
}

template <typename Event>
const Event& nth_event(const event_list& es, std::size_t index) {
    REQUIRE(index < es.size());
    REQUIRE_MESSAGE(std::holds_alternative<Event>(es[index]), "event ", index, " is ", type_name_of(es[index]));
    return std::get<Event>(es[index]);
}

inline std::vector<std::string_view> names(const event_list& es) {
    std::vector<std::string_view> out;
    for (const event& e : es) out.push_back(type_name_of(e));
    return out;
}

}  // namespace regledger::testing
