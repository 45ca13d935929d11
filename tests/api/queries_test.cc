// The query routes of API.md over HTTP, the operations routes (/healthz,
// /metrics) and the manual clock.
#include <ifaddrs.h>
#include <netinet/in.h>

#include <map>
#include <regex>

#include "tests/api/server_fixture.h"

using namespace regledger::api_testing;
using strings = std::vector<std::string>;

namespace {

bool is_hex_digest(std::string_view s) {
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

strings ids_of(const array& items) {
    strings out;
    for (const auto& i : items) out.emplace_back(i.at("id").as_string());
    return out;
}

// Every item of a listing, following next_cursor with `limit` items a page.
strings list_all(server_fixture& f, std::string_view query, std::string_view token, int limit, int* pages = nullptr) {
    strings out;
    std::optional<std::string> cursor;
    int n = 0;
    for (;;) {
        REQUIRE_MESSAGE(++n < 100, "the cursor does not advance");
        std::string target = fmt::format("/v1/registrations?{}{}limit={}", query, query.empty() ? "" : "&", limit);
        if (cursor) target += "&cursor=" + *cursor;
        const auto r = f.get(target, token);
        REQUIRE_MESSAGE(r.status == 200, target, " -> ", describe(r));
        const auto body = r.obj();
        const auto& items = body.at("items").as_array();
        CHECK(items.size() <= static_cast<std::size_t>(limit));
        for (const auto& id : ids_of(items)) out.push_back(id);
        if (body.at("next_cursor").is_null()) break;
        cursor = std::string(body.at("next_cursor").as_string());
    }
    if (pages) *pages = n;
    return out;
}

strings sorted(strings v) {
    std::sort(v.begin(), v.end());
    return v;
}

// A small world: accounts, and registrations in two cities in several states.
//   reg-1  LN-SY  valid       acct-a           industry 54, region 210100
//   reg-2  LN-SY  valid       acct-a + acct-b  industry 62, region 210000
//   reg-3  LN-SY  pending     acct-a
//   reg-4  LN-DL  valid       acct-b
//   reg-5  LN-SY  not_registered (rejected)
void populate(server_fixture& f) {
    f.seed_accounts();
    f.to_publicity("reg-1", "app-1");
    auto rec2 = sample_record("辽宁省气象观测数据");
    rec2["industry_codes"] = array{"62", "54"};
    rec2["coverage_regions"] = array{"210000"};
    f.to_publicity("reg-2", "app-2", {.applicants = applicants_ab(), .record = rec2});
    f.ok(submit("app-4-submit", "app-4", "reg-4", {.institution = "LN-DL", .applicants = applicants_b()}),
         tokens::subject_b);
    f.ok(on_application("AcceptApplication", "app-4-accept", "app-4"), tokens::clerk_dl);
    const auto passed = f.ok(on_application("PassReview", "app-4-pass", "app-4"), tokens::clerk_dl);
    const std::string end(passed.at("events").as_array().at(1).at("data").at("publicity_end").as_string());
    f.advance(deadline_passed(end));
    f.ok(submit("app-3-submit", "app-3", "reg-3"), tokens::subject_a);
    f.ok(submit("app-5-submit", "app-5", "reg-5"), tokens::subject_a);
    f.ok(on_application("RejectApplication", "app-5-reject", "app-5", {{"reason", "材料不全"}}), tokens::clerk_sy);
}

}  // namespace

TEST_CASE("Queries: a registration, as it is and as it stood") {
    server_fixture f;
    f.seed_accounts();
    f.ok(submit("c-submit", "app-1", "reg-1"), tokens::subject_a);
    f.advance("2026-03-03T09:00:00+08:00");
    f.to_publicity("reg-x", "app-x");  // another stream meanwhile
    f.ok(on_application("AcceptApplication", "c-accept", "app-1"), tokens::clerk_sy);
    const auto passed = f.ok(on_application("PassReview", "c-pass", "app-1"), tokens::clerk_sy);
    const std::string publicity_end(passed.at("events").as_array().at(1).at("data").at("publicity_end").as_string());
    f.advance(deadline_passed(publicity_end));

    const auto r = f.get("/v1/registrations/reg-1", tokens::auditor);
    REQUIRE(r.status == 200);
    const auto doc = r.obj();
    for (const char* key : {"id", "status", "code", "valid_from", "valid_until", "renewal_window_opens", "version",
                            "record", "applicants", "institution_id", "open_application", "position"}) {
        CHECK_MESSAGE(doc.contains(key), "missing ", key);
    }
    CHECK(doc.at("id").as_string() == "reg-1");
    CHECK(doc.at("status").as_string() == "valid");
    CHECK(doc.at("institution_id").as_string() == "LN-SY");
    CHECK(doc.at("version").to_number<std::int64_t>() == 6);  // submitted, accepted, passed, publicity started, ended, code
    CHECK(doc.at("open_application").is_null());
    CHECK(doc.at("record").at("data_name").as_string() == "沈阳市公共交通客流数据");
    CHECK(doc.at("position").at("offset").to_number<std::int64_t>() > 0);

    SUBCASE("as_of an instant while the application was open") {
        const auto then = f.get("/v1/registrations/reg-1?as_of=2026-03-02T12:00:00%2B08:00", tokens::auditor);
        REQUIRE_MESSAGE(then.status == 200, describe(then));
        const auto old = then.obj();
        CHECK(old.at("status").as_string() == "pending");
        CHECK(old.at("version").to_number<std::int64_t>() == 1);
        CHECK_FALSE(old.contains("code"));
        const auto& open = old.at("open_application").as_object();
        CHECK(open.at("id").as_string() == "app-1");
        CHECK(open.at("kind").as_string() == "initial");
        CHECK(open.at("status").as_string() == "submitted");
        CHECK(open.at("acceptance_due").as_string() == "2026-03-05");
        CHECK(open.at("objections").as_array().empty());
        CHECK(old.contains("position"));
        // In the publicity period.
        const auto mid = f.get("/v1/registrations/reg-1?as_of=2026-03-04T09:00:00Z", tokens::auditor).obj();
        CHECK(mid.at("open_application").at("status").as_string() == "in_publicity");
        CHECK(mid.at("open_application").at("publicity_end").as_string() == publicity_end);
        CHECK(mid.at("open_application").at("review_due").is_string());
    }
    SUBCASE("as_of before it existed, or not an instant") {
        check_error(f.get("/v1/registrations/reg-1?as_of=2026-03-01T00:00:00%2B08:00", tokens::auditor), 404,
                    "NOT_FOUND");
        check_error(f.get("/v1/registrations/reg-1?as_of=yesterday", tokens::auditor), 400, "MALFORMED", "/as_of");
    }
    SUBCASE("an unknown registration") {
        check_error(f.get("/v1/registrations/reg-none", tokens::auditor), 404, "NOT_FOUND");
        check_error(f.get("/v1/registrations/reg-none/history", tokens::auditor), 404, "NOT_FOUND");
        check_error(f.get("/v1/applications/app-none", tokens::auditor), 404, "NOT_FOUND");
    }
}

TEST_CASE("Queries: the history is a hash chain of complete events") {
    server_fixture f;
    f.seed_accounts();
    f.make_valid("reg-1", "app-1");
    const auto r = f.get("/v1/registrations/reg-1/history", tokens::auditor);
    REQUIRE(r.status == 200);
    const auto body = r.obj();
    const auto& events = body.at("events").as_array();
    REQUIRE(events.size() == 6);
    const strings expected{"ApplicationSubmitted", "ApplicationAccepted", "ReviewPassed",
                           "PublicityStarted",     "PublicityEnded",      "CodeIssued"};
    std::string prev(64, '0');
    for (std::size_t i = 0; i < events.size(); ++i) {
        INFO("event ", i);
        const auto& e = events[i].as_object();
        for (const char* key : {"version", "type", "occurred_at", "actor", "data", "hash", "prev_hash"}) {
            CHECK_MESSAGE(e.contains(key), "missing ", key);
        }
        CHECK(e.at("version").to_number<std::int64_t>() == static_cast<std::int64_t>(i + 1));
        CHECK(e.at("type").as_string() == expected[i]);
        CHECK(regledger::instant::parse(e.at("occurred_at").as_string()).has_value());
        CHECK(e.at("actor").at("role").is_string());
        CHECK(e.at("data").is_object());
        CHECK(is_hex_digest(e.at("hash").as_string()));
        CHECK(e.at("prev_hash").as_string() == prev);
        prev = std::string(e.at("hash").as_string());
    }
    CHECK(events[0].at("actor").at("account").as_string() == "acct-a");
    CHECK(events[1].at("actor").at("institution").as_string() == "LN-SY");
    CHECK(events[4].at("actor").at("role").as_string() == "system");
}

TEST_CASE("Queries: listing registrations with filters and a cursor") {
    server_fixture f;
    populate(f);
    const strings all{"reg-1", "reg-2", "reg-3", "reg-4", "reg-5"};

    CHECK(sorted(list_all(f, "", tokens::auditor, 50)) == all);
    int pages = 0;
    // Pages of two: every registration once, over three pages.
    CHECK(sorted(list_all(f, "", tokens::auditor, 2, &pages)) == all);
    CHECK(pages == 3);
    CHECK(sorted(list_all(f, "status=valid", tokens::auditor, 1)) == strings{"reg-1", "reg-2", "reg-4"});
    CHECK(list_all(f, "status=pending", tokens::auditor, 10) == strings{"reg-3"});
    CHECK(list_all(f, "status=not_registered", tokens::auditor, 10) == strings{"reg-5"});
    CHECK(list_all(f, "institution=LN-DL", tokens::auditor, 10) == strings{"reg-4"});
    CHECK(sorted(list_all(f, fmt::format("subject={}", uscc_b), tokens::auditor, 1)) == strings{"reg-2", "reg-4"});
    CHECK(list_all(f, "industry=62", tokens::auditor, 10) == strings{"reg-2"});
    CHECK(list_all(f, "region=210000", tokens::auditor, 10) == strings{"reg-2"});
    CHECK(sorted(list_all(f, "status=valid&institution=LN-SY", tokens::auditor, 1)) == strings{"reg-1", "reg-2"});
    const auto doc = f.get("/v1/registrations/reg-1", tokens::auditor).obj();
    const auto until = regledger::calendar_date::parse(doc.at("valid_until").as_string());
    REQUIRE(until);
    CHECK(sorted(list_all(f, fmt::format("status=valid&expiring_before={}", until->plus_days(1).to_string()),
                          tokens::auditor, 10)) == strings{"reg-1", "reg-2", "reg-4"});
    CHECK(list_all(f, fmt::format("status=valid&expiring_before={}", until->to_string()), tokens::auditor, 10)
              .empty());

    SUBCASE("who may list") {
        // The provincial clerk lists every institution's; a municipal one its own.
        CHECK(sorted(list_all(f, "", tokens::clerk_ln, 2)) == all);
        CHECK(sorted(list_all(f, "", tokens::clerk_sy, 2)) == strings{"reg-1", "reg-2", "reg-3", "reg-5"});
        CHECK(list_all(f, "", tokens::clerk_dl, 2) == strings{"reg-4"});
        check_error(f.get("/v1/registrations?institution=LN-SY", tokens::clerk_dl), 403, "FORBIDDEN");
        check_error(f.get("/v1/registrations", tokens::subject_a), 403, "FORBIDDEN");
        check_error(f.get("/v1/registrations", tokens::supervisor), 403, "FORBIDDEN");
    }
    SUBCASE("bad parameters") {
        check_error(f.get("/v1/registrations?status=shiny", tokens::auditor), 400, "MALFORMED", "/status");
        check_error(f.get("/v1/registrations?limit=0", tokens::auditor), 400, "MALFORMED", "/limit");
        check_error(f.get("/v1/registrations?limit=ten", tokens::auditor), 400, "MALFORMED", "/limit");
        check_error(f.get("/v1/registrations?cursor=zz", tokens::auditor), 400, "MALFORMED", "/cursor");
        check_error(f.get("/v1/registrations?expiring_before=soon", tokens::auditor), 400, "MALFORMED",
                    "/expiring_before");
        // A cursor of one listing does not continue another.
        const auto page = f.get("/v1/registrations?status=valid&limit=1", tokens::auditor).obj();
        REQUIRE(page.at("next_cursor").is_string());
        check_error(f.get(fmt::format("/v1/registrations?institution=LN-DL&cursor={}",
                                      std::string(page.at("next_cursor").as_string())),
                          tokens::auditor),
                    400, "MALFORMED", "/cursor");
    }
}

TEST_CASE("Queries: an application with its status and deadlines") {
    server_fixture f;
    f.seed_accounts();
    f.to_publicity("reg-1", "app-1");
    f.ok(objection("c-object", "app-1", "obj-1"));
    const auto r = f.get("/v1/applications/app-1", tokens::clerk_sy);
    REQUIRE(r.status == 200);
    const auto app = r.obj();
    CHECK(app.at("id").as_string() == "app-1");
    CHECK(app.at("registration_id").as_string() == "reg-1");
    CHECK(app.at("kind").as_string() == "initial");
    CHECK(app.at("status").as_string() == "in_publicity");
    CHECK(app.at("acceptance_due").as_string() == "2026-03-05");
    CHECK(app.at("review_due").is_string());
    CHECK(app.at("publicity_end").is_string());
    CHECK(app.at("objections").as_array().size() == 1);
    CHECK(app.at("objections").at(0).at("status").as_string() == "open");
    CHECK(app.contains("position"));
}

TEST_CASE("Queries: the public publicity list and code lookup") {
    server_fixture f;
    f.seed_accounts();
    const auto code = f.make_valid("reg-1", "app-1");
    const auto end = f.to_publicity("reg-2", "app-2", {.applicants = applicants_ab()});

    const auto publicity = f.get("/v1/public/publicity");
    REQUIRE(publicity.status == 200);
    const auto list = publicity.obj();
    const auto& items = list.at("items").as_array();
    REQUIRE(items.size() == 1);
    const auto& item = items[0].as_object();
    CHECK(item.at("application_id").as_string() == "app-2");
    CHECK(item.at("kind").as_string() == "initial");
    CHECK(item.at("data_name").as_string() == "沈阳市公共交通客流数据");
    CHECK(item.at("summary").as_string() == "全市公交线路按日客流统计");
    CHECK(item.at("subjects").as_array() == array{name_a, name_b});
    CHECK(item.at("publicity_start").as_string() == "2026-03-17");
    CHECK(item.at("publicity_end").as_string() == end);
    CHECK(item.at("objection_open").as_bool() == false);
    f.ok(objection("c-object", "app-2", "obj-1"));
    CHECK(f.get("/v1/public/publicity").obj().at("items").at(0).at("objection_open").as_bool());

    const auto lookup = f.get(fmt::format("/v1/public/codes/{}", code));
    REQUIRE(lookup.status == 200);
    const auto doc = lookup.obj();
    CHECK(doc.at("code").as_string() == code);
    CHECK(doc.at("data_name").as_string() == "沈阳市公共交通客流数据");
    CHECK(doc.at("subjects").as_array() == array{name_a});
    CHECK(doc.at("status").as_string() == "valid");
    CHECK(doc.at("valid_from").as_string() == "2026-03-17");
    CHECK(doc.at("valid_until").is_string());
    check_error(f.get("/v1/public/codes/210100202610000001X"), 404, "NOT_FOUND");
    // A valid token is welcome on a public route.
    CHECK(f.get("/v1/public/publicity", tokens::subject_b).status == 200);
}

TEST_CASE("Queries: statistics for the supervisor, a clerk's own institution, and the auditor") {
    server_fixture f;
    populate(f);
    const auto r = f.get("/v1/stats?from=2026-01-01&to=2026-12-31", tokens::supervisor);
    REQUIRE(r.status == 200);
    const auto doc = r.obj();
    CHECK(doc.at("from").as_string() == "2026-01-01");
    CHECK(doc.at("to").as_string() == "2026-12-31");
    std::map<std::string, object> reports;
    for (const auto& rep : doc.at("reports").as_array()) {
        reports[std::string(rep.at("institution_id").as_string())] = rep.as_object();
    }
    REQUIRE(reports.contains("LN-SY"));
    REQUIRE(reports.contains("LN-DL"));
    const auto& sy = reports["LN-SY"];
    CHECK(sy.at("figures").at("submitted").to_number<std::int64_t>() == 4);
    CHECK(sy.at("figures").at("accepted").to_number<std::int64_t>() == 2);
    CHECK(sy.at("figures").at("accepted_on_time").to_number<std::int64_t>() == 2);
    CHECK(sy.at("figures").at("rejected").to_number<std::int64_t>() == 1);
    CHECK(sy.at("figures").at("codes_issued").to_number<std::int64_t>() == 2);
    CHECK(sy.at("registrations_by_status").at("valid").to_number<std::int64_t>() == 2);
    CHECK(sy.at("registrations_by_status").at("pending").to_number<std::int64_t>() == 1);
    CHECK(reports["LN-DL"].at("registrations_by_status").at("valid").to_number<std::int64_t>() == 1);

    // One institution; a period with nothing in it.
    const auto dl = f.get("/v1/stats?institution=LN-DL&from=2026-01-01&to=2026-12-31", tokens::supervisor).obj();
    REQUIRE(dl.at("reports").as_array().size() == 1);
    CHECK(dl.at("reports").at(0).at("figures").at("submitted").to_number<std::int64_t>() == 1);
    const auto empty = f.get("/v1/stats?institution=LN-SY&from=2025-01-01&to=2025-12-31", tokens::supervisor).obj();
    CHECK(empty.at("reports").at(0).at("figures").as_object().empty());

    CHECK(f.get("/v1/stats?from=2026-01-01", tokens::auditor).status == 200);
    const auto own = f.get("/v1/stats?from=2026-01-01", tokens::clerk_dl);
    REQUIRE(own.status == 200);
    REQUIRE(own.obj().at("reports").as_array().size() == 1);
    CHECK(own.obj().at("reports").at(0).at("institution_id").as_string() == "LN-DL");
    check_error(f.get("/v1/stats?institution=LN-SY", tokens::clerk_dl), 403, "FORBIDDEN");
    check_error(f.get("/v1/stats", tokens::subject_a), 403, "FORBIDDEN");
    check_error(f.get("/v1/stats?institution=LN-XX", tokens::supervisor), 404, "NOT_FOUND");
    check_error(f.get("/v1/stats?from=January", tokens::supervisor), 400, "MALFORMED", "/from");
    check_error(f.get("/v1/stats?to=2026-13-01", tokens::supervisor), 400, "MALFORMED", "/to");
}

TEST_CASE("Queries: the auditor pages through the event log") {
    server_fixture f;
    populate(f);
    const auto whole = f.get("/v1/events?limit=1000", tokens::auditor);
    REQUIRE(whole.status == 200);
    const auto whole_doc = whole.obj();
    const auto& all = whole_doc.at("events").as_array();
    REQUIRE(!all.empty());
    // Every record: on Kafka, the last is followed by its commit marker.
    const auto last_offset = all.back().at("position").at("offset").to_number<std::int64_t>();
    const auto end = f.log_end(last_offset + offsets_of(1, 1));
    REQUIRE(last_offset + offsets_of(1, 1) == end);
    if (!on_kafka()) REQUIRE(static_cast<std::int64_t>(all.size()) == end);

    array paged;
    std::string after;
    int pages = 0;
    for (;;) {
        REQUIRE(++pages < 100);
        const auto target = after.empty() ? std::string("/v1/events?limit=7")
                                          : fmt::format("/v1/events?after={}&limit=7", after);
        const auto page = f.get(target, tokens::auditor).obj();
        const auto& events = page.at("events").as_array();
        CHECK(events.size() <= 7);
        for (const auto& e : events) paged.push_back(e);
        after = std::string(page.at("next").as_string());
        if (events.empty()) break;
    }
    CHECK(paged == all);
    std::int64_t previous = -1;
    for (std::size_t i = 0; i < all.size(); ++i) {
        const auto& e = all[i].as_object();
        const auto offset = e.at("position").at("offset").to_number<std::int64_t>();
        // In log order; without gaps on the embedded log, where no commit
        // markers sit between records.
        CHECK(offset > previous);
        if (!on_kafka()) CHECK(offset == static_cast<std::int64_t>(i));
        previous = offset;
        CHECK(e.contains("stream"));
        CHECK(e.contains("type"));
        CHECK(e.contains("hash"));
    }
    // `after` is the last position seen.
    const auto offset_of = [&](std::size_t i) { return all.at(i).at("position").at("offset").to_number<std::int64_t>(); };
    const auto from_third = f.get(fmt::format("/v1/events?after=0:{}&limit=1", offset_of(2)), tokens::auditor).obj();
    REQUIRE(from_third.at("events").as_array().size() == 1);
    CHECK(from_third.at("events").at(0).at("position").at("offset").to_number<std::int64_t>() == offset_of(3));
    CHECK(from_third.at("next").as_string() == fmt::format("0:{}", offset_of(3)));

    check_error(f.get("/v1/events?after=three", tokens::auditor), 400, "MALFORMED", "/after");
    check_error(f.get("/v1/events?limit=-1", tokens::auditor), 400, "MALFORMED", "/limit");
    for (const auto token : {tokens::clerk_ln, tokens::supervisor, tokens::subject_a}) {
        check_error(f.get("/v1/events", token), 403, "FORBIDDEN");
    }
}

TEST_CASE("Operations: /healthz") {
    server_fixture f;
    const auto r = f.get("/healthz");
    REQUIRE(r.status == 200);
    const auto doc = r.obj();
    CHECK(doc.at("status").as_string() == "ok");
    CHECK(doc.at("log_end").to_number<std::int64_t>() == 0);
    CHECK(doc.at("clock").as_string() == "manual");
    CHECK(doc.at("now").as_string() == "2026-03-02T09:00:00+08:00");
    f.seed_accounts();
    // Four commands, one event and one commit each; the checkpoint is the
    // offset after the last record applied (a commit marker is not one).
    const auto end = offsets_of(4, 4);
    CHECK(f.log_end(end) == end);
    const auto after = f.get("/healthz").obj();
    CHECK(after.at("log_end").to_number<std::int64_t>() == end);
    CHECK(after.at("checkpoint").to_number<std::int64_t>() == (on_kafka() ? end - 1 : end));
}

namespace {

// name{labels} -> value, from the Prometheus text format.
std::map<std::string, double> parse_metrics(const std::string& text, std::set<std::string>& types) {
    std::map<std::string, double> out;
    std::istringstream in(text);
    std::string line;
    const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (-?[0-9.eE+-]+|\+Inf|NaN)$)");
    const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        std::smatch m;
        if (line.starts_with("# HELP ")) continue;
        if (std::regex_match(line, m, type)) {
            types.insert(m[1]);
            continue;
        }
        REQUIRE_MESSAGE(std::regex_match(line, m, sample), "not a Prometheus sample line: ", line);
        out[m[1]] = std::stod(m[3]);
    }
    return out;
}

// Checks a histogram: buckets cumulative, ending with +Inf equal to _count.
void check_histogram(const std::map<std::string, double>& samples, const std::string& name) {
    INFO("histogram ", name);
    std::vector<std::pair<double, double>> buckets;  // le -> count
    const std::regex bucket("^" + name + R"re(_bucket\{le="([^"]+)"\}$)re");
    for (const auto& [key, v] : samples) {
        std::smatch m;
        if (std::regex_match(key, m, bucket)) {
            const double le = m[1] == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(m[1]);
            buckets.emplace_back(le, v);
        }
    }
    REQUIRE(buckets.size() >= 2);
    std::sort(buckets.begin(), buckets.end());
    CHECK(std::isinf(buckets.back().first));
    for (std::size_t i = 1; i < buckets.size(); ++i) CHECK(buckets[i].second >= buckets[i - 1].second);
    REQUIRE(samples.contains(name + "_count"));
    REQUIRE(samples.contains(name + "_sum"));
    CHECK(buckets.back().second == samples.at(name + "_count"));
    CHECK(samples.at(name + "_count") > 0);
}

// A local IPv4 address that is not a loopback one, if the machine has one.
std::optional<asio::ip::address> non_loopback_address() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return std::nullopt;
    std::optional<asio::ip::address> out;
    for (ifaddrs* i = list; i != nullptr && !out; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
        const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
        const asio::ip::address_v4 a(ntohl(in->sin_addr.s_addr));
        if (!a.is_loopback() && !a.is_unspecified()) out = a;
    }
    ::freeifaddrs(list);
    return out;
}

}  // namespace

TEST_CASE("Operations: /metrics in the Prometheus text format") {
    server_fixture f;
    f.seed_accounts();
    f.ok(submit("c-submit", "app-1", "reg-1"), tokens::subject_a);
    check_error(f.run(on_application("AcceptApplication", "c-accept", "app-1"), tokens::clerk_dl), 403, "FORBIDDEN");
    // Five events in five commits, once the broker reports them all.
    f.log_end(offsets_of(5, 5));
    const auto r = f.get("/metrics");
    REQUIRE(r.status == 200);
    CHECK(r.header(http::field::content_type).starts_with("text/plain; version=0.0.4"));
    std::set<std::string> types;
    const auto m = parse_metrics(r.body, types);

    CHECK(m.at(R"(regledger_commands_total{type="OpenAccount",outcome="applied"})") == 2);
    CHECK(m.at(R"(regledger_commands_total{type="VerifyAccount",outcome="applied"})") == 2);
    CHECK(m.at(R"(regledger_commands_total{type="SubmitApplication",outcome="applied"})") == 1);
    CHECK(m.at(R"(regledger_commands_total{type="AcceptApplication",outcome="rejected"})") == 1);
    CHECK(types.contains("regledger_commands_total"));
    for (const char* h : {"regledger_batch_commands", "regledger_append_seconds", "regledger_apply_seconds"}) {
        CHECK(types.contains(h));
        check_histogram(m, h);
    }
    CHECK(m.at("regledger_queue_depth") == 0);
    CHECK(m.at(R"(regledger_log_end_offset{partition="0"})") == static_cast<double>(offsets_of(5, 5)));
    // The acceptance deadline of app-1 is waiting.
    CHECK(m.contains("regledger_timers_pending"));
    CHECK(m.at("regledger_http_requests_total") >= 7);
    CHECK(m.at(R"(regledger_http_responses_total{class="4xx"})") >= 1);
}

TEST_CASE("Operations: /metrics answers on the loopback interface only") {
    server_options o;
    o.listen_address = "0.0.0.0";
    server_fixture f(o);
    const auto outside = non_loopback_address();
    if (!outside) {
        MESSAGE("no non-loopback IPv4 address on this machine: the refusal is not testable here");
        return;
    }
    client c(f.port(), *outside, *outside);
    check_error(c.get("/metrics"), 403, "FORBIDDEN");
    // The admin clock is an operations route too.
    check_error(c.post("/v1/admin/clock", object{{"now", "2026-03-03T09:00:00+08:00"}}), 403, "FORBIDDEN");
    // The API itself answers there.
    CHECK(c.get("/v1/public/publicity").status == 200);
    client local(f.port());
    CHECK(local.get("/metrics").status == 200);
}

TEST_CASE("Manual clock: moving it forward fires what is due, backwards is refused") {
    server_fixture f;
    f.seed_accounts();
    f.ok(submit("c-submit", "app-1", "reg-1"), tokens::subject_a);
    CHECK(f.get("/v1/applications/app-1", tokens::auditor).obj().at("acceptance_overdue").as_bool() == false);

    // Not yet due: the deadline instant is 00:00 of the day after acceptance_due.
    auto moved = f.advance("2026-03-05T23:59:59+08:00");
    CHECK(moved.at("timers_fired").to_number<std::int64_t>() == 0);
    CHECK(f.get("/v1/applications/app-1", tokens::auditor).obj().at("acceptance_overdue").as_bool() == false);
    moved = f.advance("2026-03-06T00:00:00+08:00");
    CHECK(moved.at("now").as_string() == "2026-03-06T00:00:00+08:00");
    CHECK(moved.at("timers_fired").to_number<std::int64_t>() == 1);
    CHECK(moved.at("commands_applied").to_number<std::int64_t>() == 1);
    // The route answers after the timer's event is applied: read it at once.
    CHECK(f.get("/v1/applications/app-1", tokens::auditor).obj().at("acceptance_overdue").as_bool());
    CHECK(f.get("/healthz").obj().at("now").as_string() == "2026-03-06T00:00:00+08:00");

    // The same instant again is fine; backwards is refused and changes nothing.
    CHECK(f.post("/v1/admin/clock", object{{"now", "2026-03-06T00:00:00+08:00"}}).status == 200);
    check_error(f.post("/v1/admin/clock", object{{"now", "2026-03-05T00:00:00+08:00"}}), 409, "INVALID_STATE");
    CHECK(f.get("/healthz").obj().at("now").as_string() == "2026-03-06T00:00:00+08:00");

    check_error(f.request(http::verb::post, "/v1/admin/clock", "tomorrow"), 400, "MALFORMED");
    check_error(f.post("/v1/admin/clock", object{{"now", "soon"}}), 400, "MALFORMED", "/now");
    check_error(f.post("/v1/admin/clock", object{{"now", "2026-03-07T00:00:00+08:00"}, {"speed", 2}}), 400,
                "MALFORMED", "/speed");
}

TEST_CASE("Manual clock: the admin route does not exist with the system clock") {
    server_options o;
    o.manual_clock = false;
    server_fixture f(o);
    check_error(f.post("/v1/admin/clock", object{{"now", "2099-01-01T00:00:00+08:00"}}), 404, "NOT_FOUND");
    CHECK(f.get("/healthz").obj().at("clock").as_string() == "system");
}
