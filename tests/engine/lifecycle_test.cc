// The registration procedure (第15–20条) as given / when / then cases.
#include <fmt/format.h>

#include "engine/rules/codes.h"
#include "tests/engine/domain_harness.h"

using namespace regledger;
using namespace regledger::testing;

using strings = std::vector<std::string_view>;

TEST_CASE("第16条: acceptance is due 3 working days after submission (the worked example of DOMAIN.md)") {
    world w;
    // Submitted Wed 2026-09-30: 10-08 (Thu), 10-09 (Fri), 10-10 (Sat, make-up working day).
    const auto es = w.ok(initial_application(), subject("acct-a"), at("2026-09-30T10:00:00+08:00"));
    const auto& submitted = nth_event<application_submitted>(es, 0);
    CHECK(submitted.acceptance_due == day("2026-10-10"));
    CHECK_FALSE(submitted.calendar_provisional);
    CHECK(submitted.submitted_by == account_id("acct-a"));
    CHECK(w.reg().status == registration_status::pending);
    const auto timers = pending_timers(w.reg());
    REQUIRE(timers.size() == 1);
    CHECK(timers[0].kind == timer_kind::acceptance);
    CHECK(timers[0].due == at("2026-10-11T00:00:00+08:00"));
}

TEST_CASE("第16条: an acceptance period crossing the Spring Festival skips the holiday") {
    world w;
    // Thu 2026-02-12: 02-13 (Fri), 02-14 (Sat, make-up), 02-15..02-23 off, 02-24 (Tue).
    const auto es = w.ok(initial_application(), subject("acct-a"), at("2026-02-12T16:30:00+08:00"));
    CHECK(nth_event<application_submitted>(es, 0).acceptance_due == day("2026-02-24"));
}

TEST_CASE("第16条: acceptance overdue is a flag, the application stays submitted and can still be accepted") {
    world w;
    w.ok(initial_application(), subject("acct-a"), at("2026-09-30T10:00:00+08:00"));
    CHECK(w.advance_to(at("2026-10-10T23:59:59+08:00")).empty());
    const auto fired = w.advance_to(at("2026-10-11T00:00:00+08:00"));
    CHECK(names(fired) == strings{"AcceptanceOverdue"});
    CHECK(w.reg().open_application()->status == application_status::submitted);
    CHECK(w.reg().open_application()->acceptance_overdue);
    const auto accepted = w.ok(accept_application{application_id("app-1")}, clerk("LN-SY"),
                               at("2026-10-12T09:00:00+08:00"));
    CHECK(names(accepted) == strings{"ApplicationAccepted"});
}

TEST_CASE("第16条: one supplement request per submission, resubmission restarts the acceptance clock") {
    world w;
    const auto sy = clerk("LN-SY");
    w.ok(initial_application(), subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
    w.ok(request_supplement{application_id("app-1"), {"授权文件", "数据样例"}, "请一次补齐"}, sy,
         at("2026-03-03T09:00:00+08:00"));
    CHECK(w.reg().open_application()->status == application_status::supplement_requested);
    SUBCASE("a second request before resubmission is refused (一次性告知)") {
        const auto r = w.refused(request_supplement{application_id("app-1"), {"再补"}, ""}, sy,
                                 at("2026-03-04T09:00:00+08:00"), errc::invalid_state);
        CHECK(r.message.find("一次性告知") != std::string::npos);
    }
    SUBCASE("no acceptance timer runs while the institution waits for the subject") {
        CHECK(pending_timers(w.reg()).empty());
        CHECK(w.advance_to(at("2026-06-01T00:00:00+08:00")).empty());
    }
    SUBCASE("it cannot be accepted before the materials are back") {
        w.refused(accept_application{application_id("app-1")}, sy, at("2026-03-04T09:00:00+08:00"),
                  errc::invalid_state);
    }
    SUBCASE("resubmission on Fri 2026-03-06 makes acceptance due Wed 2026-03-11") {
        const auto es = w.ok(resubmit_materials{application_id("app-1"), std::nullopt, materials("补正材料.pdf")},
                             subject("acct-a"), at("2026-03-06T15:00:00+08:00"));
        CHECK(nth_event<materials_resubmitted>(es, 0).acceptance_due == day("2026-03-11"));
        CHECK(w.reg().open_application()->status == application_status::submitted);
        CHECK(w.reg().open_application()->materials == materials("补正材料.pdf"));
        SUBCASE("and a new submission may get its own supplement request") {
            w.ok(request_supplement{application_id("app-1"), {"签章页"}, ""}, sy, at("2026-03-09T09:00:00+08:00"));
        }
    }
}

TEST_CASE("第16条: rejection with reasons closes the application, the registration is not registered") {
    world w;
    w.ok(initial_application(), subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
    const auto es = w.ok(reject_application{application_id("app-1"), "不属于公共数据资源"}, clerk("LN-SY"),
                         at("2026-03-03T09:00:00+08:00"));
    CHECK(names(es) == strings{"ApplicationRejected"});
    CHECK(w.reg().status == registration_status::not_registered);
    CHECK(w.reg().open_application() == nullptr);
    SUBCASE("accepting a rejected application is in the wrong state") {
        w.refused(accept_application{application_id("app-1")}, clerk("LN-SY"), at("2026-03-03T10:00:00+08:00"),
                  errc::invalid_state);
    }
    SUBCASE("a new initial application may follow under a new application id") {
        w.ok(initial_application("app-2"), subject("acct-a"), at("2026-03-04T09:00:00+08:00"));
        CHECK(w.reg().status == registration_status::pending);
    }
    SUBCASE("an application id is never reused") {
        w.refused(initial_application("app-1"), subject("acct-a"), at("2026-03-04T09:00:00+08:00"), errc::conflict);
    }
}

TEST_CASE("第16条: the subject may withdraw before the code is issued, not after") {
    world w;
    const auto sy = clerk("LN-SY");
    w.ok(initial_application(), subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
    SUBCASE("while submitted") {
        w.ok(withdraw_application{application_id("app-1")}, subject("acct-a"), at("2026-03-02T10:00:00+08:00"));
        CHECK(w.reg().applications[0].status == application_status::withdrawn);
        CHECK(w.reg().status == registration_status::not_registered);
    }
    SUBCASE("during publicity") {
        w.ok(accept_application{application_id("app-1")}, sy, at("2026-03-03T09:00:00+08:00"));
        w.ok(pass_review{application_id("app-1")}, sy, at("2026-03-04T09:00:00+08:00"));
        w.ok(withdraw_application{application_id("app-1")}, subject("acct-a"), at("2026-03-05T10:00:00+08:00"));
        CHECK(pending_timers(w.reg()).empty());
    }
    SUBCASE("after completion it is refused") {
        w.ok(accept_application{application_id("app-1")}, sy, at("2026-03-03T09:00:00+08:00"));
        w.ok(pass_review{application_id("app-1")}, sy, at("2026-03-10T09:00:00+08:00"));
        w.advance_to(at("2026-03-25T00:00:00+08:00"));
        w.refused(withdraw_application{application_id("app-1")}, subject("acct-a"), at("2026-03-26T10:00:00+08:00"),
                  errc::invalid_state);
    }
}

TEST_CASE("第17条: review is due 20 working days after acceptance, when overdue the delay is explained") {
    world w;
    const auto sy = clerk("LN-SY");
    w.ok(initial_application(), subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
    const auto es = w.ok(accept_application{application_id("app-1")}, sy, at("2026-03-03T09:00:00+08:00"));
    // Tue 2026-03-03 + 20 working days = Tue 2026-03-31.
    CHECK(nth_event<application_accepted>(es, 0).review_due == day("2026-03-31"));
    w.refused(explain_review_delay{application_id("app-1"), "材料复杂"}, sy, at("2026-03-20T09:00:00+08:00"),
              errc::invalid_state);
    CHECK(names(w.advance_to(at("2026-04-01T00:00:00+08:00"))) == strings{"ReviewOverdue"});
    w.ok(explain_review_delay{application_id("app-1"), "需要补充核验数据来源"}, sy, at("2026-04-01T09:00:00+08:00"));
    CHECK(w.reg().open_application()->review_delay_explanations == 1);
    const auto passed = w.ok(pass_review{application_id("app-1")}, sy, at("2026-04-02T09:00:00+08:00"));
    CHECK(names(passed) == strings{"ReviewPassed", "PublicityStarted"});
}

TEST_CASE("第17条: a failed review closes the application") {
    world w;
    const auto sy = clerk("LN-SY");
    w.ok(initial_application(), subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
    w.ok(accept_application{application_id("app-1")}, sy, at("2026-03-03T09:00:00+08:00"));
    w.ok(fail_review{application_id("app-1"), "数据名称与内容不符"}, sy, at("2026-03-05T09:00:00+08:00"));
    CHECK(w.reg().applications[0].status == application_status::review_failed);
    CHECK(w.reg().status == registration_status::not_registered);
    w.refused(pass_review{application_id("app-1")}, sy, at("2026-03-05T10:00:00+08:00"), errc::invalid_state);
}

TEST_CASE("第18条: publicity starts the day the review passes and runs 10 working days after it") {
    world w;
    const auto sy = clerk("LN-SY");
    w.ok(initial_application(), subject("acct-a"), at("2026-09-14T09:00:00+08:00"));
    w.ok(accept_application{application_id("app-1")}, sy, at("2026-09-15T09:00:00+08:00"));
    SUBCASE("crossing the make-up Sunday 09-20 and the National Day holiday") {
        // Fri 09-18: 09-20 (Sun, make-up), 21, 22, 23, 24, 28, 29, 30, 10-08, 10-09.
        const auto es = w.ok(pass_review{application_id("app-1")}, sy, at("2026-09-18T09:00:00+08:00"));
        const auto& started = nth_event<publicity_started>(es, 1);
        CHECK(started.publicity_start == day("2026-09-18"));
        CHECK(started.publicity_end == day("2026-10-09"));
    }
    SUBCASE("crossing the make-up Saturday 10-10") {
        // Wed 09-30: 10-08, 10-09, 10-10 (Sat, make-up), 12, 13, 14, 15, 16, 19, 20.
        const auto es = w.ok(pass_review{application_id("app-1")}, sy, at("2026-09-30T09:00:00+08:00"));
        CHECK(nth_event<publicity_started>(es, 1).publicity_end == day("2026-10-20"));
        CHECK(w.reg().open_application()->status == application_status::in_publicity);
    }
}

TEST_CASE("第19条: objections only during the publicity period") {
    world w;
    const auto sy = clerk("LN-SY");
    w.ok(initial_application(), subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
    w.ok(accept_application{application_id("app-1")}, sy, at("2026-03-03T09:00:00+08:00"));
    const file_objection objection{application_id("app-1"), objection_id("obj-1"),
                                   {"张三", "110101199003074514"}, "数据来源不实", {{"证据.pdf", std::string(64, 'b')}}};
    SUBCASE("before publicity it is refused") {
        w.refused(objection, anyone(), at("2026-03-04T09:00:00+08:00"), errc::invalid_state);
    }
    w.ok(pass_review{application_id("app-1")}, sy, at("2026-03-10T09:00:00+08:00"));
    SUBCASE("on the first day (the day the review passed)") {
        CHECK(names(w.ok(objection, anyone(), at("2026-03-10T18:00:00+08:00"))) == strings{"ObjectionFiled"});
    }
    SUBCASE("in the last minute of the last day") {
        w.ok(objection, anyone(), at("2026-03-24T23:59:00+08:00"));
    }
    SUBCASE("one minute after the period ended it is refused, even before the timer fired") {
        const auto r = w.refused(objection, anyone(), at("2026-03-25T00:01:00+08:00"), errc::invalid_state);
        CHECK(r.message.find("第19条") != std::string::npos);
    }
    SUBCASE("a repeated objection id with the same content changes nothing; different content conflicts") {
        w.ok(objection, anyone(), at("2026-03-11T09:00:00+08:00"));
        CHECK(w.ok(objection, anyone(), at("2026-03-11T09:05:00+08:00")).empty());
        auto different = objection;
        different.grounds = "另一理由";
        w.refused(different, anyone(), at("2026-03-11T09:10:00+08:00"), errc::conflict);
        CHECK(w.reg().open_application()->objections.size() == 1);
    }
}

TEST_CASE("第19条: an upheld objection terminates the registration") {
    world w;
    const auto sy = clerk("LN-SY");
    w.ok(initial_application(), subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
    w.ok(accept_application{application_id("app-1")}, sy, at("2026-03-03T09:00:00+08:00"));
    w.ok(pass_review{application_id("app-1")}, sy, at("2026-03-10T09:00:00+08:00"));
    w.ok(file_objection{application_id("app-1"), objection_id("obj-1"), {"李四", std::string(uscc_b)}, "权属争议",
                        {{"合同.pdf", std::string(64, 'c')}}},
         anyone(), at("2026-03-12T09:00:00+08:00"));
    const auto es = w.ok(uphold_objection{application_id("app-1"), objection_id("obj-1"), "权属存在争议"}, sy,
                         at("2026-03-13T09:00:00+08:00"));
    CHECK(names(es) == strings{"ObjectionUpheld", "ApplicationTerminated"});
    CHECK(w.reg().applications[0].status == application_status::terminated);
    CHECK(w.reg().status == registration_status::not_registered);
    CHECK(pending_timers(w.reg()).empty());
    w.refused(dismiss_objection{application_id("app-1"), objection_id("obj-1"), "x"}, sy,
              at("2026-03-13T10:00:00+08:00"), errc::invalid_state);
}

TEST_CASE("第20条: completion waits while an objection is open, dismissing the last one issues the code") {
    world w;
    const auto sy = clerk("LN-SY");
    w.ok(initial_application(), subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
    w.ok(accept_application{application_id("app-1")}, sy, at("2026-03-03T09:00:00+08:00"));
    w.ok(pass_review{application_id("app-1")}, sy, at("2026-03-10T09:00:00+08:00"));
    for (const char* id : {"obj-1", "obj-2"}) {
        w.ok(file_objection{application_id("app-1"), objection_id(id), {"王五", "110101199003074514"}, "异议",
                            {{"e.pdf", std::string(64, 'd')}}},
             anyone(), at("2026-03-20T09:00:00+08:00"));
    }
    const auto ended = w.advance_to(at("2026-03-25T00:00:00+08:00"));
    CHECK(names(ended) == strings{"PublicityEnded"});
    CHECK(w.reg().status == registration_status::pending);
    const auto first = w.ok(dismiss_objection{application_id("app-1"), objection_id("obj-1"), "证据不足"}, sy,
                            at("2026-03-26T09:00:00+08:00"));
    CHECK(names(first) == strings{"ObjectionDismissed"});
    const auto last = w.ok(dismiss_objection{application_id("app-1"), objection_id("obj-2"), "证据不足"}, sy,
                           at("2026-03-27T09:00:00+08:00"));
    CHECK(names(last) == strings{"ObjectionDismissed", "CodeIssued"});
    const auto& code = nth_event<code_issued>(last, 1);
    CHECK(code.valid_from == day("2026-03-27"));
    CHECK(w.reg().status == registration_status::valid);
}

TEST_CASE("第13、20条: the code is issued when publicity ends, valid 3 years, renewal window 60 days before") {
    world w;
    w.make_valid();
    const auto& es = w.history();
    const auto& code = std::get<code_issued>(es.back());
    CHECK(code.code.substr(0, 18) == "210100202610000001");
    CHECK(rules::is_valid_registration_code(code.code));
    CHECK(code.scheme == "LN-LOCAL-1");
    CHECK(code.valid_from == day("2026-03-25"));
    CHECK(code.valid_until == day("2029-03-25"));
    CHECK(code.renewal_window_opens == day("2029-01-24"));
    CHECK(w.reg().code == code.code);
    CHECK(w.reg().applications[0].status == application_status::completed);
    CHECK(w.codes_issued() == 1);
}

TEST_CASE("第13条: a product under an authorization agreement is valid only for its operating period") {
    world w;
    const auto sy = clerk("LN-SY");
    auto c = initial_application();
    c.record->object_type = object_type::product;
    c.record->product_form = product_form::api;
    c.record->access_method = access_method::authorized_operation;
    c.record->authorization = authorization{"LNSJ-2026-007", day("2026-01-01"), day("2027-12-31")};
    w.ok(c, subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
    w.ok(accept_application{application_id("app-1")}, sy, at("2026-03-03T09:00:00+08:00"));
    w.ok(pass_review{application_id("app-1")}, sy, at("2026-03-10T09:00:00+08:00"));
    const auto es = w.advance_to(at("2026-03-25T00:00:00+08:00"));
    const auto& code = nth_event<code_issued>(es, 1);
    CHECK(code.valid_until == day("2027-12-31"));
    CHECK(code.code.substr(10, 1) == "2");  // T = 2: a product
}

TEST_CASE("第15条: change and correction keep the code and validity with a new record version") {
    world w;
    const auto sy = clerk("LN-SY");
    w.make_valid();
    const auto code = *w.reg().code;
    const auto until = *w.reg().valid_until;
    for (auto kind : {application_kind::change, application_kind::correction}) {
        const std::string id = kind == application_kind::change ? "chg-1" : "cor-1";
        w.ok(later_application(id, kind), subject("acct-a"), at("2026-05-06T09:00:00+08:00"));
        w.ok(accept_application{application_id(id)}, sy, at("2026-05-07T09:00:00+08:00"));
        w.ok(pass_review{application_id(id)}, sy, at("2026-05-08T09:00:00+08:00"));
        const auto es = w.advance_to(at("2026-06-01T00:00:00+08:00"));
        REQUIRE(es.size() == 2);
        CHECK(type_name_of(es[1]) == (kind == application_kind::change ? "RegistrationChanged" : "RegistrationCorrected"));
    }
    CHECK(w.reg().record_version == 3);
    CHECK(w.reg().record->data_name == "沈阳市公共交通客流数据（第二版）");
    CHECK(w.reg().code == code);
    CHECK(w.reg().valid_until == until);
}

TEST_CASE("第15条: one open application per registration") {
    world w;
    w.make_valid();
    w.ok(later_application("chg-1", application_kind::change), subject("acct-a"), at("2026-05-06T09:00:00+08:00"));
    w.refused(later_application("cor-1", application_kind::correction), subject("acct-a"),
              at("2026-05-06T10:00:00+08:00"), errc::conflict);
    SUBCASE("a second initial application for a pending registration also conflicts") {
        world fresh;
        fresh.ok(initial_application("app-1"), subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
        fresh.refused(initial_application("app-2"), subject("acct-a"), at("2026-03-02T10:00:00+08:00"),
                      errc::conflict);
    }
}

TEST_CASE("第15条: voluntary deregistration is publicized, then deregisters") {
    world w;
    const auto sy = clerk("LN-SY");
    w.make_valid();
    w.ok(later_application("der-1", application_kind::deregistration), subject("acct-a"),
         at("2026-05-06T09:00:00+08:00"));
    w.ok(accept_application{application_id("der-1")}, sy, at("2026-05-07T09:00:00+08:00"));
    CHECK(names(w.ok(pass_review{application_id("der-1")}, sy, at("2026-05-08T09:00:00+08:00"))) ==
          strings{"ReviewPassed", "PublicityStarted"});
    const auto es = w.advance_to(at("2026-06-01T00:00:00+08:00"));
    CHECK(names(es) == strings{"PublicityEnded", "RegistrationDeregistered"});
    CHECK(nth_event<registration_deregistered>(es, 1).reason == deregistration_reason::voluntary);
    CHECK(w.reg().status == registration_status::deregistered);
    CHECK(pending_timers(w.reg()).empty());
    w.refused(later_application("chg-9", application_kind::change), subject("acct-a"),
              at("2026-06-02T09:00:00+08:00"), errc::invalid_state);
}

namespace {

// A valid registration (2026-03-25 .. 2029-03-25; window opens 2029-01-24).
world valid_world() {
    world w;
    w.make_valid();
    return w;
}

}  // namespace

TEST_CASE("第13条: renewal inside its window only") {
    const auto renewal = later_application("ren-1", application_kind::renewal);
    SUBCASE("the day before the window opens is refused") {
        auto w = valid_world();
        w.refused(renewal, subject("acct-a"), at("2029-01-23T12:00:00+08:00"), errc::renewal_window_closed);
    }
    SUBCASE("the day the window opens") {
        auto w = valid_world();
        w.ok(renewal, subject("acct-a"), at("2029-01-24T08:00:00+08:00"));
    }
    SUBCASE("the last day of validity") {
        auto w = valid_world();
        w.ok(renewal, subject("acct-a"), at("2029-03-25T23:00:00+08:00"));
    }
    SUBCASE("the day after validity ended is refused") {
        auto w = valid_world();
        w.refused(renewal, subject("acct-a"), at("2029-03-26T09:00:00+08:00"), errc::renewal_window_closed);
    }
}

TEST_CASE("第13条: the renewal window opens with a notification, renewal adds 3 years without publicity") {
    auto w = valid_world();
    const auto sy = clerk("LN-SY");
    CHECK(names(w.advance_to(at("2029-01-24T00:00:00+08:00"))) == strings{"RenewalWindowOpened"});
    w.ok(later_application("ren-1", application_kind::renewal), subject("acct-a"), at("2029-02-01T09:00:00+08:00"));
    w.ok(accept_application{application_id("ren-1")}, sy, at("2029-02-02T09:00:00+08:00"));
    const auto es = w.ok(pass_review{application_id("ren-1")}, sy, at("2029-02-05T09:00:00+08:00"));
    CHECK(names(es) == strings{"ReviewPassed", "RenewalGranted"});
    const auto& granted = nth_event<renewal_granted>(es, 1);
    CHECK(granted.previous_valid_until == day("2029-03-25"));
    CHECK(granted.valid_until == day("2032-03-25"));
    CHECK(granted.renewal_window_opens == day("2032-01-25"));
    CHECK(w.reg().valid_until == day("2032-03-25"));
    CHECK_FALSE(w.reg().renewal_window_notified);
    // The old expiry passes without effect; the new window will notify again.
    CHECK(w.advance_to(at("2029-03-27T00:00:00+08:00")).empty());
    CHECK(names(w.advance_to(at("2032-01-25T00:00:00+08:00"))) == strings{"RenewalWindowOpened"});
}

TEST_CASE("第13条: expiry without a pending renewal deregisters") {
    auto w = valid_world();
    const auto es = w.advance_to(at("2029-03-26T00:00:00+08:00"));
    CHECK(names(es) == strings{"RenewalWindowOpened", "ValidityExpired", "RegistrationDeregistered"});
    CHECK_FALSE(nth_event<validity_expired>(es, 1).application_pending);
    CHECK(nth_event<registration_deregistered>(es, 2).reason == deregistration_reason::expired);
    CHECK(w.reg().status == registration_status::deregistered);
    CHECK(pending_timers(w.reg()).empty());
}

TEST_CASE("第13条: expiry with a renewal pending waits for the renewal's outcome") {
    auto w = valid_world();
    const auto sy = clerk("LN-SY");
    w.ok(later_application("ren-1", application_kind::renewal), subject("acct-a"), at("2029-03-20T09:00:00+08:00"));
    const auto es = w.advance_to(at("2029-03-26T00:00:00+08:00"));
    CHECK(names(es) == strings{"RenewalWindowOpened", "AcceptanceOverdue", "ValidityExpired"});
    CHECK(nth_event<validity_expired>(es, 2).application_pending);
    CHECK(w.reg().status == registration_status::valid);
    SUBCASE("granted: valid with the new end") {
        w.ok(accept_application{application_id("ren-1")}, sy, at("2029-03-26T09:00:00+08:00"));
        w.ok(pass_review{application_id("ren-1")}, sy, at("2029-03-27T09:00:00+08:00"));
        CHECK(w.reg().status == registration_status::valid);
        CHECK(w.reg().valid_until == day("2032-03-25"));
        CHECK_FALSE(w.reg().validity_expired);
    }
    SUBCASE("refused: deregistered then") {
        const auto refused = w.ok(reject_application{application_id("ren-1"), "材料不全"}, sy,
                                  at("2029-03-26T09:00:00+08:00"));
        CHECK(names(refused) == strings{"ApplicationRejected", "RegistrationDeregistered"});
        CHECK(w.reg().status == registration_status::deregistered);
    }
    SUBCASE("withdrawn: deregistered then") {
        const auto withdrawn =
            w.ok(withdraw_application{application_id("ren-1")}, subject("acct-a"), at("2029-03-26T09:00:00+08:00"));
        CHECK(names(withdrawn) == strings{"ApplicationWithdrawn", "RegistrationDeregistered"});
        CHECK(nth_event<registration_deregistered>(withdrawn, 1).reason == deregistration_reason::expired);
    }
}

TEST_CASE("第23条: a municipal revocation is announced and filed with the province") {
    auto w = valid_world();
    const auto es = w.ok(revoke_registration{registration_id("reg-1"), revocation_grounds::false_materials,
                                             "经核实，该登记提供虚假材料，予以撤销。"},
                         clerk("LN-SY"), at("2026-06-01T09:00:00+08:00"));
    CHECK(names(es) == strings{"RegistrationRevoked", "RevocationFiled"});
    CHECK(nth_event<revocation_filed>(es, 1).filed_with == institution_id("LN"));
    CHECK(w.reg().status == registration_status::revoked);
    CHECK(pending_timers(w.reg()).empty());
    SUBCASE("the provincial clerk annuls it: valid again") {
        const auto annulled = w.ok(annul_revocation{registration_id("reg-1"), "撤销依据不足"}, clerk("LN"),
                                   at("2026-06-10T09:00:00+08:00"));
        CHECK(nth_event<revocation_annulled>(annulled, 0).restored_status == registration_status::valid);
        CHECK(w.reg().status == registration_status::valid);
        CHECK(pending_timers(w.reg()).size() == 2);
    }
    SUBCASE("the municipal clerk may not annul it") {
        w.refused(annul_revocation{registration_id("reg-1"), "x"}, clerk("LN-SY"), at("2026-06-10T09:00:00+08:00"),
                  errc::forbidden);
    }
    SUBCASE("annulled after the validity ended: deregistered") {
        const auto annulled = w.ok(annul_revocation{registration_id("reg-1"), "撤销依据不足"}, clerk("LN"),
                                   at("2029-04-01T09:00:00+08:00"));
        CHECK(nth_event<revocation_annulled>(annulled, 0).restored_status == registration_status::deregistered);
        CHECK(w.reg().status == registration_status::deregistered);
        CHECK(pending_timers(w.reg()).empty());
    }
    SUBCASE("a revoked registration cannot be revoked again or changed") {
        w.refused(revoke_registration{registration_id("reg-1"), revocation_grounds::other, "再次"}, clerk("LN-SY"),
                  at("2026-06-02T09:00:00+08:00"), errc::invalid_state);
        w.refused(later_application("chg-1", application_kind::change), subject("acct-a"),
                  at("2026-06-02T09:00:00+08:00"), errc::invalid_state);
    }
}

TEST_CASE("第23条: a provincial revocation is not filed and cannot be annulled") {
    world w;
    const auto ln = clerk("LN");
    auto c = initial_application("app-1", "LN");
    w.ok(c, subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
    w.ok(accept_application{application_id("app-1")}, ln, at("2026-03-03T09:00:00+08:00"));
    w.ok(pass_review{application_id("app-1")}, ln, at("2026-03-10T09:00:00+08:00"));
    w.advance_to(at("2026-03-25T00:00:00+08:00"));
    CHECK(w.reg().code->substr(0, 6) == "210000");
    const auto es = w.ok(revoke_registration{registration_id("reg-1"), revocation_grounds::tampering, "篡改登记结果"},
                         ln, at("2026-04-01T09:00:00+08:00"));
    CHECK(names(es) == strings{"RegistrationRevoked"});
    w.refused(annul_revocation{registration_id("reg-1"), "x"}, ln, at("2026-04-02T09:00:00+08:00"),
              errc::invalid_state);
}

TEST_CASE("第23条: revocation waits until the open application is settled [decision]") {
    auto w = valid_world();
    w.ok(later_application("chg-1", application_kind::change), subject("acct-a"), at("2026-05-06T09:00:00+08:00"));
    w.refused(revoke_registration{registration_id("reg-1"), revocation_grounds::other, "公告"}, clerk("LN-SY"),
              at("2026-05-07T09:00:00+08:00"), errc::conflict);
}

TEST_CASE("第10条: any applicant of a joint application may act on it, others may not") {
    world w;
    auto c = initial_application();
    c.applicants = joint_ab();
    w.ok(c, subject("acct-b"), at("2026-03-02T09:00:00+08:00"));
    w.ok(request_supplement{application_id("app-1"), {"盖章页"}, ""}, clerk("LN-SY"), at("2026-03-03T09:00:00+08:00"));
    w.ok(resubmit_materials{application_id("app-1"), std::nullopt, materials()}, subject("acct-a"),
         at("2026-03-04T09:00:00+08:00"));
    w.open_verified_account("acct-c", "91110000802100433B");
    SUBCASE("a subject not among the applicants is forbidden") {
        world other;
        other.ok(initial_application(), subject("acct-a"), at("2026-03-02T09:00:00+08:00"));
        other.refused(withdraw_application{application_id("app-1")}, subject("acct-b"), at("2026-03-02T10:00:00+08:00"),
                      errc::forbidden);
    }
}

TEST_CASE("第12条: a subject submits only with an opened and verified account") {
    world w;
    SUBCASE("no account") {
        w.refused(initial_application(), subject("acct-nobody"), at("2026-03-02T09:00:00+08:00"), errc::forbidden);
    }
    SUBCASE("not verified") {
        w.account("acct-a").verified = false;
        w.refused(initial_application(), subject("acct-a"), at("2026-03-02T09:00:00+08:00"), errc::forbidden);
    }
    SUBCASE("a subject not among the applicants it submits") {
        auto c = initial_application();
        c.applicants = {{"北京数据运营公司", std::string(uscc_b), applicant_role::lead}};
        w.refused(c, subject("acct-a"), at("2026-03-02T09:00:00+08:00"), errc::forbidden);
    }
}

TEST_CASE("第12条: opening and verifying an account") {
    const auto dirs = sample_institutions();
    const auto& rules = rules::rule_set::ln_2025();
    decide_context ctx;
    ctx.now = at("2026-03-02T09:00:00+08:00");
    ctx.rules = &rules;
    ctx.institutions = &dirs;
    ctx.issuer = anyone();
    account_state s;
    const open_account open{account_id("acct-x"), "沈阳市水务集团", std::string(uscc_a), subject_type::public_utility,
                            "210100"};
    auto opened = decide(s, open, ctx);
    REQUIRE(opened.has_value());
    for (const auto& e : opened.value()) s = evolve(std::move(s), e);
    CHECK(s.exists());
    CHECK_FALSE(s.verified);
    CHECK(decide(s, open, ctx).error().code == errc::conflict);
    ctx.issuer = subject("acct-x");
    CHECK(decide(s, verify_account{account_id("acct-x")}, ctx).error().code == errc::forbidden);
    ctx.issuer = clerk("LN-SY");
    auto verified = decide(s, verify_account{account_id("acct-x")}, ctx);
    REQUIRE(verified.has_value());
    CHECK(std::get<account_verified>(verified.value()[0]).verified_by == institution_id("LN-SY"));
    for (const auto& e : verified.value()) s = evolve(std::move(s), e);
    CHECK(s.verified);
    CHECK(decide(s, verify_account{account_id("acct-x")}, ctx).error().code == errc::invalid_state);
    CHECK(decide(account_state{}, verify_account{account_id("acct-y")}, ctx).error().code == errc::not_found);
}

TEST_CASE("Later applications go to the institution that holds the registration, from its holders") {
    auto w = valid_world();
    auto c = later_application("chg-1", application_kind::change);
    c.institution_id = institution_id("LN-DL");
    CHECK(w.refused(c, subject("acct-a"), at("2026-05-06T09:00:00+08:00"), errc::validation).field == "/institution_id");
    auto other = later_application("chg-2", application_kind::change);
    other.applicants = {{"北京数据运营公司", std::string(uscc_b), applicant_role::lead}};
    w.refused(other, subject("acct-b"), at("2026-05-06T09:00:00+08:00"), errc::forbidden);
    world fresh;
    fresh.refused(later_application("chg-1", application_kind::change), subject("acct-a"),
                  at("2026-05-06T09:00:00+08:00"), errc::not_found);
}

TEST_CASE("Timeout commands do nothing once no longer relevant, and nothing twice") {
    auto w = valid_world();
    const auto until = *w.reg().valid_until;
    const expire_validity early{registration_id("reg-1"), until};
    SUBCASE("before the deadline") {
        CHECK(w.ok(early, scheduler(), at("2029-03-25T23:59:59+08:00")).empty());
    }
    SUBCASE("a stale deadline") {
        CHECK(w.ok(expire_validity{registration_id("reg-1"), day("2030-01-01")}, scheduler(),
                   at("2031-01-01T00:00:00+08:00"))
                  .empty());
    }
    SUBCASE("fired twice") {
        CHECK(w.ok(early, scheduler(), at("2029-03-26T00:00:00+08:00")).size() == 2);
        CHECK(w.ok(early, scheduler(), at("2029-03-26T00:00:01+08:00")).empty());
    }
    SUBCASE("acceptance and review timers of a settled application") {
        CHECK(w.ok(mark_acceptance_overdue{registration_id("reg-1"), application_id("app-1"), day("2026-03-05")},
                   scheduler(), at("2026-12-01T00:00:00+08:00"))
                  .empty());
        CHECK(w.ok(mark_review_overdue{registration_id("reg-1"), application_id("app-1"), day("2026-03-31")},
                   scheduler(), at("2026-12-01T00:00:00+08:00"))
                  .empty());
        CHECK(w.ok(end_publicity{registration_id("reg-1"), application_id("app-1"), day("2026-03-24")}, scheduler(),
                   at("2026-12-01T00:00:00+08:00"))
                  .empty());
    }
}

TEST_CASE("Deterministic: the same state, command and context give the same events") {
    auto w1 = valid_world();
    auto w2 = valid_world();
    CHECK(w1.history() == w2.history());
    const auto c = later_application("ren-1", application_kind::renewal);
    CHECK(w1.try_command(c, subject("acct-a"), at("2029-02-01T09:00:00+08:00")).value() ==
          w2.try_command(c, subject("acct-a"), at("2029-02-01T09:00:00+08:00")).value());
}

TEST_CASE("Timer command ids are deterministic and distinct from client ids") {
    const auto s = registration_stream(registration_id("reg-1"));
    const auto due = at("2026-10-11T00:00:00+08:00");
    CHECK(timer_command_id(s, timer_kind::acceptance, due) == timer_command_id(s, timer_kind::acceptance, due));
    CHECK(timer_command_id(s, timer_kind::acceptance, due) != timer_command_id(s, timer_kind::review, due));
    CHECK(timer_command_id(s, timer_kind::acceptance, due).value() ==
          fmt::format("timer:reg-reg-1:acceptance:{}", due.unix_us()));
}
