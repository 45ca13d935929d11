#include "bench/workload.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <functional>
#include <queue>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "engine/deadlines.h"
#include "engine/decide.h"
#include "engine/rules/calendar.h"
#include "engine/rules/codes.h"
#include "engine/state.h"

namespace regledger::bench {

// ---- rng -------------------------------------------------------------------

namespace {

std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

}  // namespace

rng::rng(std::uint64_t seed) {
    for (auto& s : s_) s = splitmix64(seed);
}

std::uint64_t rng::next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

std::uint64_t rng::below(std::uint64_t n) noexcept {
    assert(n > 0);
    // The modulo bias (< n / 2^64) is irrelevant here.
    return next() % n;
}

std::int64_t rng::between(std::int64_t lo, std::int64_t hi) noexcept {
    assert(lo <= hi);
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
}

double rng::unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

zipf_sampler::zipf_sampler(std::size_t n, double exponent) {
    assert(n > 0);
    cumulative_.reserve(n);
    double sum = 0;
    for (std::size_t k = 0; k < n; ++k) {
        sum += 1.0 / std::pow(static_cast<double>(k + 1), exponent);
        cumulative_.push_back(sum);
    }
    for (double& c : cumulative_) c /= sum;
}

std::size_t zipf_sampler::sample(rng& r) const {
    const double u = r.unit();
    const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
    return std::min<std::size_t>(static_cast<std::size_t>(it - cumulative_.begin()), cumulative_.size() - 1);
}

// ---- the world: institutions, reference texts --------------------------------

namespace {

struct city {
    std::string_view institution;
    std::string_view name;
    std::string_view region;
};

// The provincial institution first, then one per city (GB/T 2260).
constexpr std::array<city, 15> cities = {{
    {"LN", "辽宁省", "210000"},     {"LN-SY", "沈阳市", "210100"}, {"LN-DL", "大连市", "210200"},
    {"LN-AS", "鞍山市", "210300"},  {"LN-FS", "抚顺市", "210400"}, {"LN-BX", "本溪市", "210500"},
    {"LN-DD", "丹东市", "210600"},  {"LN-JZ", "锦州市", "210700"}, {"LN-YK", "营口市", "210800"},
    {"LN-FX", "阜新市", "210900"},  {"LN-LY", "辽阳市", "211000"}, {"LN-PJ", "盘锦市", "211100"},
    {"LN-TL", "铁岭市", "211200"},  {"LN-CY", "朝阳市", "211300"}, {"LN-HLD", "葫芦岛市", "211400"},
}};

// Share of the registrations each institution receives, in per mille: the
// province and the two large cities take most.
constexpr std::array<int, 15> institution_weights = {150, 200, 180, 50, 40, 30, 40, 40, 40, 30, 30, 40, 30, 30, 30};

constexpr std::array<std::string_view, 16> topics = {
    "公共交通客流", "不动产登记", "企业信用信息", "医疗机构服务", "气象观测",   "道路交通流量",
    "地表水水质监测", "中小学教育资源", "社会保险参保", "空气质量监测", "电力消费统计", "市场主体登记",
    "旅游景区客流", "住房公积金缴存", "农产品价格",   "公共资源交易"};
constexpr std::array<std::string_view, 6> frequencies = {"realtime", "daily", "weekly", "monthly", "quarterly", "yearly"};
constexpr std::array<std::string_view, 4> security_levels = {"一般数据", "一般数据", "重要数据", "内部数据"};
constexpr std::array<std::string_view, 21> industries = {"01", "13", "26", "35", "44", "48", "51",
                                                         "54", "56", "61", "63", "64", "66", "70",
                                                         "72", "77", "78", "83", "84", "91", "92"};
constexpr std::array<std::string_view, 6> material_names = {"登记申请表.pdf",   "数据资源目录.xlsx", "数据来源说明.pdf",
                                                            "安全评估报告.pdf", "授权运营协议.pdf",  "样例数据.csv"};
constexpr std::array<std::string_view, 4> subject_kinds = {"局", "中心", "集团有限公司", "研究院"};

std::string hex_digest(rng& r) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(64, '0');
    for (std::size_t i = 0; i < 64; i += 16) {
        std::uint64_t v = r.next();
        for (std::size_t j = 0; j < 16; ++j, v >>= 4) out[i + j] = digits[v & 0xf];
    }
    return out;
}

// A valid unified social credit code (GB 32100) unique to (prefix, index).
std::string make_uscc(std::string_view prefix, std::string_view region, std::uint32_t index) {
    std::string body = fmt::format("{}{}{:08d}{}", prefix, region, index, index % 10);
    const auto check = rules::mod31_check_character(body);
    assert(check.has_value());
    body.push_back(*check);
    return body;
}

std::vector<material> make_materials(rng& r, std::size_t min_count) {
    std::vector<material> out;
    const std::size_t n = min_count + r.below(3);
    std::size_t first = r.below(material_names.size());
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back({std::string(material_names[(first + i) % material_names.size()]), hex_digest(r)});
    }
    return out;
}

instant nine_am(calendar_date day) { return instant::start_of_day(day).plus_us(9 * 3600 * us_per_second); }

// ---- the agents ----------------------------------------------------------------

// What the people behind one application will do, drawn when it is submitted.
struct application_plan {
    bool withdraw = false;
    bool supplement = false;
    bool reject = false;
    bool late_acceptance = false;
    bool late_review = false;
    bool fail_review = false;
    bool objection = false;
    bool uphold = false;
    // Progress through the plan.
    bool supplemented = false;
    bool objection_filed = false;
};

struct account_agent {
    account_state state;
    std::string name;
    std::string uscc;
    std::uint8_t home = 0;  // index into `cities`
    std::int32_t first_intake_day = -1;
};

struct registration_agent {
    registration_state state;
    std::uint32_t owner = 0;
    std::optional<std::uint32_t> joint;
    std::uint8_t institution = 0;
    std::int32_t intake_day = 0;
    std::int32_t next_day = -1;   // the day of the next planned action
    std::int32_t acted_day = -1;  // the last day something was submitted for it
    std::int64_t timer_due_us = -1;
    application_plan plan;
    std::uint32_t applications = 0;
    std::uint32_t objections = 0;
    std::uint32_t edition = 1;
    // The renewal window for which renew was drawn.
    std::optional<calendar_date> window_drawn;
    bool renew = false;
    bool later_planned = false;
    std::int32_t deregister_day = -1;
    std::int32_t revoke_day = -1;
    bool annul = false;
    bool done = false;
};

using day_number = std::int32_t;  // days since 1970-01-01

calendar_date date_of(day_number d) { return calendar_date::from_days(d); }

}  // namespace

const institution_directory& workload::institutions() {
    static const institution_directory directory = [] {
        std::vector<institution> list;
        for (std::size_t i = 0; i < cities.size(); ++i) {
            const auto& c = cities[i];
            if (i == 0) {
                list.push_back({institution_id(std::string(c.institution)), "辽宁省数据中心",
                                institution_level::provincial, std::string(c.region), std::nullopt});
            } else {
                list.push_back({institution_id(std::string(c.institution)),
                                fmt::format("{}公共数据资源登记机构", c.name), institution_level::municipal,
                                std::string(c.region), institution_id("LN")});
            }
        }
        auto d = institution_directory::make(std::move(list));
        assert(d.has_value());
        return std::move(d).value();
    }();
    return directory;
}

const rules::rule_set& workload::rules() { return rules::rule_set::ln_2025(); }

// ---- the simulation ------------------------------------------------------------

struct workload::impl {
    explicit impl(workload_options o);

    std::optional<tick> next_tick();

    // Calendar helpers.
    bool working(day_number d) const { return calendar_.is_working_day(date_of(d)); }
    day_number add_working_days(day_number d, int n) const {
        return calendar_.add_working_days(date_of(d), n).date.days_since_epoch();
    }
    day_number minus_working_days(day_number d, int n) const {
        while (n > 0) {
            --d;
            if (working(d)) --n;
        }
        return d;
    }
    day_number working_on_or_after(day_number d) const {
        while (!working(d)) ++d;
        return d;
    }

    // Bucket of `d` in a day-indexed table.
    template <typename T>
    std::vector<T>& bucket(std::vector<std::vector<T>>& table, day_number d) {
        const auto i = static_cast<std::size_t>(d - first_day_);
        if (table.size() <= i) table.resize(i + 1);
        return table[i];
    }

    void schedule(std::uint32_t idx, day_number d) {
        auto& a = regs_[idx];
        d = working_on_or_after(d);
        if (d > last_day_) {
            a.next_day = -1;
            return;
        }
        a.next_day = d;
        bucket(reg_actions_, d).push_back(idx);
    }

    // Decides `body` against `state` at the tick's instant; when the rules
    // accept it, folds its events and appends it to the tick.
    template <typename State>
    bool emit(tick& t, State& state, std::uint32_t key, command body, const actor& issuer,
              const account_state* issuer_account, std::optional<command_id> id = std::nullopt,
              std::optional<correlation_id> correlation = std::nullopt) {
        decide_context ctx;
        ctx.now = t.at;
        ctx.rules = &workload::rules();
        ctx.institutions = &workload::institutions();
        ctx.issuer = issuer;
        ctx.issuer_account = issuer_account;
        ctx.next_code_sequence = [this](const institution_id& inst, int year) {
            return code_sequences_[{inst.value(), year}] + 1;
        };
        auto decided = decide(state, body, ctx);
        if (!decided || decided.value().empty()) {
            ++totals_.dropped;
            return false;
        }
        for (event& e : decided.value()) {
            if (const auto* issued = std::get_if<code_issued>(&e)) {
                ++code_sequences_[{state_institution(state, issued->application_id).value(), issued->valid_from.year()}];
            }
            ++totals_.events_by_type[std::string(type_name_of(e))];
            state = evolve(std::move(state), e);
            if (options_.record_events) {
                t.recorded.push_back(recorded_event{static_cast<std::uint32_t>(t.commands.size()), stream_of(state),
                                                    state.version, std::move(e)});
            }
        }
        command_envelope env;
        env.command_id = id ? std::move(*id) : command_id(fmt::format("c{}", ++command_sequence_));
        env.issued_by = issuer;
        env.correlation_id = std::move(correlation);
        ++totals_.by_type[std::string(type_name_of(body))];
        env.body = std::move(body);
        t.commands.push_back(std::move(env));
        t.ordering_keys.push_back(key);
        t.events += decided.value().size();
        return true;
    }

    static stream_id stream_of(const registration_state& s) { return registration_stream(s.id); }
    static stream_id stream_of(const account_state& s) { return account_stream(s.id); }

    static institution_id state_institution(const registration_state& s, const application_id& app) {
        const application_state* a = s.find_application(app);
        return a ? a->institution_id : s.institution_id;
    }
    static institution_id state_institution(const account_state&, const application_id&) { return {}; }

    // People.
    actor subject_of(std::uint32_t account) const {
        return {accounts_[account].state.id, role::subject, std::nullopt};
    }
    actor clerk_of(std::uint8_t institution) {
        const auto k = rng_.below(3) + 1;
        return {account_id(fmt::format("clerk-{}-{}", cities[institution].institution, k)), role::clerk,
                institution_id(std::string(cities[institution].institution))};
    }
    static actor system_actor() { return {account_id("scheduler"), role::system, std::nullopt}; }
    static actor public_actor() { return {account_id("public"), role::public_, std::nullopt}; }

    registration_record make_record(std::uint32_t idx, std::uint32_t edition);
    std::vector<applicant> applicants_of(const registration_agent& a) const;
    application_plan draw_plan(rng& r, application_kind kind) const;

    application_id next_application_id(registration_agent& a) {
        return application_id(fmt::format("{}-{}", a.state.id.value().empty() ? reg_name(a) : a.state.id.value(),
                                          ++a.applications));
    }
    std::string reg_name(const registration_agent& a) const {
        return fmt::format("R{:07d}", static_cast<std::size_t>(&a - regs_.data()));
    }
    std::uint32_t key_of_account(std::uint32_t account) const {
        return static_cast<std::uint32_t>(regs_.size()) + account;
    }

    void fire_timers(tick& t);
    void track_timers(std::uint32_t idx);
    void act(tick& t, std::uint32_t idx, day_number today);
    void plan_next(std::uint32_t idx, day_number today);
    void later_arrivals(tick& t, day_number today);
    bool submit_later(tick& t, std::uint32_t idx, application_kind kind, day_number today);

    workload_options options_;
    const rules::working_calendar& calendar_;
    rng rng_;
    std::vector<account_agent> accounts_;
    std::vector<registration_agent> regs_;
    std::vector<rng> reg_rngs_;
    // Registrations by activity rank (rank 0 the busiest).
    std::vector<std::uint32_t> by_rank_;
    std::optional<zipf_sampler> zipf_;
    std::vector<std::vector<std::uint32_t>> reg_actions_;
    std::vector<std::vector<std::uint32_t>> account_opens_;
    std::vector<std::vector<std::uint32_t>> account_verifies_;
    std::priority_queue<std::pair<std::int64_t, std::uint32_t>, std::vector<std::pair<std::int64_t, std::uint32_t>>,
                        std::greater<>>
        timers_;
    std::map<std::pair<std::string, int>, std::uint32_t> code_sequences_;
    std::uint64_t command_sequence_ = 0;
    day_number first_day_ = 0;
    day_number last_day_ = 0;
    day_number last_intake_day_ = 0;
    day_number day_ = 0;
    day_number arrivals_from_ = 0;
    day_number arrivals_to_ = 0;
    double arrivals_per_working_day_ = 0;
    workload_totals totals_;
};

workload::impl::impl(workload_options o)
    : options_(o), calendar_(*workload::rules().calendar), rng_(o.seed) {
    const std::size_t n = std::max<std::size_t>(options_.registrations, 1);
    const auto account_count = static_cast<std::size_t>(
        std::max(1.0, std::ceil(static_cast<double>(n) / std::max(1.0, options_.registrations_per_subject))));

    std::vector<day_number> intake;
    for (const calendar_date d : bench::intake_days(options_)) intake.push_back(d.days_since_epoch());
    last_intake_day_ = intake.back();

    // Accounts: a home city each (weighted like the registrations).
    int weight_sum = 0;
    for (int w : institution_weights) weight_sum += w;
    auto weighted_institution = [&](rng& r) {
        auto pick = static_cast<int>(r.below(static_cast<std::uint64_t>(weight_sum)));
        for (std::size_t i = 0; i < institution_weights.size(); ++i) {
            if (pick < institution_weights[i]) return static_cast<std::uint8_t>(i);
            pick -= institution_weights[i];
        }
        return std::uint8_t{0};
    };
    accounts_.resize(account_count);
    for (std::size_t i = 0; i < account_count; ++i) {
        auto& acct = accounts_[i];
        acct.home = weighted_institution(rng_);
        const auto& c = cities[acct.home];
        acct.state.id = account_id(fmt::format("S{:06d}", i));
        acct.name = fmt::format("{}{}{}", c.name, topics[i % topics.size()].substr(0, 6),
                                subject_kinds[i % subject_kinds.size()]);
        acct.uscc = make_uscc("12", c.region, static_cast<std::uint32_t>(i));
    }

    // Registrations: an owner, an institution, an intake day (equal shares
    // per day, in random order), an activity rank.
    regs_.resize(n);
    reg_rngs_.reserve(n);
    std::vector<std::uint32_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i);
    auto shuffle = [&](std::vector<std::uint32_t>& v) {
        for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng_.below(i)]);
    };
    shuffle(order);
    for (std::size_t p = 0; p < n; ++p) {
        auto& a = regs_[order[p]];
        a.intake_day = intake[p * intake.size() / n];
    }
    for (std::size_t i = 0; i < n; ++i) {
        auto& a = regs_[i];
        reg_rngs_.emplace_back(splitmix64(options_.seed) ^ (0x5bd1e995ULL * (i + 1)));
        a.owner = static_cast<std::uint32_t>(rng_.below(account_count));
        auto& owner = accounts_[a.owner];
        // Most subjects register with their own city; some with the province.
        a.institution = rng_.chance(0.85) ? owner.home : weighted_institution(rng_);
        if (account_count > 1 && rng_.chance(0.08)) {
            auto other = static_cast<std::uint32_t>(rng_.below(account_count));
            if (other != a.owner) a.joint = other;
        }
        if (owner.first_intake_day < 0 || a.intake_day < owner.first_intake_day) owner.first_intake_day = a.intake_day;
    }
    by_rank_ = order;
    shuffle(by_rank_);
    zipf_.emplace(n, options_.zipf_exponent);

    // The calendar of the simulation.
    first_day_ = intake.front();
    for (const auto& acct : accounts_) {
        if (acct.first_intake_day >= 0) first_day_ = std::min(first_day_, minus_working_days(acct.first_intake_day, 3));
    }
    const day_number last_intake = intake.back();
    if (options_.mode == lifecycle::full) {
        last_day_ = last_intake + 365 * workload::rules().validity_years + 150;
        arrivals_from_ = add_working_days(intake.front(), 40);
        arrivals_to_ = last_day_ - 150;
        int working_days = 0;
        for (day_number d = arrivals_from_; d <= arrivals_to_; ++d) working_days += working(d) ? 1 : 0;
        arrivals_per_working_day_ = options_.later_applications_per_registration * static_cast<double>(n) /
                                    std::max(1, working_days);
    } else {
        last_day_ = last_intake;
    }
    day_ = first_day_;

    for (std::size_t i = 0; i < account_count; ++i) {
        const auto& acct = accounts_[i];
        if (acct.first_intake_day < 0) continue;
        bucket(account_opens_, minus_working_days(acct.first_intake_day, 3)).push_back(static_cast<std::uint32_t>(i));
        bucket(account_verifies_, minus_working_days(acct.first_intake_day, 1)).push_back(static_cast<std::uint32_t>(i));
    }
    for (std::size_t i = 0; i < n; ++i) schedule(static_cast<std::uint32_t>(i), regs_[i].intake_day);
}

registration_record workload::impl::make_record(std::uint32_t idx, std::uint32_t edition) {
    // Drawn from a generator of its own, so that every edition of a
    // registration describes the same data.
    rng r(options_.seed ^ (0x9e3779b97f4a7c15ULL * (idx + 1)));
    const auto& a = regs_[idx];
    const auto& c = cities[a.institution];
    const auto topic = topics[r.below(topics.size())];
    registration_record rec;
    rec.object_type = r.chance(0.25) ? object_type::product : object_type::resource;
    rec.data_name = fmt::format("{}{}数据", c.name, topic);
    if (edition > 1) rec.data_name += fmt::format("（第{}版）", edition);
    const auto frequency = frequencies[r.below(frequencies.size())];
    rec.summary = fmt::format("{}{}，更新频率{}，覆盖{}全域，含{}项字段，按统一目录编制。", c.name, topic, frequency,
                              c.name, 8 + r.below(40));
    if (edition > 1) rec.summary += fmt::format("第{}次变更或更正后的描述。", edition - 1);
    const std::size_t codes = 1 + r.below(3);
    const std::size_t first = r.below(industries.size());
    for (std::size_t i = 0; i < codes; ++i) rec.industry_codes.emplace_back(industries[(first + i * 7) % industries.size()]);
    rec.coverage_regions.emplace_back(c.region);
    if (a.institution != 0 && r.chance(0.3)) rec.coverage_regions.emplace_back("210000");
    if (r.chance(0.5)) {
        rec.coverage_time = date_range{calendar_date::from_ymd(2018 + static_cast<int>(r.below(5)), 1, 1),
                                       date_of(a.intake_day)};
    }
    rec.update_frequency = std::string(frequency);
    rec.data_scale = fmt::format("{}万条", 1 + r.below(5000));
    rec.security_level = std::string(security_levels[r.below(security_levels.size())]);
    if (rec.object_type == object_type::product) {
        rec.product_form = static_cast<product_form>(r.below(6));
        if (r.chance(0.4)) {
            rec.access_method = access_method::authorized_operation;
            const calendar_date start = date_of(a.intake_day).plus_days(-30);
            // Most agreements outlast two validity periods; some end sooner.
            const int years = r.chance(0.8) ? 8 : 4;
            rec.authorization = authorization{fmt::format("SQ-{}-{:06d}", c.region, idx), start, start.plus_years(years)};
        } else {
            rec.access_method = access_method::apply;
        }
    } else {
        rec.access_method = r.chance(0.6) ? access_method::open : access_method::apply;
    }
    return rec;
}

std::vector<applicant> workload::impl::applicants_of(const registration_agent& a) const {
    std::vector<applicant> out{{accounts_[a.owner].name, accounts_[a.owner].uscc, applicant_role::lead}};
    if (a.joint) out.push_back({accounts_[*a.joint].name, accounts_[*a.joint].uscc, applicant_role::joint});
    return out;
}

application_plan workload::impl::draw_plan(rng& r, application_kind kind) const {
    application_plan p;
    p.withdraw = r.chance(0.02);
    p.supplement = r.chance(0.15);
    p.reject = r.chance(0.03);
    p.late_acceptance = r.chance(0.03);
    p.late_review = r.chance(0.03);
    p.fail_review = r.chance(0.04);
    p.objection = workload::rules().publicized_kinds.contains(kind) && r.chance(0.04);
    p.uphold = r.chance(0.25);
    return p;
}

void workload::impl::track_timers(std::uint32_t idx) {
    if (options_.mode != lifecycle::full) return;
    auto& a = regs_[idx];
    std::int64_t earliest = -1;
    for (const timer& t : pending_timers(a.state)) {
        if (earliest < 0 || t.due.unix_us() < earliest) earliest = t.due.unix_us();
    }
    if (earliest != a.timer_due_us) {
        a.timer_due_us = earliest;
        if (earliest >= 0) timers_.push({earliest, idx});
    }
}

void workload::impl::fire_timers(tick& t) {
    while (!timers_.empty() && timers_.top().first <= t.at.unix_us()) {
        const auto [due, idx] = timers_.top();
        timers_.pop();
        auto& a = regs_[idx];
        if (a.timer_due_us != due) continue;  // superseded
        a.timer_due_us = -1;
        const stream_id stream = registration_stream(a.state.id);
        for (;;) {
            const auto pending = pending_timers(a.state);
            const timer* next = nullptr;
            for (const timer& tm : pending) {
                if (tm.due <= t.at && (next == nullptr || tm.due < next->due)) next = &tm;
            }
            if (next == nullptr) break;
            // Exactly what the scheduler submits for this timer.
            if (!emit(t, a.state, idx, next->fire, system_actor(), nullptr,
                      timer_command_id(stream, next->kind, next->due))) {
                break;
            }
        }
        track_timers(idx);
        plan_next(idx, t.at.shanghai_date().days_since_epoch());
    }
}

void workload::impl::act(tick& t, std::uint32_t idx, day_number today) {
    auto& a = regs_[idx];
    auto& r = reg_rngs_[idx];
    a.acted_day = today;
    const actor subject = subject_of(a.owner);
    const account_state* subject_account = &accounts_[a.owner].state;

    if (!a.state.exists()) {
        const application_id app = next_application_id(a);
        a.plan = draw_plan(r, application_kind::initial);
        submit_application c{app,
                             application_kind::initial,
                             registration_id(reg_name(a)),
                             institution_id(std::string(cities[a.institution].institution)),
                             applicants_of(a),
                             make_record(idx, a.edition),
                             make_materials(r, 2)};
        emit(t, a.state, idx, std::move(c), subject, subject_account, std::nullopt, correlation_id(app.value()));
        if (options_.mode == lifecycle::backlog) {
            if (a.intake_day == last_intake_day_) {
                // Left waiting for acceptance; nothing more to remember.
                a.done = true;
                a.state = registration_state{};
            } else {
                schedule(idx, add_working_days(today, 1));
            }
            return;
        }
    } else if (options_.mode == lifecycle::backlog) {
        emit(t, a.state, idx, accept_application{a.state.applications.back().id}, clerk_of(a.institution), nullptr);
        // Left in formal review; nothing more to remember.
        a.done = true;
        a.state = registration_state{};
        return;
    } else if (const application_state* open = a.state.open_application()) {
        const application_id app = open->id;
        const correlation_id corr(app.value());
        auto clerk = [&] { return clerk_of(a.institution); };
        switch (open->status) {
            case application_status::submitted:
                if (a.plan.withdraw) {
                    emit(t, a.state, idx, withdraw_application{app}, subject, subject_account, std::nullopt, corr);
                } else if (a.plan.supplement && !a.plan.supplemented) {
                    a.plan.supplemented = true;
                    emit(t, a.state, idx,
                         request_supplement{app, {"数据来源说明不完整", "缺少安全评估报告"}, "请一次性补正后重新提交"},
                         clerk(), nullptr, std::nullopt, corr);
                } else if (a.plan.reject) {
                    emit(t, a.state, idx, reject_application{app, "申请材料与登记内容不符"}, clerk(), nullptr,
                         std::nullopt, corr);
                } else {
                    emit(t, a.state, idx, accept_application{app}, clerk(), nullptr, std::nullopt, corr);
                }
                break;
            case application_status::supplement_requested:
                emit(t, a.state, idx, resubmit_materials{app, std::nullopt, make_materials(r, 2)}, subject,
                     subject_account, std::nullopt, corr);
                break;
            case application_status::accepted:
                if (open->review_overdue && open->review_delay_explanations == 0) {
                    emit(t, a.state, idx, explain_review_delay{app, "涉及跨部门核查，需延长审核"}, clerk(), nullptr,
                         std::nullopt, corr);
                } else if (a.plan.fail_review) {
                    emit(t, a.state, idx, fail_review{app, "数据来源不符合公共数据资源定义"}, clerk(), nullptr,
                         std::nullopt, corr);
                } else {
                    emit(t, a.state, idx, pass_review{app}, clerk(), nullptr, std::nullopt, corr);
                }
                break;
            case application_status::in_publicity: {
                if (a.plan.objection && !a.plan.objection_filed) {
                    a.plan.objection_filed = true;
                    const auto objector_account = static_cast<std::uint32_t>(r.below(accounts_.size()));
                    file_objection c{app,
                                     objection_id(fmt::format("{}-o{}", app.value(), ++a.objections)),
                                     objector{accounts_[objector_account].name, accounts_[objector_account].uscc},
                                     "登记的数据内容涉及本单位采集的数据，权属存在争议",
                                     make_materials(r, 1)};
                    emit(t, a.state, idx, std::move(c), public_actor(), nullptr, std::nullopt, corr);
                } else {
                    for (const auto& o : open->objections) {
                        if (!o.open) continue;
                        if (a.plan.uphold) {
                            emit(t, a.state, idx, uphold_objection{app, o.id, "异议成立，权属争议未解决"}, clerk(),
                                 nullptr, std::nullopt, corr);
                        } else {
                            emit(t, a.state, idx, dismiss_objection{app, o.id, "经核查，异议理由不成立"}, clerk(),
                                 nullptr, std::nullopt, corr);
                        }
                        break;
                    }
                }
                break;
            }
            default: break;
        }
    } else if (a.state.status == registration_status::valid) {
        const calendar_date d = date_of(today);
        if (a.renew && a.state.renewal_window_notified && a.state.valid_until && d <= *a.state.valid_until) {
            a.renew = false;
            const application_id app = next_application_id(a);
            a.plan = draw_plan(r, application_kind::renewal);
            submit_application c{app,
                                 application_kind::renewal,
                                 a.state.id,
                                 a.state.institution_id,
                                 applicants_of(a),
                                 std::nullopt,
                                 make_materials(r, 1)};
            emit(t, a.state, idx, std::move(c), subject, subject_account, std::nullopt, correlation_id(app.value()));
        } else if (a.revoke_day >= 0 && today >= a.revoke_day) {
            a.revoke_day = -1;
            emit(t, a.state, idx,
                 revoke_registration{a.state.id, revocation_grounds::false_materials,
                                     "经查，该登记申请提交的数据来源说明不实，撤销其登记。"},
                 clerk_of(a.institution), nullptr);
        } else if (a.deregister_day >= 0 && today >= a.deregister_day) {
            a.deregister_day = -1;
            const application_id app = next_application_id(a);
            a.plan = draw_plan(r, application_kind::deregistration);
            submit_application c{app,
                                 application_kind::deregistration,
                                 a.state.id,
                                 a.state.institution_id,
                                 applicants_of(a),
                                 std::nullopt,
                                 make_materials(r, 1)};
            emit(t, a.state, idx, std::move(c), subject, subject_account, std::nullopt, correlation_id(app.value()));
        }
    } else if (a.state.status == registration_status::revoked && a.annul) {
        a.annul = false;
        emit(t, a.state, idx, annul_revocation{a.state.id, "撤销决定认定事实不清，予以纠正"}, clerk_of(0), nullptr);
    }
    track_timers(idx);
    plan_next(idx, today);
}

void workload::impl::plan_next(std::uint32_t idx, day_number today) {
    auto& a = regs_[idx];
    auto& r = reg_rngs_[idx];
    if (a.done) return;
    if (!a.state.exists()) {
        // The initial application has not been accepted by the rules yet.
        a.done = true;
        return;
    }
    if (const application_state* open = a.state.open_application()) {
        switch (open->status) {
            case application_status::submitted:
                if (a.plan.late_acceptance && !open->acceptance_overdue) {
                    schedule(idx, open->acceptance_due.days_since_epoch() + 1 + static_cast<day_number>(r.below(3)));
                } else {
                    schedule(idx, add_working_days(today, static_cast<int>(r.between(1, 3))));
                }
                return;
            case application_status::supplement_requested:
                schedule(idx, add_working_days(today, static_cast<int>(r.between(1, 3))));
                return;
            case application_status::accepted:
                if (open->review_overdue) {
                    schedule(idx, add_working_days(today, static_cast<int>(r.between(1, 2))));
                } else if (a.plan.late_review && open->review_due) {
                    schedule(idx, open->review_due->days_since_epoch() + 1 + static_cast<day_number>(r.below(4)));
                } else {
                    schedule(idx, add_working_days(today, static_cast<int>(r.between(2, 15))));
                }
                return;
            case application_status::in_publicity: {
                if (a.plan.objection && !a.plan.objection_filed && open->publicity_end) {
                    const day_number last = open->publicity_end->days_since_epoch();
                    const day_number first = add_working_days(today, 1);
                    day_number d = first + static_cast<day_number>(r.below(static_cast<std::uint64_t>(std::max(1, last - first + 1))));
                    d = working_on_or_after(d);
                    if (d <= last) {
                        schedule(idx, d);
                        return;
                    }
                    a.plan.objection = false;
                }
                if (open->has_open_objection()) schedule(idx, add_working_days(today, static_cast<int>(r.between(1, 7))));
                // Otherwise the publicity timer completes it.
                return;
            }
            default: return;
        }
    }
    switch (a.state.status) {
        case registration_status::valid: {
            if (!a.later_planned && a.state.valid_from && a.state.valid_until) {
                // Drawn once, when the code is issued.
                a.later_planned = true;
                const day_number from = a.state.valid_from->days_since_epoch() + 90;
                const day_number to = a.state.valid_until->days_since_epoch() - 90;
                if (to > from) {
                    if (r.chance(0.03)) a.deregister_day = static_cast<day_number>(r.between(from, to));
                    if (r.chance(0.003)) {
                        a.revoke_day = static_cast<day_number>(r.between(from, to));
                        a.annul = a.institution != 0 && r.chance(0.3);
                    }
                }
            }
            if (a.state.renewal_window_notified && a.state.renewal_window_opens &&
                a.window_drawn != a.state.renewal_window_opens) {
                a.window_drawn = a.state.renewal_window_opens;
                a.renew = r.chance(0.75);
            }
            day_number next = -1;
            auto consider = [&](day_number d) {
                if (d >= 0 && (next < 0 || d < next)) next = d;
            };
            if (a.renew && a.state.renewal_window_notified && a.state.renewal_window_opens) {
                consider(std::max(today + 1, a.state.renewal_window_opens->days_since_epoch() +
                                                 static_cast<day_number>(r.below(20))));
            }
            if (a.revoke_day >= 0) consider(std::max(today + 1, a.revoke_day));
            if (a.deregister_day >= 0) consider(std::max(today + 1, a.deregister_day));
            if (next >= 0) schedule(idx, next);
            return;
        }
        case registration_status::revoked:
            if (a.annul) {
                schedule(idx, add_working_days(today, static_cast<int>(r.between(5, 15))));
            } else {
                a.done = true;
            }
            return;
        case registration_status::pending: return;
        case registration_status::deregistered:
        case registration_status::not_registered: a.done = true; return;
    }
}

bool workload::impl::submit_later(tick& t, std::uint32_t idx, application_kind kind, day_number today) {
    auto& a = regs_[idx];
    auto& r = reg_rngs_[idx];
    const application_id app = next_application_id(a);
    a.plan = draw_plan(r, kind);
    ++a.edition;
    submit_application c{app,         kind, a.state.id, a.state.institution_id, applicants_of(a),
                         make_record(idx, a.edition), make_materials(r, 1)};
    const bool ok = emit(t, a.state, idx, std::move(c), subject_of(a.owner), &accounts_[a.owner].state, std::nullopt,
                         correlation_id(app.value()));
    if (!ok) --a.edition;
    a.acted_day = today;
    track_timers(idx);
    plan_next(idx, today);
    return ok;
}

void workload::impl::later_arrivals(tick& t, day_number today) {
    if (options_.mode != lifecycle::full || today < arrivals_from_ || today > arrivals_to_) return;
    const double whole = std::floor(arrivals_per_working_day_);
    const auto arrivals = static_cast<std::size_t>(whole) + (rng_.chance(arrivals_per_working_day_ - whole) ? 1 : 0);
    for (std::size_t i = 0; i < arrivals; ++i) {
        // A busy registration (one application open at a time) passes the
        // arrival on to another draw, a few times at most.
        for (int attempt = 0; attempt < 4; ++attempt) {
            const std::uint32_t idx = by_rank_[zipf_->sample(rng_)];
            auto& a = regs_[idx];
            if (a.done || a.acted_day == today || a.state.status != registration_status::valid ||
                a.state.open_application() != nullptr || a.state.renewal_window_notified) {
                continue;
            }
            submit_later(t, idx, rng_.chance(0.6) ? application_kind::change : application_kind::correction, today);
            break;
        }
    }
}

std::optional<tick> workload::impl::next_tick() {
    for (; day_ <= last_day_; ++day_) {
        const day_number today = day_;
        tick t;
        t.at = nine_am(date_of(today));
        fire_timers(t);
        if (working(today)) {
            const auto i = static_cast<std::size_t>(today - first_day_);
            if (i < account_opens_.size()) {
                for (std::uint32_t k : account_opens_[i]) {
                    auto& acct = accounts_[k];
                    emit(t, acct.state, key_of_account(k),
                         open_account{acct.state.id, acct.name, acct.uscc,
                                      k % 3 == 0 ? subject_type::public_utility : subject_type::public_institution,
                                      std::string(cities[acct.home].region)},
                         subject_of(k), nullptr);
                }
                account_opens_[i].clear();
                account_opens_[i].shrink_to_fit();
            }
            if (i < account_verifies_.size()) {
                for (std::uint32_t k : account_verifies_[i]) {
                    auto& acct = accounts_[k];
                    emit(t, acct.state, key_of_account(k), verify_account{acct.state.id},
                         clerk_of(acct.home), nullptr);
                }
                account_verifies_[i].clear();
                account_verifies_[i].shrink_to_fit();
            }
            later_arrivals(t, today);
            if (i < reg_actions_.size()) {
                auto due = std::move(reg_actions_[i]);
                reg_actions_[i] = {};
                for (std::uint32_t idx : due) {
                    auto& a = regs_[idx];
                    if (a.next_day != today || a.done) continue;
                    a.next_day = -1;
                    if (a.acted_day == today) {
                        plan_next(idx, today);
                        continue;
                    }
                    act(t, idx, today);
                }
            }
        }
        if (!t.commands.empty()) {
            ++day_;
            ++totals_.ticks;
            totals_.commands += t.commands.size();
            totals_.events += t.events;
            return t;
        }
    }
    return std::nullopt;
}

std::vector<calendar_date> intake_days(const workload_options& options) {
    const auto& calendar = *workload::rules().calendar;
    std::vector<calendar_date> days;
    for (calendar_date d = options.first_intake_day; static_cast<int>(days.size()) < std::max(1, options.intake_working_days);
         d = d.plus_days(1)) {
        if (calendar.is_working_day(d)) days.push_back(d);
    }
    return days;
}

instant backlog_due_at(const workload_options& options) {
    const auto& r = workload::rules();
    return rules::deadline_instant(r.calendar->add_working_days(intake_days(options).back(), r.acceptance_working_days).date);
}

workload::workload(workload_options options) : impl_(std::make_unique<impl>(options)) {}
workload::~workload() = default;

instant workload::start() const { return instant::start_of_day(date_of(impl_->first_day_)); }
std::optional<tick> workload::next_tick() { return impl_->next_tick(); }
const workload_totals& workload::totals() const { return impl_->totals_; }
const workload_options& workload::options() const { return impl_->options_; }

}  // namespace regledger::bench
