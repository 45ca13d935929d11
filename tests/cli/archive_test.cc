// `regledger export`, `verify --archive` and `import` against the data of a
// real regledgerd child (the demo's whole walk): the archive verifies
// offline with the summary an auditor reads, a corrupted one exits 1 naming
// where, and an import gives a data directory that `verify --data-dir`
// passes. A second server signs its checkpoints: the archive's key is
// checked against a pinned one, or said to be the archive's own.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "engine/sha256.h"
#include "events/archive.h"
#include "events/codec.h"
#include "events/signing.h"
#include "tests/cli/cli_harness.h"

namespace regledger::cli_test {
namespace {

bool contains(const std::string& text, std::string_view what) { return text.find(what) != std::string::npos; }

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// regledgerd as server_process starts it, signing its checkpoints with
// `key` every few records; killed at the end of the scope unless stopped.
class signing_server {
public:
    explicit signing_server(const fs::path& key) {
        int out_pipe[2];
        if (pipe(out_pipe) != 0) throw std::runtime_error("pipe failed");
        stdout_fd_ = out_pipe[0];
        std::vector<std::string> argv{REGLEDGERD_PATH,     "--config",  std::string(sample_config),
                                      "--data-dir",        (dir_.path() / "data").string(),
                                      "--listen",          "127.0.0.1:0",
                                      "--clock",           "manual",
                                      "--now",             std::string(start_instant),
                                      "--signing-key",     key.string(),
                                      "--checkpoint-events", "5"};
        if (const char* log = std::getenv("REGLEDGER_TEST_LOG"); log != nullptr && std::string_view(log) == "kafka") {
            kafka_ = {"--brokers", testing::kafka_brokers(), "--topic", testing::fresh_topic("cli-archive")};
            argv.insert(argv.end(), {"--log", "kafka"});
            argv.insert(argv.end(), kafka_.begin(), kafka_.end());
        }
        pid_ = spawn(argv, child_environment({}), -1, out_pipe[1], -1);
        close(out_pipe[1]);
        constexpr std::string_view prefix = "regledgerd: listening on ";
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        std::string output;
        while (port_ == 0) {
            if (const auto nl = output.find('\n'); nl != std::string::npos) {
                const std::string line = output.substr(0, nl);
                output.erase(0, nl + 1);
                if (line.starts_with(prefix)) {
                    const auto address = line.substr(prefix.size(), line.find(' ', prefix.size()) - prefix.size());
                    port_ = static_cast<unsigned short>(std::stoul(address.substr(address.rfind(':') + 1)));
                }
                continue;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                                   std::chrono::steady_clock::now());
            pollfd p{stdout_fd_, POLLIN, 0};
            char buffer[4096];
            if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                throw std::runtime_error("regledgerd did not start: " + output);
            }
            const auto n = read(stdout_fd_, buffer, sizeof buffer);
            if (n <= 0) throw std::runtime_error("regledgerd exited: " + output);
            output.append(buffer, static_cast<std::size_t>(n));
        }
    }
    ~signing_server() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            wait_exit(pid_);
        }
        if (stdout_fd_ >= 0) close(stdout_fd_);
    }
    signing_server(const signing_server&) = delete;
    signing_server& operator=(const signing_server&) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::vector<std::string> store_args() const {
        return with({"--data-dir", (dir_.path() / "data").string()}, kafka_);
    }
    int terminate() {
        kill(pid_, SIGTERM);
        const int code = wait_exit(pid_);
        pid_ = -1;
        return code;
    }

private:
    temp_dir dir_;
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    unsigned short port_ = 0;
    std::vector<std::string> kafka_;
};

// Where each record's bytes start in an archive, and its offset, read from
// the format comment of events/archive.h.
struct record_at {
    std::size_t at;
    std::size_t length;
    std::int64_t offset;
};

std::vector<record_at> records_of(const std::string& file) {
    const auto be = [&](std::size_t at, std::size_t width) {
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<std::uint8_t>(file[at + i]);
        return v;
    };
    std::vector<record_at> out;
    const std::size_t body_end = file.size() - events::archive_trailer_bytes;
    for (std::size_t at = 22 + be(18, 4); at < body_end;) {
        const auto length = static_cast<std::size_t>(be(at + 12, 4));
        out.push_back({at + 16, length, static_cast<std::int64_t>(be(at + 4, 8))});
        at += 16 + length;
    }
    return out;
}

// The archive with its trailer recomputed, as a forger would.
std::string resealed(const std::string& file) {
    auto body = file.substr(0, file.size() - events::archive_trailer_bytes);
    const auto d = sha256::of(body);
    return body + std::string(events::archive_trailer_magic) +
           std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace

TEST_CASE("Archive: regledger export, verify --archive and import round-trip a server's ledger") {
    server_process server;
    const auto demo = run_cli({"demo", "--server", server.url()});
    REQUIRE_MESSAGE(demo.exit_code == 0, demo.out << demo.err);
    REQUIRE(server.terminate() == 0);
    temp_dir tmp;
    const auto archive = (tmp.path() / "ledger.archive").string();

    const auto exported = run_cli(with({"export", "--to", archive}, server.store_args()));
    INFO("export:\n" << exported.out << exported.err);
    REQUIRE(exported.exit_code == 0);
    CHECK(contains(exported.out, "exported "));
    CHECK(contains(exported.out, "no public key embedded"));
    const auto records = records_of(read_file(archive));
    REQUIRE(records.size() > 20);

    const auto verified = run_cli({"verify", "--archive", archive});
    INFO("verify:\n" << verified.out << verified.err);
    CHECK(verified.exit_code == 0);
    CHECK(contains(verified.out, fmt::format("archive {}: format 1, created ", archive)));
    CHECK(contains(verified.out, "exported with rule set LN-2025"));
    CHECK(contains(verified.out, fmt::format("ok: {} events in ", records.size())));
    CHECK(contains(verified.out, "the trailer digest holds"));
    CHECK(contains(verified.out, "signatures not checked (the archive carries no public key"));

    SUBCASE("a flipped byte: the trailer digest names it; resealed: the record's position") {
        std::string bytes = read_file(archive);
        // A byte of the command id of a record in the middle: a byte its
        // hash covers (a padding byte would show only in a Merkle root, and
        // this server signs no checkpoints).
        const auto& victim = records[records.size() / 2];
        const auto record = bytes.substr(victim.at, victim.length);
        const auto decoded = events::decode({reinterpret_cast<const std::uint8_t*>(record.data()), record.size()});
        REQUIRE(decoded.has_value());
        const auto& command = decoded.value().envelope.command_id.value();
        const auto in_record = record.find(command);
        REQUIRE(in_record != std::string::npos);
        bytes[victim.at + in_record + command.size() - 1] ^= 0x01;
        const auto damaged = (tmp.path() / "damaged.archive").string();
        write_file(damaged, bytes);
        auto r = run_cli({"verify", "--archive", damaged});
        CHECK(r.exit_code == 1);
        CHECK_MESSAGE(contains(r.out, "FAILED: " + damaged + " does not match its trailer"), r.out);

        write_file(damaged, resealed(bytes));
        r = run_cli({"verify", "--archive", damaged});
        CHECK(r.exit_code == 1);
        CHECK_MESSAGE(contains(r.out, fmt::format("FAILED: archive position 0:{}: ", victim.offset)), r.out);

        const auto import = run_cli({"import", "--archive", damaged, "--data-dir", (tmp.path() / "never").string()});
        CHECK(import.exit_code == 1);
        CHECK(contains(import.err, "refused"));
        CHECK_FALSE(fs::exists(tmp.path() / "never"));
        CHECK_FALSE(fs::exists(tmp.path() / "never.import"));

        write_file(damaged, bytes.substr(0, bytes.size() - 10));
        r = run_cli({"verify", "--archive", damaged});
        CHECK(r.exit_code == 1);
        CHECK(contains(r.out, "is truncated"));
    }

    SUBCASE("imported into a new data directory, which verify --data-dir passes; never over one in use") {
        const auto restored = (tmp.path() / "restored").string();
        const auto imported = run_cli({"import", "--archive", archive, "--data-dir", restored});
        INFO("import:\n" << imported.out << imported.err);
        REQUIRE(imported.exit_code == 0);
        CHECK(contains(imported.out, fmt::format("imported {} into {}: {} events", archive, restored, records.size())));
        CHECK(contains(imported.out, "read models derived"));
        CHECK_FALSE(fs::exists(restored + ".import"));

        const auto check = run_cli({"verify", "--data-dir", restored});
        CHECK_MESSAGE(check.exit_code == 0, check.out << check.err);
        CHECK(contains(check.out, fmt::format("ok: {} events", records.size())));

        const auto again = run_cli({"import", "--archive", archive, "--data-dir", restored});
        CHECK(again.exit_code == 1);
        CHECK(contains(again.err, "exists and is not empty"));

        // The export of the restored ledger holds the same records.
        const auto second = (tmp.path() / "second.archive").string();
        REQUIRE(run_cli({"export", "--data-dir", restored, "--to", second}).exit_code == 0);
        const auto a = read_file(archive);
        const auto b = read_file(second);
        const auto ra = records_of(a);
        const auto rb = records_of(b);
        REQUIRE(ra.size() == rb.size());
        for (std::size_t i = 0; i < ra.size(); ++i) {
            CHECK(a.substr(ra[i].at, ra[i].length) == b.substr(rb[i].at, rb[i].length));
        }
    }

    SUBCASE("export never overwrites an archive") {
        const auto before = read_file(archive);
        const auto again = run_cli(with({"export", "--to", archive}, server.store_args()));
        CHECK(again.exit_code == 1);
        CHECK(contains(again.err, "exists"));
        CHECK(read_file(archive) == before);
    }
}

TEST_CASE("Archive: regledger verify --archive checks signatures with the pinned key, or says it used the archive's") {
    temp_dir keys;
    REQUIRE(run_cli({"keygen", "--out", keys.path().string()}).exit_code == 0);
    REQUIRE(run_cli({"keygen", "--out", keys.path().string(), "--name", "other"}).exit_code == 0);
    const auto key_id = events::verify_key::load(keys.path() / "ledger.pub").value().id();
    const auto other_id = events::verify_key::load(keys.path() / "other.pub").value().id();
    const auto pub = (keys.path() / "ledger.pub").string();
    const auto other = (keys.path() / "other.pub").string();

    signing_server server(keys.path() / "ledger.key");
    const auto demo = run_cli({"demo", "--server", server.url()});
    REQUIRE_MESSAGE(demo.exit_code == 0, demo.out << demo.err);
    REQUIRE(server.terminate() == 0);
    temp_dir tmp;
    const auto archive = (tmp.path() / "signed.archive").string();
    const auto exported = run_cli(with({"export", "--to", archive, "--public-key", pub}, server.store_args()));
    INFO("export:\n" << exported.out << exported.err);
    REQUIRE(exported.exit_code == 0);
    CHECK(contains(exported.out, fmt::format("public key {} embedded", key_id)));

    SUBCASE("pinned") {
        const auto r = run_cli({"verify", "--archive", archive, "--public-key", pub});
        CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
        CHECK(contains(r.out, fmt::format("signatures checked with the pinned key {}", key_id)));
        CHECK_FALSE(contains(r.out, " 0 signatures checked"));
    }
    SUBCASE("not pinned: the archive's own key, said plainly") {
        const auto r = run_cli({"verify", "--archive", archive});
        CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
        CHECK(contains(r.out, fmt::format("signatures checked with key {}, taken from the archive itself, not pinned",
                                          key_id)));
    }
    SUBCASE("another key pinned: refused, naming both") {
        const auto r = run_cli({"verify", "--archive", archive, "--public-key", other});
        CHECK(r.exit_code == 1);
        CHECK(contains(r.out,
                       fmt::format("the archive carries public key {}, not the pinned key {}", key_id, other_id)));
        const auto import = run_cli({"import", "--archive", archive, "--data-dir", (tmp.path() / "x").string(),
                                     "--public-key", other});
        CHECK(import.exit_code == 1);
        CHECK_FALSE(fs::exists(tmp.path() / "x"));
    }
    SUBCASE("export with a key the checkpoints do not name is refused") {
        const auto r = run_cli(with({"export", "--to", (tmp.path() / "wrong.archive").string(), "--public-key", other},
                                    server.store_args()));
        CHECK(r.exit_code == 1);
        CHECK(contains(r.err, fmt::format("signed by key {}, not by the given public key {}", key_id, other_id)));
        CHECK_FALSE(fs::exists(tmp.path() / "wrong.archive"));
    }
    SUBCASE("imported with the pinned key, then verified with it") {
        const auto restored = (tmp.path() / "restored").string();
        const auto r = run_cli({"import", "--archive", archive, "--data-dir", restored, "--public-key", pub});
        CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
        CHECK(contains(r.out, fmt::format("signatures checked with the pinned key {}", key_id)));
        const auto check = run_cli({"verify", "--data-dir", restored, "--public-key", pub});
        CHECK_MESSAGE(check.exit_code == 0, check.out << check.err);
        CHECK(contains(check.out, fmt::format("signed by key {}", key_id)));
    }
}

TEST_CASE("Archive: regledger export, import and verify --archive usage errors exit 2") {
    temp_dir tmp;
    const auto dir = (tmp.path() / "data").string();
    const auto file = (tmp.path() / "a.archive").string();
    CHECK(run_cli({"export", "--data-dir", dir}).exit_code == 2);
    CHECK(run_cli({"export", "--to", file}).exit_code == 2);
    CHECK(run_cli({"import", "--archive", file}).exit_code == 2);
    CHECK(run_cli({"import", "--data-dir", dir}).exit_code == 2);
    const auto both = run_cli({"verify", "--archive", file, "--data-dir", dir});
    CHECK(both.exit_code == 2);
    CHECK(contains(both.err, "--archive and --data-dir"));
    CHECK(run_cli({"verify", "--archive", file, "--brokers", "127.0.0.1:9092"}).exit_code == 2);
    CHECK(run_cli({"verify"}).exit_code == 2);
    const auto missing = run_cli({"verify", "--archive", file});
    CHECK(missing.exit_code == 3);
    CHECK(contains(missing.err, file));
    const auto help = run_cli({"verify", "--help"});
    CHECK(help.exit_code == 0);
    CHECK(contains(help.out, "regledger verify --archive FILE"));
    const auto overview = run_cli({"--help"});
    CHECK(contains(overview.out, "export"));
    CHECK(contains(overview.out, "import"));
}

}  // namespace regledger::cli_test
