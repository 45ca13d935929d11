// `regledger demo` against a real regledgerd child: the whole walk runs to
// completion, again on the same data, and the server then stops cleanly
// with a log that verifies.
#include <doctest/doctest.h>

#include "tests/cli/cli_harness.h"

namespace regledger::cli_test {
namespace {

bool contains(const std::string& text, std::string_view what) { return text.find(what) != std::string::npos; }

TEST_CASE("regledger demo: one registration's whole life, twice on the same data, then the server stops with exit 0") {
    server_process server;
    const auto first = run_cli({"demo", "--server", server.url()});
    INFO("stdout:\n" << first.out << "\nstderr:\n" << first.err);
    REQUIRE(first.exit_code == 0);
    CHECK(first.err.empty());
    // The steps, by article, with their events and the facts they carry.
    for (const std::string_view expected :
         {"第12条 开立实名账户 / Open a real-name account", "AccountVerified", "第15条 首次登记申请(联合申请)",
          "applicants 沈阳市公共交通集团有限公司 (lead) + 辽宁数据运营有限公司 (joint)", "acceptance_due 2026-10-08",
          "SupplementRequested", "MaterialsResubmitted", "acceptance_due 2026-10-09", "第16条 受理 / Accept the application",
          "review_due 2026-11-02", "publicity_end 2026-10-19", "ObjectionFiled", "ObjectionDismissed", "PublicityEnded",
          "CodeIssued", "valid_from 2026-10-20", "valid_until 2029-10-20", "renewal_window_opens 2029-08-21",
          "RegistrationChanged", "record_version 2", "RenewalWindowOpened", "RenewalGranted", "valid_until 2032-10-20",
          "RegistrationRevoked", "RevocationFiled", "filed_with LN", "RevocationAnnulled", "restored_status valid",
          "status pending, open application", "each prev_hash equal to the hash before it", "演示完成 / demo complete"}) {
        CHECK_MESSAGE(contains(first.out, expected), expected);
    }
    // The code of the local scheme: region 210100, year 2026, a resource.
    CHECK(contains(first.out, "code 21010020261000000"));

    // Again, on the same data and from where the clock now stands: fresh ids.
    const auto second = run_cli({"demo", "--server", server.url()});
    INFO("second stdout:\n" << second.out << "\nstderr:\n" << second.err);
    CHECK(second.exit_code == 0);
    CHECK(contains(second.out, "opened in an earlier run"));
    CHECK(contains(second.out, "RevocationAnnulled"));

    REQUIRE(server.terminate() == 0);
    CHECK(contains(server.output(), "regledgerd: stopped"));
    std::vector<std::string> verify_args{"verify"};
    for (auto& a : server.store_args()) verify_args.push_back(std::move(a));
    const auto verify = run_cli(verify_args);
    CHECK_MESSAGE(verify.exit_code == 0, verify.out << verify.err);
}

TEST_CASE("regledger demo: refuses a server on the system clock (exit 1) and changes nothing") {
    server_process server(server_options{.manual_clock = false});
    const auto r = run_cli({"demo", "--server", server.url()});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(contains(r.err, "--clock manual"), r.err);
    const auto tail = run_cli({"tail", "--token", "t-auditor", "--server", server.url()});
    CHECK(tail.exit_code == 0);
    CHECK(tail.out.empty());
}

TEST_CASE("regledger demo: a step the server refuses stops the demo with exit 1") {
    server_process server;
    // Someone else opened acct-a with subject B's credit code: the demo's
    // joint application then names the same subject twice and is refused.
    const auto opened = run_cli({"submit", "-", "--server", server.url()},
                                R"({"command_id": "c-open", "type": "OpenAccount", "account_id": "acct-a",
                                    "name": "另一主体", "uscc": "91110000802100433B",
                                    "subject_type": "other", "region_code": "210100"})");
    REQUIRE(opened.exit_code == 0);
    const auto r = run_cli({"demo", "--server", server.url()});
    INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "was refused"));
    CHECK_FALSE(contains(r.out, "演示完成"));
}

}  // namespace
}  // namespace regledger::cli_test
