// Random command sequences through decide/evolve, checking the invariants
// that every history must keep, whatever people and timers do.
#include <map>
#include <random>

#include "engine/rules/codes.h"
#include "tests/engine/domain_harness.h"

using namespace regledger;
using namespace regledger::testing;

namespace {

class random_driver {
public:
    explicit random_driver(std::uint32_t seed) : rng_(seed) {}

    // One random step: a command from a random (often right, sometimes
    // wrong) issuer at a time that moves forward, or the scheduler firing
    // what is due.
    void step(world& w) {
        const int jump = pick(0, 19);
        const std::int64_t minutes = jump == 0 ? pick(100, 500) * 1440 : jump < 5 ? pick(1, 40) * 1440 : pick(1, 600);
        now_ = now_.plus_us(minutes * 60 * us_per_second);
        if (pick(0, 4) == 0) {
            w.advance_to(now_);
            return;
        }
        const command c = random_command(w.reg());
        const actor issuer = random_issuer(c);
        (void)w.run(c, issuer, now_);
    }

    instant now() const { return now_; }

private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

    application_id some_application(const registration_state& s) {
        if (s.applications.empty() || pick(0, 9) == 0) return application_id("app-" + std::to_string(pick(0, 3)));
        return s.applications[static_cast<std::size_t>(pick(0, static_cast<int>(s.applications.size()) - 1))].id;
    }

    objection_id some_objection() { return objection_id("obj-" + std::to_string(pick(0, 2))); }

    // Mostly the step that moves the procedure on, so that the walk reaches
    // the later paths; otherwise anything at all.
    command random_command(const registration_state& s) {
        if (pick(0, 9) < 6) {
            if (auto c = natural_step(s)) return *c;
        }
        return any_command(s);
    }

    std::optional<command> natural_step(const registration_state& s) {
        const application_state* open = s.open_application();
        if (open == nullptr) {
            auto next = application_id("app-" + std::to_string(counter_++));
            if (!s.exists() || s.status == registration_status::not_registered) return initial_application(next.value());
            if (s.status == registration_status::revoked) return annul_revocation{registration_id("reg-1"), "理由"};
            if (s.status != registration_status::valid) return std::nullopt;
            if (pick(0, 5) == 0) return revoke_registration{registration_id("reg-1"), revocation_grounds::other, "公告"};
            return later_application(next.value(), static_cast<application_kind>(pick(1, 4)));
        }
        const auto& id = open->id;
        switch (open->status) {
            case application_status::submitted:
                return pick(0, 5) == 0 ? command{reject_application{id, "理由"}} : command{accept_application{id}};
            case application_status::supplement_requested:
                return resubmit_materials{id, std::nullopt, {{"m.pdf", std::string(64, 'a')}}};
            case application_status::accepted:
                return pick(0, 5) == 0 ? command{fail_review{id, "理由"}} : command{pass_review{id}};
            case application_status::in_publicity:
                if (pick(0, 2) == 0) {
                    return file_objection{id, some_objection(), {"张三", "110101199003074514"}, "理由",
                                          {{"e.pdf", std::string(64, 'b')}}};
                }
                if (pick(0, 1) == 0) return uphold_objection{id, some_objection(), "理由"};
                return dismiss_objection{id, some_objection(), "理由"};
            default: return std::nullopt;
        }
    }

    command any_command(const registration_state& s) {
        const auto app = some_application(s);
        const auto reg = registration_id("reg-1");
        const material m{"m.pdf", std::string(64, 'a')};
        switch (pick(0, 15)) {
            case 0: {
                const int kind = pick(0, 4);
                auto next = application_id("app-" + std::to_string(counter_++));
                if (kind == 0) return initial_application(next.value());
                return later_application(next.value(), static_cast<application_kind>(kind));
            }
            case 1: return request_supplement{app, {"补充"}, ""};
            case 2: return resubmit_materials{app, std::nullopt, {m}};
            case 3: return accept_application{app};
            case 4: return reject_application{app, "理由"};
            case 5: return withdraw_application{app};
            case 6: return pass_review{app};
            case 7: return fail_review{app, "理由"};
            case 8: return explain_review_delay{app, "理由"};
            case 9:
                return file_objection{app, some_objection(), {"张三", "110101199003074514"}, "理由", {m}};
            case 10: return uphold_objection{app, some_objection(), "理由"};
            case 11: return dismiss_objection{app, some_objection(), "理由"};
            case 12: return revoke_registration{reg, revocation_grounds::false_materials, "公告"};
            case 13: return annul_revocation{reg, "理由"};
            case 14: return expire_validity{reg, s.valid_until.value_or(day("2026-01-01"))};
            default: return open_renewal_window{reg, s.renewal_window_opens.value_or(day("2026-01-01"))};
        }
    }

    actor random_issuer(const command& c) {
        if (pick(0, 7) == 0) {
            const actor anyone_at_all[] = {anyone(), subject("acct-b"), clerk("LN-DL"), clerk("LN"), auditor(),
                                           supervisor(), scheduler()};
            return anyone_at_all[pick(0, 6)];
        }
        switch (authorized_role(c)) {
            case role::subject: return subject(pick(0, 1) ? "acct-a" : "acct-b");
            case role::clerk:
                return std::holds_alternative<annul_revocation>(c) ? clerk("LN") : clerk("LN-SY");
            case role::system: return scheduler();
            default: return anyone();
        }
    }

    static role authorized_role(const command& c) {
        if (is_timeout_command(c)) return role::system;
        if (std::holds_alternative<submit_application>(c) || std::holds_alternative<resubmit_materials>(c) ||
            std::holds_alternative<withdraw_application>(c)) {
            return role::subject;
        }
        if (std::holds_alternative<file_objection>(c)) return role::public_;
        return role::clerk;
    }

    std::mt19937 rng_;
    instant now_ = at("2026-01-05T09:00:00+08:00");
    int counter_ = 10;
};

// Events allowed once a registration reached a state that the rules treat as
// settled, given the event that came before.
bool allowed_after(registration_status status, const event& e) {
    switch (status) {
        case registration_status::deregistered: return false;
        case registration_status::revoked: return std::holds_alternative<revocation_annulled>(e) ||
                                                  std::holds_alternative<revocation_filed>(e);
        case registration_status::not_registered:
            return std::holds_alternative<application_submitted>(e) &&
                   std::get<application_submitted>(e).kind == application_kind::initial;
        case registration_status::pending:
        case registration_status::valid: return true;
    }
    return false;
}

void check_invariants(const world& w) {
    const registration_state& s = w.reg();
    // Versions are contiguous: one per event, starting at 1.
    CHECK(s.version.value() == w.history().size());
    // Replaying the history gives the same state (evolve is a function).
    registration_state replayed;
    registration_status before = registration_status::pending;
    bool started = false;
    for (const event& e : w.history()) {
        if (started) {
            CHECK_MESSAGE(allowed_after(before, e), type_name_of(e), " after status ", static_cast<int>(before));
        }
        replayed = evolve(std::move(replayed), e);
        before = replayed.status;
        started = true;
    }
    CHECK(replayed == s);
    // A valid registration always has a code and a validity end.
    if (s.status == registration_status::valid) {
        REQUIRE(s.code.has_value());
        CHECK(rules::is_valid_registration_code(*s.code));
        CHECK(s.valid_until.has_value());
        CHECK(s.valid_from <= s.valid_until);
        CHECK(s.renewal_window_opens < s.valid_until);
    }
    // At most one application is open, and only the latest.
    int open = 0;
    for (const auto& a : s.applications) open += a.is_final() ? 0 : 1;
    CHECK(open <= 1);
    if (open == 1) CHECK_FALSE(s.applications.back().is_final());
    // A revoked registration has its revocation; no other status has one.
    CHECK(s.revocation.has_value() == (s.status == registration_status::revoked));
    // A completed application that issued a code made the registration exist.
    if (s.code) CHECK(s.status != registration_status::pending);
}

}  // namespace

TEST_CASE("Property: thousands of random command sequences keep the ledger's invariants") {
    std::map<std::string_view, int> seen;
    for (std::uint32_t seed = 1; seed <= 3000; ++seed) {
        CAPTURE(seed);
        world w;
        random_driver driver(seed);
        for (int i = 0; i < 80; ++i) driver.step(w);
        check_invariants(w);
        for (const event& e : w.history()) ++seen[type_name_of(e)];
    }
    // The random walk reaches the interesting paths, so the checks above
    // were not vacuous.
    for (std::string_view name : {"CodeIssued", "RegistrationChanged", "RenewalGranted", "RegistrationRevoked",
                                  "RevocationAnnulled", "RegistrationDeregistered", "ObjectionUpheld",
                                  "ValidityExpired", "ApplicationWithdrawn"}) {
        CAPTURE(name);
        CHECK(seen[name] > 0);
    }
}
