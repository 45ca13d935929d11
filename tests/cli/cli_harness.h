// What the CLI tests share: running the `regledger` program as a child
// process and capturing its output and exit code, and a regledgerd child on
// a free port with a temporary data directory, the sample configuration and
// a manual clock.
//
// The programs' paths come from compile definitions (tests/CMakeLists.txt):
// REGLEDGERD_PATH and REGLEDGER_PATH.
//
// The suite runs on both logs: with REGLEDGER_TEST_LOG=kafka (the second
// registration of the suite, label `kafka`) regledgerd writes to a topic of
// its own on REGLEDGER_KAFKA_BROKERS.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/kafka/kafka_env.h"

extern char** environ;

namespace regledger::cli_test {

namespace fs = std::filesystem;

inline constexpr std::string_view sample_config = REGLEDGER_SOURCE_DIR "/cmd/config/regledger.sample.json";
inline constexpr std::string_view start_instant = "2026-09-28T09:00:00+08:00";

// A directory removed with everything in it at the end of the scope.
class temp_dir {
public:
    temp_dir() {
        std::string pattern = (fs::temp_directory_path() / "regledger-cli-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

inline std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void write_file(const fs::path& p, std::string_view text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
}

// The environment of a child: ours without any REGLEDGER_* variable (so
// the developer's settings cannot leak into a test), plus `extra`.
inline std::vector<std::string> child_environment(const std::vector<std::string>& extra) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        if (std::string_view(*e).starts_with("REGLEDGER_")) continue;
        env.emplace_back(*e);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

// Forks and execs `argv` with stdin, stdout and stderr on the given
// descriptors (-1: /dev/null). Returns the child's pid.
inline pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, int in_fd, int out_fd,
                   int err_fd) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        const int null_fd = open("/dev/null", O_RDWR);
        dup2(in_fd >= 0 ? in_fd : null_fd, 0);
        dup2(out_fd >= 0 ? out_fd : null_fd, 1);
        dup2(err_fd >= 0 ? err_fd : null_fd, 2);
        execve(args[0], args.data(), envp.data());
        _exit(127);
    }
    return pid;
}

// The exit code of a child that exited, or 128 + the signal that ended it.
inline int wait_exit(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

struct cli_result {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Runs `regledger ARGS...` to completion.
inline cli_result run_cli(const std::vector<std::string>& args, std::string_view stdin_text = {},
                          const std::vector<std::string>& env = {}) {
    temp_dir io;
    const auto in_path = io.path() / "stdin";
    const auto out_path = io.path() / "stdout";
    const auto err_path = io.path() / "stderr";
    write_file(in_path, stdin_text);
    const int in_fd = open(in_path.c_str(), O_RDONLY);
    const int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> argv{REGLEDGER_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    const pid_t pid = spawn(argv, child_environment(env), in_fd, out_fd, err_fd);
    close(in_fd);
    close(out_fd);
    close(err_fd);
    cli_result r;
    r.exit_code = wait_exit(pid);
    r.out = read_file(out_path);
    r.err = read_file(err_path);
    return r;
}

// The lines of a text, without their '\n'.
inline std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        out.emplace_back(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return out;
}

struct server_options {
    bool manual_clock = true;
    std::string now = std::string(start_instant);
};

// regledgerd on 127.0.0.1, a port of its choosing, with a temporary data
// directory; killed (SIGKILL) at the end of the scope unless terminate() ran.
class server_process {
public:
    explicit server_process(server_options options = {}) {
        int out_pipe[2];
        if (pipe(out_pipe) != 0) throw std::runtime_error("pipe failed");
        stdout_fd_ = out_pipe[0];
        const auto err_path = data_.path() / "stderr.log";
        const int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        std::vector<std::string> argv{REGLEDGERD_PATH,
                                      "--config",
                                      std::string(sample_config),
                                      "--data-dir",
                                      (data_.path() / "data").string(),
                                      "--listen",
                                      "127.0.0.1:0"};
        if (options.manual_clock) {
            argv.insert(argv.end(), {"--clock", "manual", "--now", options.now});
        }
        if (const char* log = std::getenv("REGLEDGER_TEST_LOG"); log != nullptr && std::string_view(log) == "kafka") {
            kafka_ = {"--brokers", testing::kafka_brokers(), "--topic", testing::fresh_topic("cli")};
            argv.insert(argv.end(), {"--log", "kafka"});
            argv.insert(argv.end(), kafka_.begin(), kafka_.end());
        }
        pid_ = spawn(argv, child_environment({}), -1, out_pipe[1], err_fd);
        close(out_pipe[1]);
        close(err_fd);
        // "regledgerd: listening on 127.0.0.1:PORT — ..."
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        constexpr std::string_view prefix = "regledgerd: listening on ";
        while (port_ == 0) {
            const auto nl = output_.find('\n');
            if (nl != std::string::npos) {
                const std::string line = output_.substr(0, nl);
                output_.erase(0, nl + 1);
                seen_ += line + "\n";
                if (line.starts_with(prefix)) {
                    const auto address = line.substr(prefix.size(), line.find(' ', prefix.size()) - prefix.size());
                    port_ = static_cast<unsigned short>(std::stoul(address.substr(address.rfind(':') + 1)));
                }
                continue;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                                   std::chrono::steady_clock::now());
            if (left.count() <= 0 || !read_some(static_cast<int>(left.count()))) {
                throw std::runtime_error("regledgerd did not print its listening line; its output: " + seen_ + output_ +
                                         read_file(err_path));
            }
        }
    }

    ~server_process() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            wait_exit(pid_);
        }
        if (stdout_fd_ >= 0) close(stdout_fd_);
    }
    server_process(const server_process&) = delete;
    server_process& operator=(const server_process&) = delete;

    unsigned short port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    fs::path data_dir() const { return data_.path() / "data"; }
    // The flags that name its store to `regledger verify` and `rebuild`:
    // the data directory, and the topic when it runs on Kafka.
    // --brokers and --topic of its log when it runs on Kafka, else empty.
    const std::vector<std::string>& kafka_args() const { return kafka_; }
    std::vector<std::string> store_args() const {
        std::vector<std::string> out{"--data-dir", data_dir().string()};
        out.insert(out.end(), kafka_.begin(), kafka_.end());
        return out;
    }

    // SIGTERM, then the exit code; the rest of its standard output is kept.
    int terminate() {
        kill(pid_, SIGTERM);
        while (read_some(30'000)) {
        }
        const int code = wait_exit(pid_);
        pid_ = -1;
        return code;
    }
    // Everything the server printed on standard output so far.
    std::string output() const { return seen_ + output_; }

private:
    // Reads what is there within `timeout_ms`; false at end of file or timeout.
    bool read_some(int timeout_ms) {
        pollfd p{stdout_fd_, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) return false;
        char buffer[4096];
        const auto n = read(stdout_fd_, buffer, sizeof buffer);
        if (n <= 0) return false;
        output_.append(buffer, static_cast<std::size_t>(n));
        return true;
    }

    temp_dir data_;
    pid_t pid_ = -1;
    // On Kafka: --brokers and --topic of its log.
    std::vector<std::string> kafka_;
    int stdout_fd_ = -1;
    unsigned short port_ = 0;
    std::string output_;
    std::string seen_;
};

// A port nobody listens on: bound, read, and closed again.
inline unsigned short closed_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind failed");
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

}  // namespace regledger::cli_test
