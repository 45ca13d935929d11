// The client subcommands against a real regledgerd child process: what they
// print and the exit code of every outcome (0 ok, 1 rejected, 2 usage,
// 3 unavailable).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/cli/cli_harness.h"

namespace regledger::cli_test {
namespace {

namespace bj = boost::json;

constexpr std::string_view uscc_a = "91350100M000100Y43";
constexpr std::string_view uscc_b = "91110000802100433B";

bj::object parse_object(const std::string& text) {
    boost::system::error_code ec;
    auto v = bj::parse(text, ec);
    REQUIRE_MESSAGE(!ec, "not JSON: " << text);
    REQUIRE(v.is_object());
    return std::move(v.get_object());
}

std::string open_account(std::string_view command_id, std::string_view account, std::string_view uscc) {
    return fmt::format(R"({{"command_id": "{}", "type": "OpenAccount", "account_id": "{}", "name": "测试主体 {}",
                          "uscc": "{}", "subject_type": "public_utility", "region_code": "210100"}})",
                       command_id, account, account, uscc);
}

std::string initial_application(std::string_view command_id, std::string_view application, std::string_view registration) {
    return fmt::format(R"({{"command_id": "{}", "type": "SubmitApplication", "application_id": "{}", "kind": "initial",
        "registration_id": "{}", "institution_id": "LN-SY",
        "applicants": [{{"name": "测试主体 acct-a", "uscc": "{}", "role": "lead"}}],
        "record": {{"object_type": "resource", "data_name": "沈阳市公交线路数据", "summary": "线路与站点",
                   "industry_codes": ["54"], "coverage_regions": ["210100"]}},
        "materials": [{{"name": "申请表.pdf", "sha256": "{}"}}]}})",
                       command_id, application, registration, uscc_a, std::string(64, 'a'));
}

// The server, with subject A's account opened and verified and one initial
// application submitted (registration "reg-1", application "app-1").
struct seeded_server {
    server_process server;
    temp_dir files;

    seeded_server() {
        submit(open_account("c-open-a", "acct-a", uscc_a), {});
        submit(R"({"command_id": "c-verify-a", "type": "VerifyAccount", "account_id": "acct-a"})", "t-clerk-sy");
        submit(initial_application("c-submit-1", "app-1", "reg-1"), "t-subject-a");
    }

    cli_result submit(std::string_view body, std::string_view token) {
        std::vector<std::string> args{"submit", "-", "--server", server.url()};
        if (!token.empty()) args.insert(args.end(), {"--token", std::string(token)});
        auto r = run_cli(args, body);
        REQUIRE_MESSAGE(r.exit_code == 0, r.err);
        return r;
    }

    cli_result cli(std::vector<std::string> args) {
        args.insert(args.end(), {"--server", server.url()});
        return run_cli(args);
    }
};

TEST_CASE("regledger submit: an applied command prints the outcome with its events and exits 0") {
    server_process server;
    temp_dir files;
    const auto file = files.path() / "open.json";
    write_file(file, open_account("c-1", "acct-a", uscc_a));

    const auto first = run_cli({"submit", file.string(), "--server", server.url()});
    REQUIRE_MESSAGE(first.exit_code == 0, first.err);
    const auto answer = parse_object(first.out);
    CHECK(answer.at("stream").as_string() == "acct-acct-a");
    CHECK(answer.at("version").as_int64() == 1);
    CHECK(answer.at("events").as_array().at(0).as_object().at("type").as_string() == "AccountOpened");
    CHECK_MESSAGE(first.out.find("\n  \"stream\"") != std::string::npos, "indented by default: " << first.out);

    SUBCASE("the same command id again answers the first outcome") {
        const auto again = run_cli({"submit", file.string(), "--server", server.url()});
        CHECK(again.exit_code == 0);
        CHECK(again.out == first.out);
    }
    SUBCASE("--json prints one line") {
        const auto compact = run_cli({"submit", file.string(), "--json", "--server", server.url()});
        CHECK(compact.exit_code == 0);
        CHECK(lines_of(compact.out).size() == 1);
        CHECK(parse_object(compact.out) == answer);
    }
    SUBCASE("--command-id sets the id: another command, refused because the account is open") {
        const auto other = run_cli({"submit", file.string(), "--command-id", "c-2", "--server", server.url()});
        CHECK(other.exit_code == 1);
        CHECK(other.out.empty());
        CHECK_MESSAGE(other.err.find("regledger submit: ") == 0, other.err);
    }
}

TEST_CASE("regledger submit: a rejection exits 1 with its code and message on standard error") {
    seeded_server s;
    SUBCASE("VALIDATION names the field") {
        const auto r = run_cli({"submit", "-", "--server", s.server.url()},
                               open_account("c-bad", "acct-x", "91350100M000100Y44"));
        CHECK(r.exit_code == 1);
        CHECK_MESSAGE(r.err.find("VALIDATION: ") != std::string::npos, r.err);
        CHECK_MESSAGE(r.err.find("(field /uscc)") != std::string::npos, r.err);
    }
    SUBCASE("FORBIDDEN: a subject may not verify an account") {
        const auto r = run_cli({"submit", "-", "--token", "t-subject-a", "--server", s.server.url()},
                               R"({"command_id": "c-v", "type": "VerifyAccount", "account_id": "acct-a"})");
        CHECK(r.exit_code == 1);
        CHECK_MESSAGE(r.err.find("FORBIDDEN: ") != std::string::npos, r.err);
    }
    SUBCASE("UNAUTHENTICATED: a clerk's command without a token, with a hint") {
        const auto r = run_cli({"submit", "-", "--server", s.server.url()},
                               R"({"command_id": "c-acc", "type": "AcceptApplication", "application_id": "app-1"})");
        CHECK(r.exit_code == 1);
        CHECK_MESSAGE(r.err.find("UNAUTHENTICATED: ") != std::string::npos, r.err);
        CHECK_MESSAGE(r.err.find("REGLEDGER_TOKEN") != std::string::npos, r.err);
    }
    SUBCASE("MALFORMED: an unknown command type") {
        const auto r = run_cli({"submit", "-", "--server", s.server.url()}, R"({"command_id": "c-u", "type": "Frobnicate"})");
        CHECK(r.exit_code == 1);
        CHECK_MESSAGE(r.err.find("MALFORMED: ") != std::string::npos, r.err);
    }
    SUBCASE("CONFLICT: the expected version does not match") {
        const auto r = run_cli({"submit", "-", "--token", "t-clerk-sy", "--expected-version", "7", "--server", s.server.url()},
                               R"({"command_id": "c-acc", "type": "AcceptApplication", "application_id": "app-1"})");
        CHECK(r.exit_code == 1);
        CHECK_MESSAGE(r.err.find("CONFLICT: ") != std::string::npos, r.err);
    }
}

TEST_CASE("regledger submit: a bad invocation is a usage error (exit 2) and sends nothing") {
    server_process server;
    temp_dir files;
    auto submit = [&](std::vector<std::string> args, std::string_view in = {}) {
        args.insert(args.begin(), "submit");
        args.insert(args.end(), {"--server", server.url()});
        return run_cli(args, in);
    };
    CHECK(submit({}).exit_code == 2);
    CHECK(submit({"a.json", "b.json"}).exit_code == 2);
    const auto missing = submit({(files.path() / "missing.json").string()});
    CHECK(missing.exit_code == 2);
    CHECK_MESSAGE(missing.err.find("cannot read") != std::string::npos, missing.err);
    const auto not_json = submit({"-"}, "{\"command_id\": ");
    CHECK(not_json.exit_code == 2);
    CHECK_MESSAGE(not_json.err.find("not JSON") != std::string::npos, not_json.err);
    CHECK(submit({"-"}, "[1, 2]").exit_code == 2);
    const auto no_id = submit({"-"}, R"({"type": "OpenAccount"})");
    CHECK(no_id.exit_code == 2);
    CHECK_MESSAGE(no_id.err.find("command_id") != std::string::npos, no_id.err);
    CHECK(submit({"-", "--expected-version", "seven"}, R"({"command_id": "x", "type": "OpenAccount"})").exit_code == 2);
    // Nothing reached the log: an auditor sees no event.
    const auto tail = run_cli({"tail", "--token", "t-auditor", "--server", server.url()});
    CHECK(tail.exit_code == 0);
    CHECK(tail.out.empty());
}

TEST_CASE("regledger get and history: the registration, as it stands and as it stood") {
    seeded_server s;
    const auto got = s.cli({"get", "reg-1", "--token", "t-subject-a"});
    REQUIRE_MESSAGE(got.exit_code == 0, got.err);
    const auto doc = parse_object(got.out);
    CHECK(doc.at("id").as_string() == "reg-1");
    CHECK(doc.at("status").as_string() == "pending");
    CHECK(doc.at("open_application").as_object().at("id").as_string() == "app-1");

    SUBCASE("--as-of an instant before it existed: NOT_FOUND, exit 1") {
        const auto before = s.cli({"get", "reg-1", "--as-of", "2026-01-01T00:00:00+08:00", "--token", "t-auditor"});
        CHECK(before.exit_code == 1);
        CHECK_MESSAGE(before.err.find("NOT_FOUND") != std::string::npos, before.err);
    }
    SUBCASE("--as-of an instant after its submission: the document then, with as_of") {
        const auto after = s.cli({"get", "reg-1", "--as-of", "2026-09-28T10:00:00+08:00", "--token", "t-auditor"});
        REQUIRE_MESSAGE(after.exit_code == 0, after.err);
        CHECK(parse_object(after.out).at("as_of").as_string() == "2026-09-28T10:00:00+08:00");
    }
    SUBCASE("--as-of that is not an instant: MALFORMED, exit 1") {
        CHECK(s.cli({"get", "reg-1", "--as-of", "yesterday", "--token", "t-auditor"}).exit_code == 1);
    }
    SUBCASE("an unknown registration: exit 1") {
        const auto r = s.cli({"get", "reg-none", "--token", "t-auditor"});
        CHECK(r.exit_code == 1);
        CHECK_MESSAGE(r.err.find("NOT_FOUND: ") != std::string::npos, r.err);
    }
    SUBCASE("another subject may not read it: exit 1") {
        CHECK(s.cli({"get", "reg-1", "--token", "t-subject-b"}).exit_code == 1);
    }
    SUBCASE("no token: exit 1") { CHECK(s.cli({"get", "reg-1"}).exit_code == 1); }
    SUBCASE("no id or two ids: exit 2") {
        CHECK(s.cli({"get", "--token", "t-auditor"}).exit_code == 2);
        CHECK(s.cli({"get", "a", "b", "--token", "t-auditor"}).exit_code == 2);
    }
    SUBCASE("history: the events with their hash chain") {
        const auto h = s.cli({"history", "reg-1", "--token", "t-auditor"});
        REQUIRE_MESSAGE(h.exit_code == 0, h.err);
        const auto events = parse_object(h.out).at("events").as_array();
        REQUIRE(events.size() == 1);
        CHECK(events[0].as_object().at("type").as_string() == "ApplicationSubmitted");
        CHECK(events[0].as_object().at("hash").as_string().size() == 64);
        CHECK(s.cli({"history", "reg-none", "--token", "t-auditor"}).exit_code == 1);
    }
    SUBCASE("REGLEDGER_SERVER and REGLEDGER_TOKEN stand in for the flags") {
        const auto r = run_cli({"get", "reg-1"}, {}, {"REGLEDGER_SERVER=" + s.server.url(), "REGLEDGER_TOKEN=t-auditor"});
        CHECK_MESSAGE(r.exit_code == 0, r.err);
        CHECK(parse_object(r.out).at("id").as_string() == "reg-1");
        // A flag wins over the environment.
        const auto flag = run_cli({"get", "reg-1", "--token", "t-subject-b"}, {},
                                  {"REGLEDGER_SERVER=" + s.server.url(), "REGLEDGER_TOKEN=t-auditor"});
        CHECK(flag.exit_code == 1);
    }
}

TEST_CASE("regledger list and stats: filters pass through, refusals exit 1") {
    seeded_server s;
    s.submit(initial_application("c-submit-2", "app-2", "reg-2"), "t-subject-a");

    const auto all = s.cli({"list", "--token", "t-clerk-sy"});
    REQUIRE_MESSAGE(all.exit_code == 0, all.err);
    CHECK(parse_object(all.out).at("items").as_array().size() == 2);

    const auto page = s.cli({"list", "--limit", "1", "--status", "pending", "--token", "t-auditor", "--json"});
    REQUIRE_MESSAGE(page.exit_code == 0, page.err);
    const auto first = parse_object(page.out);
    CHECK(first.at("items").as_array().size() == 1);
    REQUIRE(first.at("next_cursor").is_string());
    const auto second = s.cli({"list", "--limit", "1", "--status", "pending", "--cursor",
                               std::string(first.at("next_cursor").as_string()), "--token", "t-auditor"});
    REQUIRE_MESSAGE(second.exit_code == 0, second.err);
    CHECK(parse_object(second.out).at("items").as_array().size() == 1);
    CHECK(parse_object(second.out).at("items") != first.at("items"));

    const auto none = s.cli({"list", "--status", "valid", "--industry", "54", "--token", "t-auditor"});
    REQUIRE(none.exit_code == 0);
    CHECK(parse_object(none.out).at("items").as_array().empty());

    CHECK(s.cli({"list", "--status", "bogus", "--token", "t-auditor"}).exit_code == 1);
    CHECK(s.cli({"list", "--token", "t-subject-a"}).exit_code == 1);
    CHECK(s.cli({"list", "--institution", "LN-DL", "--token", "t-clerk-sy"}).exit_code == 1);
    CHECK(s.cli({"list", "extra", "--token", "t-auditor"}).exit_code == 2);

    const auto stats = s.cli({"stats", "--institution", "LN-SY", "--from", "2026-01-01", "--to", "2026-12-31",
                              "--token", "t-supervisor"});
    REQUIRE_MESSAGE(stats.exit_code == 0, stats.err);
    const auto report = parse_object(stats.out);
    CHECK(report.at("from").as_string() == "2026-01-01");
    REQUIRE(report.at("reports").as_array().size() == 1);
    CHECK(report.at("reports").as_array()[0].as_object().at("institution_id").as_string() == "LN-SY");
    CHECK(s.cli({"stats", "--from", "2026-13-01", "--token", "t-supervisor"}).exit_code == 1);
    CHECK(s.cli({"stats", "--token", "t-subject-a"}).exit_code == 1);
    CHECK(s.cli({"stats", "--institution", "LN-DL", "--token", "t-clerk-sy"}).exit_code == 1);
}

TEST_CASE("regledger tail: events in log order as JSON lines, from a position") {
    seeded_server s;
    const auto all = s.cli({"tail", "--token", "t-auditor"});
    REQUIRE_MESSAGE(all.exit_code == 0, all.err);
    const auto lines = lines_of(all.out);
    REQUIRE(lines.size() == 3);
    const char* types[] = {"AccountOpened", "AccountVerified", "ApplicationSubmitted"};
    std::vector<std::int64_t> offsets;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto e = parse_object(lines[i]);
        CHECK(e.at("type").as_string() == types[i]);
        offsets.push_back(e.at("position").as_object().at("offset").as_int64());
        // In log order; on Kafka a commit marker sits after each command's events.
        if (i > 0) CHECK(offsets[i] > offsets[i - 1]);
    }
    CHECK(offsets.front() == 0);
    SUBCASE("--after names the last position seen") {
        const auto r = s.cli({"tail", "--after", "0:" + std::to_string(offsets[1]), "--token", "t-auditor"});
        REQUIRE(r.exit_code == 0);
        REQUIRE(lines_of(r.out).size() == 1);
        CHECK(parse_object(lines_of(r.out)[0]).at("type").as_string() == "ApplicationSubmitted");
    }
    SUBCASE("--limit stops after that many") {
        const auto r = s.cli({"tail", "--limit", "2", "--token", "t-auditor"});
        REQUIRE(r.exit_code == 0);
        CHECK(lines_of(r.out).size() == 2);
    }
    SUBCASE("--after end prints nothing until something new is written") {
        const auto r = s.cli({"tail", "--after", "end", "--token", "t-auditor"});
        CHECK(r.exit_code == 0);
        CHECK(r.out.empty());
    }
    SUBCASE("only auditors read the log: exit 1") { CHECK(s.cli({"tail", "--token", "t-clerk-sy"}).exit_code == 1); }
    SUBCASE("a bad position or limit: exit 2") {
        CHECK(s.cli({"tail", "--after", "12", "--token", "t-auditor"}).exit_code == 2);
        CHECK(s.cli({"tail", "--after", "0:-2", "--token", "t-auditor"}).exit_code == 2);
        CHECK(s.cli({"tail", "--limit", "0", "--token", "t-auditor"}).exit_code == 2);
    }
}

TEST_CASE("regledger tail --brokers: the topic read directly prints what the server prints") {
    seeded_server s;
    if (s.server.kafka_args().empty()) {
        // On the embedded log there is no topic: a cluster that does not
        // answer is exit 3, naming it.
        const std::string dead = "127.0.0.1:" + std::to_string(closed_port());
        const auto r = run_cli({"tail", "--brokers", dead});
        CHECK(r.exit_code == 3);
        CHECK_MESSAGE(r.err.find(dead) != std::string::npos, r.err);
        CHECK(r.out.empty());
        return;
    }
    const auto via_server = s.cli({"tail", "--token", "t-auditor"});
    REQUIRE(via_server.exit_code == 0);
    std::vector<std::string> args{"tail"};
    args.insert(args.end(), s.server.kafka_args().begin(), s.server.kafka_args().end());
    const auto direct = run_cli(args);
    INFO(direct.err);
    REQUIRE(direct.exit_code == 0);
    CHECK(lines_of(direct.out).size() == 3);
    CHECK(direct.out == via_server.out);
    // From a position, and a limit, as through the server.
    const auto first = parse_object(lines_of(direct.out)[0]).at("position").as_object().at("offset").as_int64();
    auto rest = args;
    rest.insert(rest.end(), {"--after", "0:" + std::to_string(first), "--limit", "1"});
    const auto second = run_cli(rest);
    REQUIRE(second.exit_code == 0);
    REQUIRE(lines_of(second.out).size() == 1);
    CHECK(lines_of(second.out)[0] == lines_of(direct.out)[1]);
    // --brokers goes without --server and --token.
    auto both = args;
    both.insert(both.end(), {"--server", s.server.url()});
    CHECK(run_cli(both).exit_code == 2);
}

TEST_CASE("regledger tail --follow: prints new events as they are written, until interrupted") {
    seeded_server s;
    // From the last event written so far.
    const auto seeded = s.cli({"tail", "--token", "t-auditor"});
    REQUIRE(seeded.exit_code == 0);
    REQUIRE_FALSE(lines_of(seeded.out).empty());
    const auto last = parse_object(lines_of(seeded.out).back()).at("position").as_object().at("offset").as_int64();
    const auto out_path = s.files.path() / "follow.out";
    const int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const pid_t tail = spawn({REGLEDGER_PATH, "tail", "--follow", "--after", "0:" + std::to_string(last), "--poll-ms",
                              "20", "--token",
                              "t-auditor", "--server", s.server.url()},
                             child_environment({}), -1, out_fd, -1);
    close(out_fd);
    auto lines_written = [&](std::size_t n) {
        for (int i = 0; i < 500; ++i) {
            if (lines_of(read_file(out_path)).size() >= n) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    };
    // Still running with nothing to print yet.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(read_file(out_path).empty());
    CHECK(waitpid(tail, nullptr, WNOHANG) == 0);

    s.submit(R"({"command_id": "c-sup", "type": "RequestSupplement", "application_id": "app-1",
                 "items": ["数据字典"], "note": "一次性告知"})",
             "t-clerk-sy");
    REQUIRE(lines_written(1));
    s.submit(open_account("c-open-b", "acct-b", uscc_b), {});
    REQUIRE(lines_written(2));
    const auto lines = lines_of(read_file(out_path));
    CHECK(parse_object(lines[0]).at("type").as_string() == "SupplementRequested");
    CHECK(parse_object(lines[1]).at("type").as_string() == "AccountOpened");

    kill(tail, SIGINT);
    CHECK(wait_exit(tail) == 0);
}

TEST_CASE("the client subcommands exit 3 when the server is down, with a message naming it") {
    const std::string url = "http://127.0.0.1:" + std::to_string(closed_port());
    for (const auto& args : std::vector<std::vector<std::string>>{{"get", "reg-1"},
                                                                  {"history", "reg-1"},
                                                                  {"list"},
                                                                  {"stats"},
                                                                  {"tail"},
                                                                  {"tail", "--follow"},
                                                                  {"demo"}}) {
        auto with = args;
        with.insert(with.end(), {"--server", url});
        if (args[0] != "demo") with.insert(with.end(), {"--token", "t-auditor"});
        const auto r = run_cli(with);
        CAPTURE(args[0]);
        CHECK(r.exit_code == 3);
        CHECK_MESSAGE(r.err.find("cannot connect to " + url) != std::string::npos, r.err);
    }
    const auto submit = run_cli({"submit", "-", "--server", url}, R"({"command_id": "c", "type": "OpenAccount"})");
    CHECK(submit.exit_code == 3);

    SUBCASE("and after the server stopped") {
        server_process server;
        CHECK(run_cli({"get", "reg-1", "--token", "t-auditor", "--server", server.url()}).exit_code == 1);
        REQUIRE(server.terminate() == 0);
        CHECK(run_cli({"get", "reg-1", "--token", "t-auditor", "--server", server.url()}).exit_code == 3);
    }
}

TEST_CASE("usage errors exit 2, and --help exits 0 naming the flags") {
    CHECK(run_cli({}).exit_code == 2);
    CHECK(run_cli({"frobnicate"}).exit_code == 2);
    CHECK(run_cli({"get", "reg-1", "--bogus"}).exit_code == 2);
    CHECK(run_cli({"get", "reg-1", "--token"}).exit_code == 2);
    const auto https = run_cli({"get", "reg-1", "--server", "https://127.0.0.1:8443"});
    CHECK(https.exit_code == 2);
    CHECK_MESSAGE(https.err.find("only http://") != std::string::npos, https.err);
    CHECK(run_cli({"get", "reg-1", "--server", "http://127.0.0.1:99999"}).exit_code == 2);
    CHECK(run_cli({"get", "reg-1", "--timeout-s", "0"}).exit_code == 2);
    CHECK(run_cli({"get", "reg-1"}, {}, {"REGLEDGER_SERVER=ftp://x"}).exit_code == 2);

    const auto overview = run_cli({"--help"});
    CHECK(overview.exit_code == 0);
    for (const char* name : {"submit", "get", "history", "list", "stats", "tail", "demo"}) {
        CHECK_MESSAGE(overview.out.find(fmt::format("  {} ", name)) != std::string::npos, name);
    }
    const auto help = run_cli({"tail", "--help"});
    CHECK(help.exit_code == 0);
    for (const char* flag : {"--after", "--follow", "--limit", "--server", "--token"}) {
        CHECK_MESSAGE(help.out.find(flag) != std::string::npos, flag);
    }
}

}  // namespace
}  // namespace regledger::cli_test
