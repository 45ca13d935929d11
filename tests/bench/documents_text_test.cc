// The documents the writer stores as text (projections/documents.h) against
// the same documents built member by member as Boost.JSON objects and
// serialized: the same bytes for every registration state of the benchmark
// workload (its whole lifecycle: supplements, objections, codes, changes,
// renewals, revocations, annulments).
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "bench/workload.h"
#include "engine/state.h"
#include "events/json.h"
#include "projections/documents.h"

using namespace regledger;

namespace {

using boost::json::array;
using boost::json::object;

template <typename T>
void put_optional(object& o, std::string_view key, const std::optional<T>& v) {
    if (v) o[key] = json::to_json(*v);
}

object reference_application(const registration_state& s, const application_state& app) {
    object d;
    d["id"] = app.id.value();
    d["registration_id"] = s.id.value();
    d["kind"] = json::to_json(app.kind);
    d["status"] = json::to_json(app.status);
    d["institution_id"] = app.institution_id.value();
    d["submitted_by"] = app.submitted_by.value();
    d["applicants"] = json::to_json(app.applicants);
    put_optional(d, "record", app.record);
    d["materials"] = json::to_json(app.materials);
    d["acceptance_due"] = json::to_json(app.acceptance_due);
    d["acceptance_overdue"] = app.acceptance_overdue;
    put_optional(d, "review_due", app.review_due);
    d["review_overdue"] = app.review_overdue;
    d["review_delay_explanations"] = app.review_delay_explanations;
    put_optional(d, "publicity_start", app.publicity_start);
    put_optional(d, "publicity_end", app.publicity_end);
    d["publicity_ended"] = app.publicity_ended;
    d["calendar_provisional"] = app.calendar_provisional;
    array objections;
    for (const objection_state& o : app.objections) {
        object od;
        od["id"] = o.id.value();
        od["objector"] = json::to_json(o.objector);
        od["grounds"] = o.grounds;
        od["evidence"] = json::to_json(o.evidence);
        od["status"] = o.open ? "open" : o.upheld ? "upheld" : "dismissed";
        objections.push_back(std::move(od));
    }
    d["objections"] = std::move(objections);
    return d;
}

object reference_head(const registration_state& s) {
    object d;
    d["id"] = s.id.value();
    d["status"] = json::to_json(s.status);
    put_optional(d, "code", s.code);
    put_optional(d, "code_scheme", s.code_scheme);
    put_optional(d, "valid_from", s.valid_from);
    put_optional(d, "valid_until", s.valid_until);
    put_optional(d, "renewal_window_opens", s.renewal_window_opens);
    d["version"] = s.version.value();
    put_optional(d, "record", s.record);
    d["record_version"] = s.record_version;
    d["applicants"] = json::to_json(s.applicants);
    d["institution_id"] = s.institution_id.value();
    if (const application_state* open = s.open_application()) {
        d["open_application"] = open->id.value();
    } else {
        d["open_application"] = nullptr;
    }
    if (s.revocation) {
        object r;
        r["revoked_by"] = s.revocation->revoked_by.value();
        r["grounds"] = json::to_json(s.revocation->grounds);
        r["announcement"] = s.revocation->announcement;
        put_optional(r, "filed_with", s.revocation->filed_with);
        d["revocation"] = std::move(r);
    }
    array ids;
    for (const application_state& a : s.applications) ids.emplace_back(a.id.value());
    d["applications"] = std::move(ids);
    return d;
}

}  // namespace

TEST_CASE("Documents: the text the writer stores is the serialized object, for every state of the workload") {
    bench::workload_options options;
    options.registrations = 2000;
    options.record_events = true;
    bench::workload w(options);
    std::map<std::string, registration_state> regs;
    std::uint64_t heads = 0;
    std::uint64_t applications = 0;
    std::uint64_t with_objections = 0;
    std::uint64_t revoked = 0;
    std::uint64_t with_code = 0;
    while (std::optional<bench::tick> t = w.next_tick()) {
        for (const bench::recorded_event& e : t->recorded) {
            if (!e.stream.value().starts_with("reg-")) continue;
            registration_state& s = regs[e.stream.value()];
            s = evolve(std::move(s), e.body);
            REQUIRE(projections::registration_head_text(s) == boost::json::serialize(reference_head(s)));
            ++heads;
            if (s.revocation) ++revoked;
            if (s.code) ++with_code;
            for (const application_state& app : s.applications) {
                REQUIRE(projections::application_document_text(s, app) ==
                        boost::json::serialize(reference_application(s, app)));
                ++applications;
                if (!app.objections.empty()) ++with_objections;
            }
        }
    }
    CHECK(regs.size() == 2000);
    CHECK(heads > 2'000);
    CHECK(applications > heads);
    CHECK(with_objections > 0);
    CHECK(revoked > 0);
    CHECK(with_code > 0);
}
