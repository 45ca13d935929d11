#include "cmd/cli/demo.h"

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cmd/cli/args.h"
#include "cmd/cli/client.h"
#include "cmd/cli/subcommand.h"
#include "engine/sha256.h"
#include "engine/time.h"

namespace regledger::cli {
namespace {

namespace bj = boost::json;

// Why the walk stopped: the exit code to return (what went wrong has been
// printed already).
struct stop {
    int exit_code = exit_rejected;
};
template <typename T>
using step_result = result<T, stop>;

// Who acts: a token of the sample configuration, and how to name them.
struct persona {
    std::optional<std::string> token;
    std::string_view label;
};

const persona the_public{std::nullopt, "社会公众 / a member of the public (no token)"};
const persona subject_a{"t-subject-a", "登记主体A(牵头) / subject A, the lead applicant (t-subject-a)"};
const persona subject_b{"t-subject-b", "登记主体B(联合) / subject B, the joint applicant (t-subject-b)"};
const persona clerk_sy{"t-clerk-sy", "沈阳市登记机构 / Shenyang registration institution (t-clerk-sy)"};
const persona clerk_ln{"t-clerk-ln", "辽宁省数据中心 / Liaoning provincial data center (t-clerk-ln)"};
const persona auditor{"t-auditor", "审计 / auditor (t-auditor)"};
const persona supervisor{"t-supervisor", "数据管理部门 / data administration, supervisor (t-supervisor)"};
const persona operator_{std::nullopt, "演示操作员 / the demo operator (POST /v1/admin/clock, loopback only)"};

// The two subjects of the sample configuration's subject tokens.
struct subject_account {
    std::string_view account;
    std::string_view name;
    std::string_view uscc;
    std::string_view subject_type;
};
const subject_account account_a{"acct-a", "沈阳市公共交通集团有限公司", "91350100M000100Y43", "public_utility"};
const subject_account account_b{"acct-b", "辽宁数据运营有限公司", "91110000802100433B", "authorized_operator"};

// A step's name: the article it applies (empty for an operator's step), in
// Chinese and in English.
struct title {
    std::string_view article;
    std::string_view zh;
    std::string_view en;
};

std::string text_of(const bj::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr) return {};
    if (v->is_string()) return std::string(v->get_string());
    if (v->is_null()) return {};
    return bj::serialize(*v);
}

const bj::object& object_at(const bj::object& o, std::string_view key) {
    static const bj::object empty;
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_object() ? v->get_object() : empty;
}

const bj::array& array_at(const bj::object& o, std::string_view key) {
    static const bj::array empty;
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_array() ? v->get_array() : empty;
}

std::uint64_t number_at(const bj::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr) return 0;
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
    return 0;
}

// The facts of an event worth a line, in this order.
std::string key_facts(const bj::object& data) {
    static constexpr std::string_view keys[] = {
        "name",          "uscc",           "verified_by",         "kind",           "institution_id", "applicants",
        "acceptance_due", "items",         "review_due",          "publicity_start", "publicity_end",  "objection_id",
        "objector",      "code",           "valid_from",          "previous_valid_until", "valid_until",
        "renewal_window_opens", "record_version", "grounds", "revoked_by", "filed_with", "annulled_by",
        "restored_status", "reason"};
    std::vector<std::string> facts;
    for (const auto key : keys) {
        const auto* v = data.if_contains(key);
        if (v == nullptr || v->is_null()) continue;
        if (key == "applicants") {
            std::vector<std::string> names;
            for (const auto& a : v->get_array()) {
                if (!a.is_object()) continue;
                names.push_back(fmt::format("{} ({})", text_of(a.get_object(), "name"), text_of(a.get_object(), "role")));
            }
            facts.push_back(fmt::format("applicants {}", fmt::join(names, " + ")));
        } else if (key == "objector") {
            facts.push_back(fmt::format("objector {}", text_of(v->get_object(), "name")));
        } else if (v->is_array()) {
            std::vector<std::string> items;
            for (const auto& i : v->get_array()) items.push_back(i.is_string() ? std::string(i.get_string()) : bj::serialize(i));
            facts.push_back(fmt::format("{} [{}]", key, fmt::join(items, "; ")));
        } else {
            facts.push_back(fmt::format("{} {}", key, text_of(data, key)));
        }
    }
    if (const auto* p = data.if_contains("calendar_provisional"); p != nullptr && p->is_bool() && p->get_bool()) {
        facts.emplace_back("(provisional: the holiday calendar does not cover the year)");
    }
    return fmt::format("{}", fmt::join(facts, ", "));
}

std::string sha256_hex(std::string_view text) { return to_hex(sha256::of(text)); }

bj::object material(std::string_view name) {
    return bj::object{{"name", name}, {"sha256", sha256_hex(name)}};
}

// 09:00 in Shanghai of a day: office hours, when people act.
instant nine_am(calendar_date day) { return instant::start_of_day(day).plus_us(9 * 3600 * us_per_second); }

class walk {
public:
    walk(http_client client, std::string server) : client_(std::move(client)), server_(std::move(server)) {}

    step_result<void> run();

private:
    // ---- the steps ----
    step_result<void> ensure_account(const subject_account& s, std::string& name, std::string& uscc);

    // ---- plumbing ----
    void header(const title& t, std::string_view detail = {});
    step_result<bj::object> fetch(const std::string& target, const persona& who);
    step_result<bj::object> command(const title& t, const persona& who, std::string_view type, bj::object fields,
                                    const std::vector<std::string_view>& expected, std::string_view detail = {});
    step_result<std::vector<bj::object>> advance(const title& t, instant to, const std::vector<std::string_view>& expected);
    step_result<void> expect(const bj::array& events, const std::vector<std::string_view>& expected);
    void print_events(const bj::array& events);
    bj::array applicants() const;
    std::string id(std::string_view what) const { return fmt::format("demo-{}-{}", run_, what); }

    http_client client_;
    std::string server_;
    std::string run_;
    std::string registration_;
    std::string stream_;
    instant now_;
    int step_ = 0;
    std::uint64_t seen_version_ = 0;
    std::string name_a_, uscc_a_, name_b_, uscc_b_;
};

void walk::header(const title& t, std::string_view detail) {
    ++step_;
    fmt::print("\n[{:02}] {}{}{} / {}{}{}\n", step_, t.article, t.article.empty() ? "" : " ", t.zh, t.en,
               detail.empty() ? "" : ": ", detail);
}

step_result<bj::object> walk::fetch(const std::string& target, const persona& who) {
    const auto answer = client_.get(target, as_token{who.token});
    if (!answer) return failure(stop{report_unreachable("demo", answer.error())});
    if (!answer.value().ok()) {
        fmt::print("     REFUSED: {}\n", describe_error(answer.value()));
        fmt::print(stderr, "regledger demo: step {}: GET {}: {}\n", step_, target, describe_error(answer.value()));
        return failure(stop{exit_code_for_status(answer.value().status)});
    }
    boost::system::error_code ec;
    auto doc = bj::parse(answer.value().body, ec);
    if (ec || !doc.is_object()) {
        fmt::print(stderr, "regledger demo: step {}: GET {}: the answer is not a JSON object\n", step_, target);
        return failure(stop{exit_unavailable});
    }
    return std::move(doc.get_object());
}

void walk::print_events(const bj::array& events) {
    for (const auto& e : events) {
        if (!e.is_object()) continue;
        const auto& o = e.get_object();
        const auto facts = key_facts(object_at(o, "data"));
        fmt::print("     -> {:<25} v{:<3}{}{}\n", text_of(o, "type"), number_at(o, "version"), facts.empty() ? "" : " ",
                   facts);
    }
}

step_result<void> walk::expect(const bj::array& events, const std::vector<std::string_view>& expected) {
    // The expected types, in order, among the events written.
    std::size_t next = 0;
    for (const auto& e : events) {
        if (next < expected.size() && e.is_object() && text_of(e.get_object(), "type") == expected[next]) ++next;
    }
    if (next == expected.size()) return success();
    fmt::print("     MISSING: expected {} among the events written\n", fmt::join(expected, ", "));
    fmt::print(stderr, "regledger demo: step {}: expected the event {} and it was not written\n", step_, expected[next]);
    return failure(stop{exit_rejected});
}

step_result<bj::object> walk::command(const title& t, const persona& who, std::string_view type, bj::object fields,
                                      const std::vector<std::string_view>& expected, std::string_view detail) {
    header(t, detail);
    fmt::print("     by {}\n", who.label);
    bj::object body;
    body["command_id"] = id(fmt::format("{:02}", step_));
    body["type"] = type;
    for (auto& [key, value] : fields) body[key] = std::move(value);
    const auto answer = client_.post_json("/v1/commands", bj::serialize(body), as_token{who.token});
    if (!answer) return failure(stop{report_unreachable("demo", answer.error())});
    if (!answer.value().ok()) {
        fmt::print("     REFUSED: {}\n", describe_error(answer.value()));
        fmt::print(stderr, "regledger demo: step {} ({}) was refused: {}\n", step_, type, describe_error(answer.value()));
        return failure(stop{exit_code_for_status(answer.value().status)});
    }
    boost::system::error_code ec;
    auto doc = bj::parse(answer.value().body, ec);
    if (ec || !doc.is_object()) {
        fmt::print(stderr, "regledger demo: step {}: the answer is not a JSON object\n", step_);
        return failure(stop{exit_unavailable});
    }
    auto& out = doc.get_object();
    const auto& events = array_at(out, "events");
    print_events(events);
    if (text_of(out, "stream") == stream_) seen_version_ = number_at(out, "version");
    BOOST_OUTCOME_TRY(expect(events, expected));
    return std::move(out);
}

step_result<std::vector<bj::object>> walk::advance(const title& t, instant to,
                                                   const std::vector<std::string_view>& expected) {
    header(t);
    fmt::print("     by {}\n", operator_.label);
    const auto answer = client_.post_json("/v1/admin/clock", bj::serialize(bj::object{{"now", to.to_string()}}),
                                          as_token{std::nullopt});
    if (!answer) return failure(stop{report_unreachable("demo", answer.error())});
    if (!answer.value().ok()) {
        fmt::print("     REFUSED: {}\n", describe_error(answer.value()));
        fmt::print(stderr, "regledger demo: step {}: moving the clock: {}\n", step_, describe_error(answer.value()));
        return failure(stop{exit_code_for_status(answer.value().status)});
    }
    boost::system::error_code ec;
    const auto moved = bj::parse(answer.value().body, ec);
    if (!ec && moved.is_object()) {
        fmt::print("     clock {} -> {}: timers fired {}, commands applied {}\n", now_.to_string(), to.to_string(),
                   number_at(moved.get_object(), "timers_fired"), number_at(moved.get_object(), "commands_applied"));
    }
    now_ = to;
    // What the timers wrote on this registration's stream.
    BOOST_OUTCOME_TRY(auto history, fetch(fmt::format("/v1/registrations/{}/history", registration_), auditor));
    bj::array fresh;
    std::vector<bj::object> out;
    for (const auto& e : array_at(history, "events")) {
        if (!e.is_object() || number_at(e.get_object(), "version") <= seen_version_) continue;
        fresh.push_back(e);
        out.push_back(e.get_object());
        seen_version_ = number_at(e.get_object(), "version");
    }
    if (fresh.empty()) fmt::print("     (nothing due on this registration)\n");
    print_events(fresh);
    BOOST_OUTCOME_TRY(expect(fresh, expected));
    return out;
}

bj::array walk::applicants() const {
    return bj::array{bj::object{{"name", name_a_}, {"uscc", uscc_a_}, {"role", "lead"}},
                     bj::object{{"name", name_b_}, {"uscc", uscc_b_}, {"role", "joint"}}};
}

step_result<void> walk::ensure_account(const subject_account& s, std::string& name, std::string& uscc) {
    const std::string target = fmt::format("/v1/accounts/{}", s.account);
    const auto existing = client_.get(target, as_token{clerk_sy.token});
    if (!existing) return failure(stop{report_unreachable("demo", existing.error())});
    const auto& answer = existing.value();
    if (answer.status == 401) {
        fmt::print(stderr,
                   "regledger demo: the server does not know the sample tokens: start it with --config "
                   "cmd/config/regledger.sample.json\n");
        return failure(stop{exit_rejected});
    }
    if (answer.ok()) {
        boost::system::error_code ec;
        const auto doc = bj::parse(answer.body, ec);
        if (ec || !doc.is_object()) return failure(stop{exit_unavailable});
        const auto& account = doc.get_object();
        name = text_of(account, "name");
        uscc = text_of(account, "uscc");
        const bool verified = account.contains("verified") && account.at("verified").is_bool() &&
                              account.at("verified").get_bool();
        header({"第12条", "实名账户", "Real-name account"}, fmt::format("{} ({})", name, s.account));
        fmt::print("     opened in an earlier run: USCC {}, {}\n", uscc,
                   verified ? "verified (实名核验已完成)" : "not verified yet");
        if (!verified) {
            BOOST_OUTCOME_TRY(command({"第12条", "实名核验", "Verify the account (real-name check)"}, clerk_sy,
                                      "VerifyAccount", bj::object{{"account_id", s.account}}, {"AccountVerified"}));
        }
        return success();
    }
    if (answer.status != 404) {
        fmt::print(stderr, "regledger demo: GET {}: {}\n", target, describe_error(answer));
        return failure(stop{exit_code_for_status(answer.status)});
    }
    name = std::string(s.name);
    uscc = std::string(s.uscc);
    BOOST_OUTCOME_TRY(command({"第12条", "开立实名账户", "Open a real-name account"}, the_public, "OpenAccount",
                              bj::object{{"account_id", s.account},
                                         {"name", s.name},
                                         {"uscc", s.uscc},
                                         {"subject_type", s.subject_type},
                                         {"region_code", "210100"}},
                              {"AccountOpened"}, fmt::format("{} ({})", s.name, s.account)));
    BOOST_OUTCOME_TRY(command({"第12条", "实名核验", "Verify the account (real-name check)"}, clerk_sy, "VerifyAccount",
                              bj::object{{"account_id", s.account}}, {"AccountVerified"}));
    return success();
}

step_result<void> walk::run() {
    // Where the server stands: its clock, and the log's end for unique ids.
    BOOST_OUTCOME_TRY(auto health, fetch("/healthz", the_public));
    if (text_of(health, "clock") != "manual") {
        fmt::print(stderr,
                   "regledger demo: the server at {} runs on the system clock; the demo moves the clock, so start "
                   "regledgerd with --clock manual --now 2026-09-28T09:00:00+08:00 (scripts/demo does)\n",
                   server_);
        return failure(stop{exit_rejected});
    }
    const auto now = instant::parse(text_of(health, "now"));
    if (!now) {
        fmt::print(stderr, "regledger demo: /healthz answered no clock reading\n");
        return failure(stop{exit_unavailable});
    }
    now_ = *now;
    run_ = fmt::format("r{}", text_of(health, "log_end"));
    registration_ = id("sy-bus");
    stream_ = "reg-" + registration_;
    const std::string app_initial = id("initial");
    const std::string app_change = id("change");
    const std::string app_renewal = id("renewal");
    const std::string objection = id("objection");

    fmt::print("regledger demo: 公共数据资源登记 全流程演示 / one registration from application to annulled revocation\n");
    fmt::print("server {}, manual clock at {}, run {}, registration {}\n", server_, now_.to_string(), run_,
               registration_);

    // ---- 第12条: the subjects' real-name accounts ----
    BOOST_OUTCOME_TRY(ensure_account(account_a, name_a_, uscc_a_));
    BOOST_OUTCOME_TRY(ensure_account(account_b, name_b_, uscc_b_));

    // ---- 第15–16条: a joint initial application, a supplement, acceptance ----
    const bj::object record{
        {"object_type", "resource"},
        {"data_name", "沈阳市公交线路与站点数据"},
        {"summary", "沈阳市公交线路、站点位置与发车时刻表 / Shenyang bus routes, stop locations and timetables"},
        {"industry_codes", bj::array{"54"}},
        {"coverage_regions", bj::array{"210100"}},
        {"coverage_time", bj::object{{"start", "2020-01-01"}, {"end", "2026-06-30"}}},
        {"update_frequency", "每日 / daily"},
        {"data_scale", "1.2 GB, 3.4 million rows"},
        {"security_level", "一般数据 / general"},
        {"access_method", "open"}};
    BOOST_OUTCOME_TRY(command({"第15条", "首次登记申请(联合申请)", "Submit a joint initial application"}, subject_a,
                              "SubmitApplication",
                              bj::object{{"application_id", app_initial},
                                         {"kind", "initial"},
                                         {"registration_id", registration_},
                                         {"institution_id", "LN-SY"},
                                         {"applicants", applicants()},
                                         {"record", record},
                                         {"materials", bj::array{material("公共数据资源登记申请表.pdf"),
                                                                 material("数据资源目录.xlsx")}}},
                              {"ApplicationSubmitted"}, "沈阳市公交线路与站点数据 at 沈阳市登记机构 (LN-SY)"));
    BOOST_OUTCOME_TRY(command({"第16条", "一次性告知补正", "Request a supplement (one-time notice)"}, clerk_sy,
                              "RequestSupplement",
                              bj::object{{"application_id", app_initial},
                                         {"items", bj::array{"数据来源说明 / statement of the data's source",
                                                             "数据安全评估报告 / security assessment"}},
                                         {"note", "请一次性补齐 / please supply all of these at once"}},
                              {"SupplementRequested"}));
    BOOST_OUTCOME_TRY(advance({"", "时钟拨至次日", "The clock moves to the next morning"},
                              nine_am(now_.shanghai_date().plus_days(1)), {}));
    BOOST_OUTCOME_TRY(command({"第16条", "补正材料", "Resubmit the materials (the acceptance clock restarts)"}, subject_b,
                              "ResubmitMaterials",
                              bj::object{{"application_id", app_initial},
                                         {"materials", bj::array{material("公共数据资源登记申请表.pdf"),
                                                                 material("数据资源目录.xlsx"),
                                                                 material("数据来源说明.pdf"),
                                                                 material("数据安全评估报告.pdf")}}},
                              {"MaterialsResubmitted"}));
    BOOST_OUTCOME_TRY(command({"第16条", "受理", "Accept the application"}, clerk_sy, "AcceptApplication",
                              bj::object{{"application_id", app_initial}}, {"ApplicationAccepted"}));

    // ---- 第17–19条: formal review, publicity, an objection ----
    BOOST_OUTCOME_TRY(auto passed, command({"第17、18条", "形式审核通过并公示", "Pass the formal review; publicity starts"},
                                           clerk_sy, "PassReview", bj::object{{"application_id", app_initial}},
                                           {"ReviewPassed", "PublicityStarted"}));
    std::optional<calendar_date> publicity_end;
    for (const auto& e : array_at(passed, "events")) {
        if (text_of(e.get_object(), "type") == "PublicityStarted") {
            publicity_end = calendar_date::parse(text_of(object_at(e.get_object(), "data"), "publicity_end"));
        }
    }
    if (!publicity_end) {
        fmt::print(stderr, "regledger demo: PublicityStarted carries no publicity_end\n");
        return failure(stop{exit_rejected});
    }

    header({"第18条", "公示", "The public sees the publicity list"}, "GET /v1/public/publicity");
    fmt::print("     by {}\n", the_public.label);
    BOOST_OUTCOME_TRY(auto publicity, fetch("/v1/public/publicity", the_public));
    bool listed = false;
    for (const auto& item : array_at(publicity, "items")) {
        const auto& i = item.get_object();
        if (text_of(i, "application_id") != app_initial) continue;
        listed = true;
        std::vector<std::string> subjects;
        for (const auto& s : array_at(i, "subjects")) subjects.push_back(s.is_string() ? std::string(s.get_string()) : "");
        fmt::print("     listed: {} ({}), {} — {} to {}, objections open: {}\n", text_of(i, "data_name"),
                   text_of(i, "kind"), fmt::join(subjects, ", "), text_of(i, "publicity_start"),
                   text_of(i, "publicity_end"), text_of(i, "objection_open"));
    }
    if (!listed) {
        fmt::print(stderr, "regledger demo: application {} is not on the publicity list\n", app_initial);
        return failure(stop{exit_rejected});
    }

    BOOST_OUTCOME_TRY(command({"第19条", "提出异议(实名、附证据)", "File an objection (real name, with evidence)"},
                              the_public, "FileObjection",
                              bj::object{{"application_id", app_initial},
                                         {"objection_id", objection},
                                         {"objector", bj::object{{"name", "张三"}, {"id_number", "110101199003074514"}}},
                                         {"grounds", "站点数据含已撤销站点 / the stops include ones closed in 2025"},
                                         {"evidence", bj::array{material("站点撤销公告.jpg")}}},
                              {"ObjectionFiled"}));
    BOOST_OUTCOME_TRY(command({"第19条", "异议不成立", "Dismiss the objection"}, clerk_sy, "DismissObjection",
                              bj::object{{"application_id", app_initial},
                                         {"objection_id", objection},
                                         {"reason", "时刻表已标注站点状态 / the timetable marks each stop's status"}},
                              {"ObjectionDismissed"}));

    // ---- 第20条: the period ends; the code is issued ----
    BOOST_OUTCOME_TRY(auto issued, advance({"第18、20条", "公示期满，赋码", "The publicity period ends; the code is issued"},
                                           nine_am(publicity_end->plus_days(1)), {"PublicityEnded", "CodeIssued"}));
    std::string code;
    std::optional<calendar_date> renewal_opens;
    for (const auto& e : issued) {
        if (text_of(e, "type") != "CodeIssued") continue;
        code = text_of(object_at(e, "data"), "code");
        renewal_opens = calendar_date::parse(text_of(object_at(e, "data"), "renewal_window_opens"));
    }
    if (code.empty() || !renewal_opens) {
        fmt::print(stderr, "regledger demo: CodeIssued carries no code or renewal window\n");
        return failure(stop{exit_rejected});
    }

    header({"第20条", "登记结果查询", "Anyone looks the code up"}, fmt::format("GET /v1/public/codes/{}", code));
    fmt::print("     by {}\n", the_public.label);
    BOOST_OUTCOME_TRY(auto by_code, fetch(fmt::format("/v1/public/codes/{}", code), the_public));
    fmt::print("     {} {}: {}, valid {} to {}\n", text_of(by_code, "code"), text_of(by_code, "data_name"),
               text_of(by_code, "status"), text_of(by_code, "valid_from"), text_of(by_code, "valid_until"));

    // ---- 第15条: a change, with its own publicity ----
    bj::object changed = record;
    changed["summary"] = "沈阳市公交线路、站点位置、发车时刻表与车辆实时位置 / Shenyang bus routes, stops, timetables "
                         "and live vehicle positions";
    changed["update_frequency"] = "实时 / real time";
    changed["data_scale"] = "4.8 GB, 51 million rows";
    BOOST_OUTCOME_TRY(command({"第15条", "变更登记申请", "Apply for a change (live vehicle positions added)"}, subject_a,
                              "SubmitApplication",
                              bj::object{{"application_id", app_change},
                                         {"kind", "change"},
                                         {"registration_id", registration_},
                                         {"institution_id", "LN-SY"},
                                         {"applicants", applicants()},
                                         {"record", changed},
                                         {"materials", bj::array{material("变更登记申请表.pdf")}}},
                              {"ApplicationSubmitted"}));
    BOOST_OUTCOME_TRY(command({"第16条", "受理变更", "Accept the change"}, clerk_sy, "AcceptApplication",
                              bj::object{{"application_id", app_change}}, {"ApplicationAccepted"}));
    BOOST_OUTCOME_TRY(auto change_passed,
                      command({"第17、18条", "变更审核通过并公示", "Pass the change's review; its publicity starts"},
                              clerk_sy, "PassReview", bj::object{{"application_id", app_change}},
                              {"ReviewPassed", "PublicityStarted"}));
    std::optional<calendar_date> change_publicity_end;
    for (const auto& e : array_at(change_passed, "events")) {
        if (text_of(e.get_object(), "type") == "PublicityStarted") {
            change_publicity_end = calendar_date::parse(text_of(object_at(e.get_object(), "data"), "publicity_end"));
        }
    }
    if (!change_publicity_end) {
        fmt::print(stderr, "regledger demo: the change's PublicityStarted carries no publicity_end\n");
        return failure(stop{exit_rejected});
    }
    BOOST_OUTCOME_TRY(advance({"第18条", "变更公示期满", "The change's publicity ends; a new record version"},
                              nine_am(change_publicity_end->plus_days(1)), {"PublicityEnded", "RegistrationChanged"}));

    // ---- 第13条: three years on, the renewal window and a renewal ----
    BOOST_OUTCOME_TRY(advance({"第13条", "续展窗口开启(有效期届满前60日)", "Three years on, the renewal window opens"},
                              nine_am(*renewal_opens), {"RenewalWindowOpened"}));
    BOOST_OUTCOME_TRY(command({"第13条", "续展申请", "Apply for renewal"}, subject_b, "SubmitApplication",
                              bj::object{{"application_id", app_renewal},
                                         {"kind", "renewal"},
                                         {"registration_id", registration_},
                                         {"institution_id", "LN-SY"},
                                         {"applicants", applicants()},
                                         {"materials", bj::array{material("续展登记申请表.pdf")}}},
                              {"ApplicationSubmitted"}));
    BOOST_OUTCOME_TRY(command({"第16条", "受理续展", "Accept the renewal"}, clerk_sy, "AcceptApplication",
                              bj::object{{"application_id", app_renewal}}, {"ApplicationAccepted"}));
    BOOST_OUTCOME_TRY(command({"第13条", "续展审核通过(不公示)", "Pass the renewal's review; granted without publicity"},
                              clerk_sy, "PassReview", bj::object{{"application_id", app_renewal}},
                              {"ReviewPassed", "RenewalGranted"}));

    // ---- 第23条: a municipal revocation, annulled by the province ----
    BOOST_OUTCOME_TRY(command({"第23条", "撤销登记(市级)并报省备案", "Revoke the registration (municipal), filed with the province"},
                              clerk_sy, "RevokeRegistration",
                              bj::object{{"registration_id", registration_},
                                         {"grounds", "false_materials"},
                                         {"announcement", "沈阳市登记机构公告：该登记所附材料不实，予以撤销 / "
                                                          "Shenyang announces the revocation for false materials"}},
                              {"RegistrationRevoked", "RevocationFiled"}));
    BOOST_OUTCOME_TRY(command({"第23条", "省级纠正，撤销无效", "The province annuls the revocation"}, clerk_ln,
                              "AnnulRevocation",
                              bj::object{{"registration_id", registration_},
                                         {"reason", "复核认定材料真实 / on review the materials are genuine"}},
                              {"RevocationAnnulled"}));

    // ---- Reading it back ----
    header({"", "查询登记", "Read the registration back"}, fmt::format("GET /v1/registrations/{}", registration_));
    fmt::print("     by {}\n", auditor.label);
    BOOST_OUTCOME_TRY(auto now_doc, fetch(fmt::format("/v1/registrations/{}", registration_), auditor));
    fmt::print("     status {}, code {}, valid {} to {}, renewal window opens {}, stream version {}, record version {}\n",
               text_of(now_doc, "status"), text_of(now_doc, "code"), text_of(now_doc, "valid_from"),
               text_of(now_doc, "valid_until"), text_of(now_doc, "renewal_window_opens"), text_of(now_doc, "version"),
               text_of(now_doc, "record_version"));
    if (text_of(now_doc, "status") != "valid" || text_of(now_doc, "code") != code) {
        fmt::print(stderr, "regledger demo: expected the registration valid with code {}\n", code);
        return failure(stop{exit_rejected});
    }

    const instant during_publicity = instant::start_of_day(*publicity_end).plus_us(12 * 3600 * us_per_second);
    header({"", "回溯查询", "As it stood during the first publicity period"},
           fmt::format("as_of {}", during_publicity.to_string()));
    fmt::print("     by {}\n", auditor.label);
    BOOST_OUTCOME_TRY(auto then_doc, fetch(fmt::format("/v1/registrations/{}?as_of={}", registration_,
                                                       url_encode(during_publicity.to_string())),
                                           auditor));
    const auto& open_app = object_at(then_doc, "open_application");
    fmt::print("     status {}, open application {} ({}), publicity ends {}, code {}\n", text_of(then_doc, "status"),
               text_of(open_app, "id"), text_of(open_app, "status"), text_of(open_app, "publicity_end"),
               text_of(then_doc, "code").empty() ? "none yet" : text_of(then_doc, "code"));
    if (text_of(then_doc, "status") != "pending") {
        fmt::print(stderr, "regledger demo: expected the registration pending during its publicity\n");
        return failure(stop{exit_rejected});
    }

    header({"", "审计历史与哈希链", "Audit the history and its hash chain"},
           fmt::format("GET /v1/registrations/{}/history", registration_));
    fmt::print("     by {}\n", auditor.label);
    BOOST_OUTCOME_TRY(auto history, fetch(fmt::format("/v1/registrations/{}/history", registration_), auditor));
    const auto& events = array_at(history, "events");
    std::string previous_hash;
    std::uint64_t expected_version = 1;
    for (const auto& e : events) {
        const auto& o = e.get_object();
        if (number_at(o, "version") != expected_version ||
            (!previous_hash.empty() && text_of(o, "prev_hash") != previous_hash)) {
            fmt::print(stderr, "regledger demo: the history breaks at version {}\n", expected_version);
            return failure(stop{exit_rejected});
        }
        previous_hash = text_of(o, "hash");
        ++expected_version;
    }
    fmt::print("     {} events, versions 1 to {}, each prev_hash equal to the hash before it; last hash {}...\n",
               events.size(), events.size(), previous_hash.substr(0, 16));

    header({"第21条", "服务报告", "The supervisor reads Shenyang's service report"}, "GET /v1/stats?institution=LN-SY");
    fmt::print("     by {}\n", supervisor.label);
    BOOST_OUTCOME_TRY(auto stats, fetch(fmt::format("/v1/stats?institution=LN-SY&from={}-01-01&to={}",
                                                    now_.shanghai_date().year() - 3,
                                                    now_.shanghai_date().to_string()),
                                        supervisor));
    for (const auto& r : array_at(stats, "reports")) {
        std::vector<std::string> figures;
        for (const auto& [k, v] : object_at(r.get_object(), "figures")) {
            figures.push_back(fmt::format("{} {}", std::string_view(k), bj::serialize(v)));
        }
        fmt::print("     {} ({} to {}): {}\n", text_of(r.get_object(), "institution_id"), text_of(stats, "from"),
                   text_of(stats, "to"), fmt::join(figures, ", "));
    }

    fmt::print("\n演示完成 / demo complete: {} is valid, code {}, valid until {}; {} events on its stream.\n",
               registration_, code, text_of(now_doc, "valid_until"), events.size());
    fmt::print("Look again: regledger history {} --token t-auditor --server {}\n", registration_, server_);
    return success();
}

int run_demo_command(const args& a) {
    if (!a.positional().empty()) {
        fmt::print(stderr, "regledger demo: unexpected argument '{}'\n", a.positional().front());
        return exit_usage;
    }
    auto client = client_from(a);
    if (!client) {
        fmt::print(stderr, "regledger demo: {}\n", client.error());
        return exit_usage;
    }
    demo_options options;
    options.connection = client.value().options();
    return run_demo(options);
}

}  // namespace

int run_demo(const demo_options& options) {
    walk w(http_client(options.connection), options.connection.server.to_string());
    const auto outcome = w.run();
    std::fflush(stdout);
    if (!outcome) return outcome.error().exit_code;
    return exit_ok;
}

void add_demo_subcommand(std::vector<subcommand>& out) {
    auto flags = connection_flags();
    std::erase_if(flags, [](const flag_spec& f) { return f.name == "token"; });
    out.push_back({"demo", "regledger demo [--server URL]",
                   "walk one registration through its whole life on a server with the sample config and a manual clock",
                   flags, run_demo_command});
}

}  // namespace regledger::cli
