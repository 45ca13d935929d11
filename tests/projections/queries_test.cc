// The query API of the read models (projections/read_model.h, API.md
// "Queries"): documents, read-your-write positions, listings with filters and
// cursors, the public views, the service report, the log in order, and
// registrations as they stood at an instant.
#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "engine/rules/calendar.h"
#include "events/codec.h"
#include "projections/documents.h"
#include "projections/projector.h"
#include "tests/projections/ledger_fixture.h"

using namespace regledger;
using namespace regledger::testing;
namespace json = boost::json;

namespace {

std::vector<std::string> ids_of(const json::object& listing) {
    std::vector<std::string> out;
    for (const auto& item : listing.at("items").as_array()) out.emplace_back(item.at("id").as_string());
    return out;
}

std::set<std::string> keys_of(const json::object& o) {
    std::set<std::string> out;
    for (const auto& [k, v] : o) out.emplace(k);
    return out;
}

std::string text(const json::value& v) { return std::string(v.as_string()); }

// "YYYY-MM-DD" at 09:00 Shanghai time.
std::string morning_of(calendar_date d) { return d.to_string() + "T09:00:00+08:00"; }

submit_application initial_for(std::string reg, std::string app, std::string institution = "LN-SY") {
    auto c = initial_application(std::move(app), std::move(institution));
    c.registration_id = registration_id(std::move(reg));
    return c;
}

const file_objection objection_on(std::string app, std::string id = "obj-1") {
    return file_objection{application_id(std::move(app)), objection_id(std::move(id)), {"张三", "110101199003074514"},
                          "权属争议", {{"合同.pdf", std::string(64, 'c')}}};
}

}  // namespace

TEST_CASE("Queries: a registration document at every step, with a position that covers the command") {
    ledger_fixture f;
    const registration_id reg("reg-1");
    CHECK_FALSE(f.reads().registration(reg));

    auto read_own_write = [&](const projections::command_outcome& o) {
        REQUIRE(!o.positions.empty());
        const auto doc = f.reads().registration(reg);
        REQUIRE(doc);
        CHECK(doc->position.partition == partition_id(0));
        CHECK(doc->position.offset.value() >= o.positions.back().offset.value() + 1);
        CHECK(doc->document.at("version").to_number<std::uint64_t>() == o.version.value());
        return doc->document;
    };

    auto doc = read_own_write(f.ok(initial_application(), subject("acct-a")));
    CHECK(text(doc.at("id")) == "reg-1");
    CHECK(text(doc.at("status")) == "pending");
    CHECK(text(doc.at("institution_id")) == "LN-SY");
    CHECK(text(doc.at("record").at("data_name")) == "沈阳市公共交通客流数据");
    CHECK(text(doc.at("applicants").at(0).at("uscc")) == uscc_a);
    for (const char* absent : {"code", "valid_from", "valid_until", "renewal_window_opens", "revocation"}) {
        CAPTURE(absent);
        CHECK_FALSE(doc.contains(absent));
    }
    auto open = doc.at("open_application").as_object();
    CHECK(text(open.at("id")) == "app-1");
    CHECK(text(open.at("kind")) == "initial");
    CHECK(text(open.at("status")) == "submitted");
    CHECK(text(open.at("acceptance_due")) == "2026-03-05");
    CHECK_FALSE(open.contains("review_due"));
    CHECK(open.at("objections").as_array().empty());

    f.clock().set(at("2026-03-03T09:00:00+08:00")).value();
    doc = read_own_write(f.ok(accept_application{application_id("app-1")}, clerk("LN-SY")));
    open = doc.at("open_application").as_object();
    CHECK(text(open.at("status")) == "accepted");
    CHECK(open.contains("review_due"));

    f.clock().set(at("2026-03-04T09:00:00+08:00")).value();
    doc = read_own_write(f.ok(pass_review{application_id("app-1")}, clerk("LN-SY")));
    open = doc.at("open_application").as_object();
    CHECK(text(open.at("status")) == "in_publicity");
    CHECK(text(open.at("publicity_start")) == "2026-03-04");
    CHECK(text(open.at("publicity_end")) == "2026-03-18");

    doc = read_own_write(f.ok(objection_on("app-1"), anyone()));
    CHECK(text(doc.at("open_application").at("objections").at(0).at("status")) == "open");
    doc = read_own_write(f.ok(dismiss_objection{application_id("app-1"), objection_id("obj-1"), "异议不成立"},
                              clerk("LN-SY")));
    CHECK(text(doc.at("open_application").at("objections").at(0).at("status")) == "dismissed");

    f.advance("2026-03-19T00:00:00+08:00");
    doc = f.reads().registration(reg)->document;
    CHECK(text(doc.at("status")) == "valid");
    CHECK(text(doc.at("code")).size() == 19);
    CHECK(text(doc.at("valid_from")) == "2026-03-19");
    CHECK(text(doc.at("valid_until")) == "2029-03-19");
    CHECK(text(doc.at("renewal_window_opens")) == "2029-01-18");
    CHECK(doc.at("open_application").is_null());
    REQUIRE(doc.at("applications").as_array().size() == 1);
    CHECK(text(doc.at("applications").at(0).at("status")) == "completed");

    // Revoked: the document says by whom and why.
    doc = read_own_write(
        f.ok(revoke_registration{reg, revocation_grounds::false_materials, "提供虚假材料"}, clerk("LN-SY")));
    CHECK(text(doc.at("status")) == "revoked");
    CHECK(text(doc.at("revocation").at("revoked_by")) == "LN-SY");
    CHECK(text(doc.at("revocation").at("filed_with")) == "LN");
}

TEST_CASE("Queries: application and account documents") {
    ledger_fixture f;
    CHECK_FALSE(f.reads().application(application_id("app-1")));
    f.make_valid("reg-1", "app-1");
    f.advance("2026-03-18T00:00:00+08:00");
    const auto change = f.ok(later_application("chg-1", application_kind::change), subject("acct-a"));

    const auto first = f.reads().application(application_id("app-1"));
    REQUIRE(first);
    CHECK(text(first->document.at("id")) == "app-1");
    CHECK(text(first->document.at("registration_id")) == "reg-1");
    CHECK(text(first->document.at("kind")) == "initial");
    CHECK(text(first->document.at("status")) == "completed");
    CHECK(text(first->document.at("acceptance_due")) == "2026-03-05");
    CHECK(text(first->document.at("publicity_end")) == "2026-03-16");
    CHECK(first->document.at("publicity_ended").as_bool());

    const auto second = f.reads().application(application_id("chg-1"));
    REQUIRE(second);
    CHECK(text(second->document.at("kind")) == "change");
    CHECK(text(second->document.at("status")) == "submitted");
    CHECK(text(second->document.at("record").at("data_name")) == "沈阳市公共交通客流数据（第二版）");
    CHECK(text(second->document.at("submitted_by")) == "acct-a");
    CHECK(second->position.offset.value() >= change.positions.back().offset.value() + 1);

    const auto account = f.reads().account(account_id("acct-a"));
    REQUIRE(account);
    CHECK(text(account->document.at("id")) == "acct-a");
    CHECK(text(account->document.at("uscc")) == uscc_a);
    CHECK(text(account->document.at("name")) == "沈阳市公交集团");
    CHECK(text(account->document.at("subject_type")) == "public_utility");
    CHECK(account->document.at("verified").as_bool());
    CHECK(text(account->document.at("verified_by")) == "LN-SY");
    CHECK(account->document.at("version").to_number<int>() == 2);
    CHECK_FALSE(f.reads().account(account_id("acct-404")));

    const auto opened = f.ok(open_account{account_id("acct-c"), "新主体", std::string(uscc_b), subject_type::other,
                                          "210200"},
                             anyone());
    const auto fresh = f.reads().account(account_id("acct-c"));
    REQUIRE(fresh);
    CHECK_FALSE(fresh->document.at("verified").as_bool());
    CHECK_FALSE(fresh->document.contains("verified_by"));
    CHECK(fresh->position.offset.value() >= opened.positions.back().offset.value() + 1);
}

TEST_CASE("Queries: a registration's row names its applications, whose documents are rows of their own") {
    ledger_fixture f;
    const registration_id reg("reg-1");
    f.make_valid("reg-1", "app-1");
    f.advance("2026-03-18T00:00:00+08:00");
    f.ok(later_application("chg-1", application_kind::change), subject("acct-a"));

    // The stored head: ids where the documents go.
    const auto rows = f.reads().dump(projections::cf::directory);
    REQUIRE(rows.size() == 1);
    const auto head = json::parse(rows.front().second).as_object();
    CHECK(head.at("open_application") == json::value("chg-1"));
    CHECK(head.at("applications") == json::array{"app-1", "chg-1"});

    // Composed, it is the document of the folded state, byte for byte.
    const auto state = f.reads().load_registration(reg);
    REQUIRE(state);
    const auto doc = f.reads().registration(reg);
    REQUIRE(doc);
    CHECK(json::serialize(doc->document) == json::serialize(projections::registration_document(state.value())));
    CHECK(doc->document.at("open_application").at("id") == json::value("chg-1"));
    CHECK(doc->document.at("applications").at(0).at("status") == json::value("completed"));

    // A change to one application writes that application's row only.
    registration_state after = state.value();
    after.applications.back().review_delay_explanations += 1;
    projections::projection_batch rows_written(f.ledger().store());
    rows_written.on_registration_settled(state.value(), after, digest{});
    struct counter : rocksdb::WriteBatch::Handler {
        std::vector<std::string> application_keys;
        std::uint32_t family = 0;
        rocksdb::Status PutCF(std::uint32_t cf, const rocksdb::Slice& key, const rocksdb::Slice&) override {
            if (cf == family) application_keys.push_back(key.ToString());
            return rocksdb::Status::OK();
        }
    } count;
    count.family = f.ledger().store().cf(projections::cf::applications)->GetID();
    REQUIRE(rows_written.batch().Iterate(&count).ok());
    CHECK(count.application_keys == std::vector<std::string>{"chg-1"});
}

TEST_CASE("Queries: list filters by status, institution, subject, industry, region and expiry") {
    ledger_fixture f;
    // reg-1: LN-SY, subject a, industry 54, region 210100, valid until 2029-03-18.
    f.make_valid("reg-1", "app-1");
    // reg-2: LN-SY, joint a+b, industries 54 and 60, pending.
    auto joint = initial_for("reg-2", "app-2");
    joint.applicants = joint_ab();
    joint.record->industry_codes = {"54", "60"};
    // reg-3: LN-DL, subject b, a product operated until 2027-06-30, industry 60, region 210200.
    auto product = initial_for("reg-3", "app-3", "LN-DL");
    product.applicants = {{"北京数据运营公司", std::string(uscc_b), applicant_role::lead}};
    product.record->object_type = object_type::product;
    product.record->product_form = product_form::api;
    product.record->access_method = access_method::authorized_operation;
    product.record->authorization = authorization{"AGR-2026-01", day("2026-01-01"), day("2027-06-30")};
    product.record->industry_codes = {"60"};
    product.record->coverage_regions = {"210200"};
    f.ok(product, subject("acct-b"));
    f.ok(accept_application{application_id("app-3")}, clerk("LN-DL"));
    f.ok(pass_review{application_id("app-3")}, clerk("LN-DL"));
    f.ok(joint, subject("acct-b"));
    // reg-4: LN-SY, subject a, rejected: not registered.
    f.ok(initial_for("reg-4", "app-4"), subject("acct-a"));
    f.ok(reject_application{application_id("app-4"), "材料不全"}, clerk("LN-SY"));
    f.advance("2026-03-18T00:00:00+08:00");
    REQUIRE(text(f.reads().registration(registration_id("reg-3"))->document.at("valid_until")) == "2027-06-30");
    REQUIRE(text(f.reads().registration(registration_id("reg-1"))->document.at("valid_until")) == "2029-03-18");

    auto list = [&](projections::list_filter filter) {
        const auto answer = f.reads().list(filter);
        REQUIRE_MESSAGE(answer.has_value(), (answer ? std::string() : answer.error().message));
        CHECK(answer.value().document.at("next_cursor").is_null());
        return ids_of(answer.value().document);
    };
    using v = std::vector<std::string>;
    projections::list_filter all;
    CHECK(list(all) == v{"reg-1", "reg-2", "reg-3", "reg-4"});

    auto by_status = [&](registration_status s) {
        projections::list_filter filter;
        filter.status = s;
        return list(filter);
    };
    // The status index is ordered by validity end.
    CHECK(by_status(registration_status::valid) == v{"reg-3", "reg-1"});
    CHECK(by_status(registration_status::pending) == v{"reg-2"});
    CHECK(by_status(registration_status::not_registered) == v{"reg-4"});
    CHECK(by_status(registration_status::revoked).empty());

    auto by_institution = [&](std::string inst) {
        projections::list_filter filter;
        filter.institution = institution_id(std::move(inst));
        return list(filter);
    };
    CHECK(by_institution("LN-SY") == v{"reg-1", "reg-2", "reg-4"});
    CHECK(by_institution("LN-DL") == v{"reg-3"});
    CHECK(by_institution("LN").empty());
    // "LN" is a prefix of "LN-SY": the index prefix must not run over.
    CHECK(by_institution("LN-S").empty());

    auto by_subject = [&](std::string_view uscc) {
        projections::list_filter filter;
        filter.subject = std::string(uscc);
        return list(filter);
    };
    CHECK(by_subject(uscc_a) == v{"reg-1", "reg-2", "reg-4"});
    CHECK(by_subject(uscc_b) == v{"reg-2", "reg-3"});
    CHECK(by_subject("91000000000000000X").empty());

    auto by_industry = [&](std::string code) {
        projections::list_filter filter;
        filter.industry = std::move(code);
        return list(filter);
    };
    CHECK(by_industry("54") == v{"reg-1", "reg-2", "reg-4"});
    CHECK(by_industry("60") == v{"reg-2", "reg-3"});
    CHECK(by_industry("01").empty());

    auto by_region = [&](std::string code) {
        projections::list_filter filter;
        filter.region = std::move(code);
        return list(filter);
    };
    CHECK(by_region("210100") == v{"reg-1", "reg-2", "reg-4"});
    CHECK(by_region("210200") == v{"reg-3"});

    auto expiring = [&](std::string_view before, std::optional<registration_status> status = std::nullopt) {
        projections::list_filter filter;
        filter.expiring_before = day(before);
        filter.status = status;
        return list(filter);
    };
    CHECK(expiring("2028-01-01") == v{"reg-3"});
    CHECK(expiring("2027-06-30").empty());  // strictly before
    CHECK(expiring("2027-07-01") == v{"reg-3"});
    CHECK(expiring("2030-01-01") == v{"reg-1", "reg-3"});
    CHECK(expiring("2028-01-01", registration_status::valid) == v{"reg-3"});
    CHECK(expiring("2027-06-30", registration_status::valid).empty());
    CHECK(expiring("2030-01-01", registration_status::valid) == v{"reg-3", "reg-1"});
    // Registrations without validity never expire.
    CHECK(expiring("2099-01-01", registration_status::pending).empty());
    CHECK(expiring("2099-01-01", registration_status::not_registered).empty());

    // Filters combine.
    projections::list_filter combined;
    combined.institution = institution_id("LN-SY");
    combined.status = registration_status::valid;
    CHECK(list(combined) == v{"reg-1"});
    combined = {};
    combined.subject = std::string(uscc_b);
    combined.institution = institution_id("LN-SY");
    CHECK(list(combined) == v{"reg-2"});
    combined.industry = "54";
    combined.region = "210100";
    CHECK(list(combined) == v{"reg-2"});
    combined.region = "210200";
    CHECK(list(combined).empty());

    // The answers are the full documents.
    const auto answer = f.reads().list(all).value();
    CHECK(answer.document.at("items").at(0).as_object() == f.reads().registration(registration_id("reg-1"))->document);
}

TEST_CASE("Queries: list pages through 120 registrations with a cursor, each once and in order") {
    ledger_fixture f;
    std::vector<std::string> expected;
    std::vector<command_envelope> submits;
    for (int i = 0; i < 120; ++i) {
        const std::string reg = fmt::format("p-{:03}", i);
        expected.push_back(reg);
        // Every third at another institution, to page through an index too.
        submits.push_back(
            f.envelope(initial_for(reg, fmt::format("a-{:03}", i), i % 3 == 0 ? "LN-DL" : "LN-SY"), subject("acct-a")));
    }
    for (const auto& o : f.run_all(std::move(submits))) {
        REQUIRE_MESSAGE(o.result_kind == projections::command_outcome::kind::applied, o.error.message);
    }

    // All pages of a listing; checks that only the last has no cursor.
    auto pages = [&](projections::list_filter filter) {
        std::vector<std::vector<std::string>> out;
        for (;;) {
            const auto answer = f.reads().list(filter);
            REQUIRE(answer.has_value());
            out.push_back(ids_of(answer.value().document));
            REQUIRE(out.size() < 20);
            const auto& next = answer.value().document.at("next_cursor");
            if (next.is_null()) return out;
            REQUIRE(!out.back().empty());
            filter.cursor = text(next);
        }
    };
    auto concat = [](const std::vector<std::vector<std::string>>& ps) {
        std::vector<std::string> all;
        for (const auto& p : ps) all.insert(all.end(), p.begin(), p.end());
        return all;
    };

    projections::list_filter filter;
    filter.limit = 50;
    auto ps = pages(filter);
    REQUIRE(ps.size() == 3);
    CHECK(ps[0].size() == 50);
    CHECK(ps[1].size() == 50);
    CHECK(ps[2].size() == 20);
    CHECK(concat(ps) == expected);

    SUBCASE("a last page that is exactly full has no cursor") {
        filter.limit = 40;
        ps = pages(filter);
        CHECK(ps.size() == 3);
        CHECK(concat(ps) == expected);
        filter.limit = 120;
        CHECK(pages(filter).size() == 1);
    }
    SUBCASE("through the institution and status indexes") {
        std::vector<std::string> dl;
        std::vector<std::string> sy;
        for (int i = 0; i < 120; ++i) (i % 3 == 0 ? dl : sy).push_back(expected[static_cast<std::size_t>(i)]);
        projections::list_filter by_inst;
        by_inst.institution = institution_id("LN-SY");
        by_inst.limit = 30;
        ps = pages(by_inst);
        CHECK(ps.size() == 3);
        CHECK(concat(ps) == sy);
        by_inst.institution = institution_id("LN-DL");
        CHECK(concat(pages(by_inst)) == dl);
        projections::list_filter by_status;
        by_status.status = registration_status::pending;
        by_status.limit = 50;
        CHECK(concat(pages(by_status)) == expected);
        // A filter the index does not answer (post-filtering while paging).
        by_status.institution = institution_id("LN-DL");
        by_status.limit = 7;
        CHECK(concat(pages(by_status)) == dl);
    }
    SUBCASE("registrations added while paging: none repeated, those after the cursor included") {
        const auto first = f.reads().list(filter).value();
        const std::string cursor = text(first.document.at("next_cursor"));
        f.ok(initial_for("p-000a", "a-000a"), subject("acct-a"));  // before the cursor
        f.ok(initial_for("p-119z", "a-119z"), subject("acct-a"));  // after it
        filter.cursor = cursor;
        auto rest = concat(pages(filter));
        auto seen = ids_of(first.document);
        seen.insert(seen.end(), rest.begin(), rest.end());
        auto want = expected;
        want.push_back("p-119z");
        CHECK(seen == want);
    }
    SUBCASE("a cursor that is not one of ours is MALFORMED") {
        for (const std::string bad : {"zz", "abc", "ABCD", "not a cursor", ""}) {
            CAPTURE(bad);
            filter.cursor = bad;
            const auto answer = f.reads().list(filter);
            if (bad.empty()) {
                // The empty string decodes to the start of the listing.
                CHECK(answer.has_value());
                continue;
            }
            REQUIRE_FALSE(answer.has_value());
            CHECK(answer.error().code == errc::malformed);
            CHECK(answer.error().field == "/cursor");
        }
        // A cursor from another listing.
        const auto plain = f.reads().list(filter = projections::list_filter{});
        projections::list_filter by_inst;
        by_inst.institution = institution_id("LN-SY");
        by_inst.cursor = text(plain.value().document.at("next_cursor"));
        const auto crossed = f.reads().list(by_inst);
        REQUIRE_FALSE(crossed.has_value());
        CHECK(crossed.error().code == errc::malformed);
        CHECK(crossed.error().field == "/cursor");
    }
}

TEST_CASE("Queries: the publicity list shows the public fields of applications in publicity only") {
    ledger_fixture f;
    CHECK(f.reads().publicity().document.at("items").as_array().empty());
    f.make_valid("reg-2", "app-2");
    auto joint = initial_for("reg-1", "app-1");
    joint.applicants = joint_ab();
    f.ok(joint, subject("acct-a"));
    f.ok(accept_application{application_id("app-1")}, clerk("LN-SY"));
    f.ok(pass_review{application_id("app-1")}, clerk("LN-SY"));
    f.ok(initial_for("reg-3", "app-3"), subject("acct-a"));
    f.ok(accept_application{application_id("app-3")}, clerk("LN-SY"));  // accepted, not yet public

    auto items = f.reads().publicity().document.at("items").as_array();
    REQUIRE(items.size() == 2);
    CHECK(text(items[0].at("application_id")) == "app-1");
    CHECK(text(items[1].at("application_id")) == "app-2");
    const auto& item = items[0].as_object();
    CHECK(keys_of(item) == std::set<std::string>{"application_id", "kind", "data_name", "summary", "subjects",
                                                 "publicity_start", "publicity_end", "objection_open"});
    CHECK(text(item.at("kind")) == "initial");
    CHECK(text(item.at("data_name")) == "沈阳市公共交通客流数据");
    CHECK(item.at("subjects").as_array() == json::array{"沈阳市公交集团", "北京数据运营公司"});
    CHECK(text(item.at("publicity_end")) == "2026-03-16");
    CHECK_FALSE(item.at("objection_open").as_bool());
    // Nothing confidential (第9、24条): no credit codes, no material hashes.
    const std::string all = json::serialize(f.reads().publicity().document);
    CHECK(all.find(std::string(uscc_a)) == std::string::npos);
    CHECK(all.find(std::string(uscc_b)) == std::string::npos);
    CHECK(all.find(std::string(64, 'a')) == std::string::npos);

    f.ok(objection_on("app-1"), anyone());
    CHECK(f.reads().publicity().document.at("items").at(0).at("objection_open").as_bool());

    // The period ends: app-2 completes and leaves the list; app-1 waits for
    // its objection and stays.
    f.advance("2026-03-17T00:00:00+08:00");
    items = f.reads().publicity().document.at("items").as_array();
    REQUIRE(items.size() == 1);
    CHECK(text(items[0].at("application_id")) == "app-1");
    f.ok(uphold_objection{application_id("app-1"), objection_id("obj-1"), "异议成立"}, clerk("LN-SY"));
    CHECK(f.reads().publicity().document.at("items").as_array().empty());
}

TEST_CASE("Queries: a code looks up the public fields of its registration only") {
    ledger_fixture f;
    f.make_valid("reg-1", "app-1");
    f.advance("2026-03-18T00:00:00+08:00");
    const std::string code = text(f.reads().registration(registration_id("reg-1"))->document.at("code"));
    auto found = f.reads().by_code(code);
    REQUIRE(found);
    CHECK(keys_of(found->document) ==
          std::set<std::string>{"code", "data_name", "subjects", "status", "valid_from", "valid_until"});
    CHECK(text(found->document.at("code")) == code);
    CHECK(text(found->document.at("data_name")) == "沈阳市公共交通客流数据");
    CHECK(found->document.at("subjects").as_array() == json::array{"沈阳市公交集团"});
    CHECK(text(found->document.at("status")) == "valid");
    CHECK(text(found->document.at("valid_from")) == "2026-03-18");
    CHECK(text(found->document.at("valid_until")) == "2029-03-18");
    CHECK(json::serialize(found->document).find(std::string(uscc_a)) == std::string::npos);

    // A change keeps the code; the public name follows the record.
    f.ok(later_application("chg-1", application_kind::change), subject("acct-a"));
    f.ok(accept_application{application_id("chg-1")}, clerk("LN-SY"));
    f.ok(pass_review{application_id("chg-1")}, clerk("LN-SY"));
    f.advance("2026-04-02T00:00:00+08:00");
    found = f.reads().by_code(code);
    REQUIRE(found);
    CHECK(text(found->document.at("data_name")) == "沈阳市公共交通客流数据（第二版）");

    f.ok(revoke_registration{registration_id("reg-1"), revocation_grounds::tampering, "篡改"}, clerk("LN-SY"));
    CHECK(text(f.reads().by_code(code)->document.at("status")) == "revoked");
    CHECK_FALSE(f.reads().by_code("210100202610000099X"));
    CHECK_FALSE(f.reads().by_code(""));
}

TEST_CASE("Queries: the service report counts each institution's figures by day (第21条)") {
    ledger_fixture f;  // Mon 2026-03-02 09:00
    const auto sy = clerk("LN-SY");
    // A: on time all the way, a code, later renewed. E: a code, revoked, annulled.
    // B: accepted late, then withdrawn. C: review overdue, explained twice, failed.
    // D: an objection upheld. F: at LN-DL, accepted.
    for (const auto& [reg, app] : std::vector<std::pair<std::string, std::string>>{
             {"reg-a", "app-a"}, {"reg-b", "app-b"}, {"reg-c", "app-c"}, {"reg-d", "app-d"}, {"reg-e", "app-e"}}) {
        f.ok(initial_for(reg, app), subject("acct-a"));
    }
    f.ok(initial_for("reg-f", "app-f", "LN-DL"), subject("acct-a"));
    for (const char* app : {"app-a", "app-c", "app-d", "app-e"}) f.ok(accept_application{application_id(app)}, sy);
    f.ok(accept_application{application_id("app-f")}, clerk("LN-DL"));
    for (const char* app : {"app-a", "app-d", "app-e"}) f.ok(pass_review{application_id(app)}, sy);

    f.advance("2026-03-05T10:00:00+08:00");
    f.ok(objection_on("app-d"), anyone());
    f.ok(uphold_objection{application_id("app-d"), objection_id("obj-1"), "异议成立"}, sy);

    CHECK(f.advance("2026-03-06T09:00:00+08:00").applied == 1);  // B's acceptance overdue
    f.ok(accept_application{application_id("app-b")}, sy);
    f.ok(withdraw_application{application_id("app-b")}, subject("acct-a"));

    f.advance("2026-03-18T09:00:00+08:00");  // A and E get their codes
    const auto review_due = day(text(f.reads().application(application_id("app-c"))->document.at("review_due")));
    f.advance(morning_of(review_due.plus_days(1)));
    CHECK(f.reads().application(application_id("app-c"))->document.at("review_overdue").as_bool());
    f.ok(explain_review_delay{application_id("app-c"), "材料核验中"}, sy);
    f.ok(explain_review_delay{application_id("app-c"), "仍在核验"}, sy);
    f.ok(fail_review{application_id("app-c"), "数据来源不明"}, sy);

    f.advance("2026-06-01T09:00:00+08:00");
    f.ok(revoke_registration{registration_id("reg-e"), revocation_grounds::other, "公告"}, sy);
    f.ok(annul_revocation{registration_id("reg-e"), "撤销依据不足"}, clerk("LN"));

    f.advance("2029-02-01T09:00:00+08:00");  // both renewal windows open
    auto renewal = later_application("ren-a", application_kind::renewal);
    renewal.registration_id = registration_id("reg-a");
    f.ok(renewal, subject("acct-a"));
    f.ok(accept_application{application_id("ren-a")}, sy);
    f.ok(pass_review{application_id("ren-a")}, sy);
    REQUIRE(text(f.reads().registration(registration_id("reg-a"))->document.at("valid_until")) == "2032-03-18");

    auto report_of = [&](std::optional<std::string> inst, std::string_view from, std::string_view to) {
        const auto answer = f.reads().stats(inst ? std::optional<institution_id>(institution_id(*inst)) : std::nullopt,
                                            day(from), day(to));
        CHECK(text(answer.document.at("from")) == from);
        CHECK(text(answer.document.at("to")) == to);
        return answer.document.at("reports").as_array();
    };
    auto single = [&](std::string inst, std::string_view from, std::string_view to) {
        const auto reports = report_of(inst, from, to);
        REQUIRE(reports.size() == 1);
        CHECK(text(reports[0].at("institution_id")) == inst);
        return reports[0].as_object();
    };

    const json::object sy_2026{{"submitted", 5},
                               {"accepted", 5},
                               {"accepted_on_time", 4},
                               {"acceptances_overdue", 1},
                               {"withdrawn", 1},
                               {"reviews_passed", 3},
                               {"reviews_failed", 1},
                               {"reviewed", 4},
                               {"reviewed_on_time", 3},
                               {"reviews_overdue", 1},
                               {"delay_explanations", 2},
                               {"overdue_reviews_explained", 1},
                               {"publicity_started", 3},
                               {"objections_filed", 1},
                               {"objections_upheld", 1},
                               {"terminated", 1},
                               {"publicity_ended", 2},
                               {"codes_issued", 2},
                               {"revocations", 1},
                               {"revocations_filed", 1},
                               {"revocations_annulled", 1}};
    const json::object sy_by_status{{"valid", 2}, {"not_registered", 3}};
    auto report = single("LN-SY", "2026-01-01", "2026-12-31");
    CHECK(report.at("figures").as_object() == sy_2026);
    CHECK(report.at("registrations_by_status").as_object() == sy_by_status);

    // The first day alone.
    report = single("LN-SY", "2026-03-02", "2026-03-02");
    CHECK(report.at("figures").as_object() == json::object{{"submitted", 5},
                                                           {"accepted", 4},
                                                           {"accepted_on_time", 4},
                                                           {"reviews_passed", 3},
                                                           {"reviewed", 3},
                                                           {"reviewed_on_time", 3},
                                                           {"publicity_started", 3}});
    // Registrations by status are the present count, whatever the range.
    CHECK(report.at("registrations_by_status").as_object() == sy_by_status);

    report = single("LN-SY", "2029-01-01", "2029-12-31");
    CHECK(report.at("figures").as_object() == json::object{{"renewal_windows_opened", 2},
                                                           {"submitted", 1},
                                                           {"renewals_submitted", 1},
                                                           {"accepted", 1},
                                                           {"accepted_on_time", 1},
                                                           {"reviews_passed", 1},
                                                           {"reviewed", 1},
                                                           {"reviewed_on_time", 1},
                                                           {"renewals", 1}});
    CHECK(single("LN-SY", "2027-01-01", "2028-12-31").at("figures").as_object().empty());

    // Another institution's figures are its own.
    report = single("LN-DL", "2026-01-01", "2029-12-31");
    // (Its review went overdue the day C's did: both were accepted on 2026-03-02.)
    CHECK(report.at("figures").as_object() ==
          json::object{{"submitted", 1}, {"accepted", 1}, {"accepted_on_time", 1}, {"reviews_overdue", 1}});
    CHECK(report.at("registrations_by_status").as_object() == json::object{{"pending", 1}});
    // An institution with nothing: a report of zeros.
    report = single("LN", "2026-01-01", "2029-12-31");
    CHECK(report.at("figures").as_object().empty());
    CHECK(report.at("registrations_by_status").as_object().empty());

    // Every institution: one report each, the same as asked one by one.
    const auto every = report_of(std::nullopt, "2026-01-01", "2026-12-31");
    REQUIRE(every.size() == 2);
    CHECK(every[0].as_object() == single("LN-DL", "2026-01-01", "2026-12-31"));
    CHECK(every[1].as_object() == single("LN-SY", "2026-01-01", "2026-12-31"));
}

TEST_CASE("Queries: events_after pages through the log in order with the right next position") {
    ledger_fixture f;
    f.make_valid("reg-1", "app-1");
    f.make_valid("reg-2", "app-2");
    f.advance("2026-03-18T00:00:00+08:00");
    const auto end = f.ledger().log().end(partition_id(0)).value().value();
    REQUIRE(end > 10);

    std::vector<std::int64_t> offsets;
    log_position from{partition_id(0), log_offset(0)};
    for (int page = 0;; ++page) {
        REQUIRE(page < 100);
        const auto answer = f.reads().events_after(from, 3);
        REQUIRE(answer.has_value());
        const auto& events = answer.value().document.at("events").as_array();
        CHECK(events.size() <= 3);
        const std::string next = text(answer.value().document.at("next"));
        CHECK(next == fmt::format("0:{}", answer.value().position.offset.value()));
        if (events.empty()) {
            CHECK(answer.value().position == from);
            break;
        }
        for (const auto& e : events) {
            const auto offset = e.at("position").at("offset").to_number<std::int64_t>();
            offsets.push_back(offset);
            // The event is the log's record at that position.
            const auto record = f.ledger().log().read({partition_id(0), log_offset(offset)}, 1).value();
            REQUIRE(record.size() == 1);
            const auto decoded = events::decode(record[0].value).value();
            CHECK(text(e.at("type")) == type_name_of(decoded.event));
            CHECK(text(e.at("stream")) == decoded.envelope.stream_id.value());
            CHECK(e.at("version").to_number<std::uint64_t>() == decoded.envelope.version.value());
        }
        CHECK(answer.value().position.offset.value() == offsets.back() + 1);
        from = answer.value().position;
    }
    std::vector<std::int64_t> all(static_cast<std::size_t>(end));
    for (std::int64_t i = 0; i < end; ++i) all[static_cast<std::size_t>(i)] = i;
    CHECK(offsets == all);

    // From the middle; and past the end.
    const auto middle = f.reads().events_after({partition_id(0), log_offset(5)}, 2).value();
    REQUIRE(middle.document.at("events").as_array().size() == 2);
    CHECK(middle.document.at("events").at(0).at("position").at("offset").to_number<int>() == 5);
    CHECK(text(middle.document.at("next")) == "0:7");
    const auto past = f.reads().events_after({partition_id(0), log_offset(end + 10)}, 5).value();
    CHECK(past.document.at("events").as_array().empty());
}

TEST_CASE("Queries: a registration as of an instant is the document it had then") {
    ledger_fixture f;
    const registration_id reg("reg-1");
    std::vector<std::pair<instant, json::object>> snapshots;
    auto step = [&](std::string_view when, auto&& act) {
        const instant t = at(when);
        REQUIRE(f.clock().set(t).has_value());
        act();
        auto doc = f.reads().registration(reg);
        REQUIRE(doc);
        snapshots.emplace_back(t, doc->document);
    };
    step("2026-03-02T09:00:00+08:00", [&] { f.ok(initial_application(), subject("acct-a")); });
    step("2026-03-03T09:00:00+08:00", [&] { f.ok(accept_application{application_id("app-1")}, clerk("LN-SY")); });
    step("2026-03-04T09:00:00+08:00", [&] { f.ok(pass_review{application_id("app-1")}, clerk("LN-SY")); });
    step("2026-03-19T00:00:00+08:00", [&] { f.scheduler().fire_due(); });
    step("2026-05-01T09:00:00+08:00", [&] {
        f.ok(revoke_registration{reg, revocation_grounds::other, "公告"}, clerk("LN-SY"));
    });
    step("2026-05-02T09:00:00+08:00", [&] { f.ok(annul_revocation{reg, "撤销依据不足"}, clerk("LN")); });

    const std::vector<std::string> statuses{"pending", "pending", "pending", "valid", "revoked", "valid"};
    REQUIRE(snapshots.size() == statuses.size());
    CHECK_FALSE(f.reads().registration_as_of(reg, snapshots[0].first.plus_us(-1)).value());
    CHECK_FALSE(f.reads().registration_as_of(registration_id("reg-404"), snapshots.back().first).value());
    for (std::size_t i = 0; i < snapshots.size(); ++i) {
        CAPTURE(i);
        const auto& [t, doc] = snapshots[i];
        CHECK(text(doc.at("status")) == statuses[i]);
        // At the instant of the step, just after it, and just before the next.
        std::vector<instant> probes{t, t.plus_us(1), t.plus_us(3'600 * us_per_second)};
        if (i + 1 < snapshots.size()) probes.push_back(snapshots[i + 1].first.plus_us(-1));
        for (const instant probe : probes) {
            CAPTURE(probe.to_string());
            const auto then = f.reads().registration_as_of(reg, probe);
            REQUIRE(then.has_value());
            REQUIRE(then.value());
            CHECK(then.value()->document == doc);
        }
    }
    // Now: the same document as the live one.
    CHECK(f.reads().registration_as_of(reg, f.clock().now()).value()->document ==
          f.reads().registration(reg)->document);
    CHECK(text(f.reads()
                   .registration_as_of(reg, at("2026-03-03T12:00:00+08:00"))
                   .value()
                   ->document.at("open_application")
                   .at("status")) == "accepted");
}

TEST_CASE("Queries: a document and the position it carries are read together, while the writer writes") {
    ledger_fixture f;
    f.make_valid("reg-1", "app-1");  // in publicity: objections may be filed, each one an event
    const registration_id reg("reg-1");
    constexpr int objections = 300;
    std::atomic<bool> writing{true};
    std::atomic<int> refused{0};
    std::thread writer([&] {
        for (int i = 0; i < objections; ++i) {
            const auto o = f.ledger().writes().execute(
                f.envelope(objection_on("app-1", fmt::format("o-{}", i)), anyone(), fmt::format("obj-{}", i)));
            if (o.result_kind != projections::command_outcome::kind::applied) ++refused;
        }
        writing = false;
    });
    // (document version, position) as each query answered.
    std::vector<std::pair<std::uint64_t, std::int64_t>> samples;
    projections::list_filter mine;
    mine.subject = std::string(uscc_a);
    while (writing) {
        const auto doc = f.reads().registration(reg);
        samples.emplace_back(doc->document.at("version").to_number<std::uint64_t>(), doc->position.offset.value());
        const auto listed = f.reads().list(mine).value();
        samples.emplace_back(listed.document.at("items").at(0).at("version").to_number<std::uint64_t>(),
                             listed.position.offset.value());
    }
    writer.join();
    REQUIRE(refused == 0);

    // Where each version of reg-1 lies in the log.
    std::map<std::uint64_t, std::int64_t> offset_of;
    const auto end = f.ledger().log().end(partition_id(0)).value();
    const auto records = f.ledger().log().read({partition_id(0), log_offset(0)}, end.value());
    REQUIRE(records.has_value());
    for (const auto& r : records.value()) {
        const auto rec = events::decode(r.value).value();
        if (rec.envelope.stream_id == registration_stream(reg)) offset_of[rec.envelope.version.value()] = r.position.offset.value();
    }
    // A position P says: every record before P is reflected, none after.
    std::size_t inconsistent = 0;
    std::string first;
    for (const auto& [version, position] : samples) {
        const bool covers_own = offset_of.at(version) < position;
        const auto next = offset_of.find(version + 1);
        const bool misses_next = next == offset_of.end() || next->second >= position;
        if (!covers_own || !misses_next) {
            if (inconsistent++ == 0) first = fmt::format("version {} answered with position {}", version, position);
        }
    }
    CHECK_MESSAGE(inconsistent == 0, inconsistent, " of ", samples.size(), " answers, first: ", first);
}
