// regledgerd as a child process for the API tests that need the real
// program: graceful shutdown (SIGTERM) and crashes (SIGKILL). It runs on the
// log of the suite's run (daemon_log_args()).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstring>
#include <map>
#include <regex>

#include "tests/api/server_fixture.h"

extern char** environ;

namespace regledger::api_testing {

// regledgerd as a child process, its standard output on a pipe.
class daemon_process {
public:
    // expect_listening: wait for the line that says where it listens (else
    // the caller expects it to refuse to start, and waits for its exit).
    daemon_process(const std::filesystem::path& data_dir, const std::filesystem::path& log_file,
                   const std::vector<std::string>& log_args, bool expect_listening = true) {
        std::vector<std::string> args{REGLEDGER_DAEMON,
                                            "--config",
                                            sample_config_path().string(),
                                            "--listen",
                                            "127.0.0.1:0",
                                            "--data-dir",
                                            data_dir.string(),
                                            "--clock",
                                            "manual",
                                            "--now",
                                            "2026-03-02T09:00:00+08:00"};
        args.insert(args.end(), log_args.begin(), log_args.end());
        int out[2];
        REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                         0644);
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t none;
        sigemptyset(&none);
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGTERM);
        sigaddset(&defaults, SIGINT);
        sigaddset(&defaults, SIGPIPE);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        const int rc = ::posix_spawn(&pid_, args[0].c_str(), &actions, &attr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        ::close(out[1]);
        stdout_ = out[0];
        REQUIRE_MESSAGE(rc == 0, "cannot start ", args[0], ": ", std::strerror(rc));
        if (!expect_listening) return;

        const auto line = read_line(exchange_timeout_ms);
        REQUIRE_MESSAGE(line.has_value(), "regledgerd did not say where it listens; output: ", output_);
        std::smatch m;
        REQUIRE_MESSAGE(std::regex_search(*line, m, std::regex(R"(listening on 127\.0\.0\.1:([0-9]+))")),
                        "unexpected first line: ", *line);
        port_ = static_cast<unsigned short>(std::stoul(m[1]));
    }
    ~daemon_process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
        if (stdout_ >= 0) ::close(stdout_);
    }
    daemon_process(const daemon_process&) = delete;
    daemon_process& operator=(const daemon_process&) = delete;

    unsigned short port() const { return port_; }
    void terminate() { REQUIRE(::kill(pid_, SIGTERM) == 0); }
    // SIGKILL, and waits for it to be gone.
    void kill_now() {
        REQUIRE(::kill(pid_, SIGKILL) == 0);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

    // The exit status, or nullopt if it is still running at `limit`;
    // 128 + N when it died of signal N.
    std::optional<int> wait_exit(std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            int status = 0;
            const pid_t done = ::waitpid(pid_, &status, WNOHANG);
            if (done == pid_) {
                pid_ = -1;
                drain();
                if (WIFEXITED(status)) return WEXITSTATUS(status);
                return 128 + WTERMSIG(status);
            }
            if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
            // Poll the pipe meanwhile, so that a chatty child never blocks on it.
            read_some(10ms);
        }
    }
    const std::string& output() const { return output_; }

private:
    // Appends what the pipe holds within `limit`; false at the end of the stream.
    bool read_some(std::chrono::milliseconds limit) {
        pollfd p{stdout_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return true;
        char chunk[4096];
        const auto n = ::read(stdout_, chunk, sizeof chunk);
        if (n <= 0) return false;
        output_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }
    void drain() {
        while (read_some(0ms)) {
            pollfd p{stdout_, POLLIN, 0};
            if (::poll(&p, 1, 0) <= 0) break;
        }
    }
    std::optional<std::string> read_line(std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (output_.find('\n', consumed_) == std::string::npos) {
            if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
            if (!read_some(100ms)) return std::nullopt;
        }
        const auto nl = output_.find('\n', consumed_);
        std::string line = output_.substr(consumed_, nl - consumed_);
        consumed_ = nl + 1;
        return line;
    }

    pid_t pid_ = -1;
    int stdout_ = -1;
    std::string output_;
    std::size_t consumed_ = 0;
    unsigned short port_ = 0;
};

inline object open_account(std::string_view id) {
    return command("OpenAccount", id,
                   {{"account_id", fmt::format("acct-{}", id)},
                    {"name", "某单位"},
                    {"uscc", uscc_a},
                    {"subject_type", "other"},
                    {"region_code", "210100"}});
}

// Every command id in the log, read by the auditor page by page.
// How many times each command id appears.
inline std::map<std::string, int> logged_command_ids(unsigned short port) {
    std::map<std::string, int> ids;
    client c(port);
    std::string after;
    for (int pages = 0; pages < 10'000; ++pages) {
        const auto target = after.empty() ? std::string("/v1/events?limit=1000")
                                          : fmt::format("/v1/events?after={}&limit=1000", after);
        const auto page = c.get(target, tokens::auditor);
        REQUIRE(page.status == 200);
        const auto doc = page.obj();
        for (const auto& e : doc.at("events").as_array()) ++ids[std::string(e.at("command_id").as_string())];
        if (doc.at("events").as_array().empty()) break;
        after = std::string(doc.at("next").as_string());
    }
    return ids;
}

}  // namespace regledger::api_testing
