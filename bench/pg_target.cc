#include "bench/pg_target.h"

#include <libpq-fe.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "bench/pg_state_codec.h"
#include "bench/workload.h"
#include "engine/decide.h"
#include "engine/validate.h"
#include "events/json.h"

namespace regledger::bench {
namespace {

// ---- libpq, owned ----------------------------------------------------------------

struct connection_closer {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using pg_connection = std::unique_ptr<PGconn, connection_closer>;

struct result_clearer {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using pg_result = std::unique_ptr<PGresult, result_clearer>;

// A statement the server refused, or a connection that failed. `sqlstate`
// is the server's five-character code, empty when there is none.
class pg_error : public std::runtime_error {
public:
    pg_error(const std::string& message, std::string sqlstate)
        : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}

    // Worth running the whole transaction again: a deadlock, a serialization
    // failure, or a unique key that a concurrent first command of the same
    // stream took meanwhile (its row did not exist to be locked).
    bool retryable() const noexcept {
        return sqlstate_ == "40P01" || sqlstate_ == "40001" || sqlstate_ == "23505";
    }

private:
    std::string sqlstate_;
};

pg_connection connect(const std::string& conninfo) {
    pg_connection c(PQconnectdb(conninfo.c_str()));
    if (!c) throw std::runtime_error("PostgreSQL: out of memory opening a connection");
    if (PQstatus(c.get()) != CONNECTION_OK) {
        throw std::runtime_error(fmt::format("PostgreSQL: cannot connect with '{}': {}", conninfo,
                                             PQerrorMessage(c.get())));
    }
    return c;
}

// Throws pg_error unless `r` has the status `expected`.
pg_result check(PGconn* c, PGresult* raw, ExecStatusType expected, std::string_view what) {
    pg_result r(raw);
    if (r && PQresultStatus(r.get()) == expected) return r;
    std::string sqlstate;
    std::string message;
    if (r) {
        if (const char* s = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE)) sqlstate = s;
        message = PQresultErrorMessage(r.get());
    } else {
        message = PQerrorMessage(c);
    }
    while (!message.empty() && message.back() == '\n') message.pop_back();
    throw pg_error(fmt::format("PostgreSQL: {}: {}", what, message), std::move(sqlstate));
}

void exec(PGconn* c, const char* sql) { check(c, PQexec(c, sql), PGRES_COMMAND_OK, sql); }

// ---- the schema ---------------------------------------------------------------------

constexpr const char* create_schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS registrations (
    id             text PRIMARY KEY,
    version        bigint NOT NULL,
    status         text NOT NULL,
    institution_id text NOT NULL,
    code           text UNIQUE,
    valid_from     date,
    valid_until    date,
    state          jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS registrations_status_valid_until ON registrations (status, valid_until);
CREATE INDEX IF NOT EXISTS registrations_institution ON registrations (institution_id);
CREATE TABLE IF NOT EXISTS applications (
    id              text PRIMARY KEY,
    registration_id text NOT NULL REFERENCES registrations (id),
    position        integer NOT NULL,
    kind            text NOT NULL,
    status          text NOT NULL,
    institution_id  text NOT NULL,
    submitted_by    text NOT NULL,
    acceptance_due  date NOT NULL,
    review_due      date,
    publicity_start date,
    publicity_end   date
);
CREATE INDEX IF NOT EXISTS applications_registration ON applications (registration_id);
CREATE TABLE IF NOT EXISTS accounts (
    id       text PRIMARY KEY,
    version  bigint NOT NULL,
    verified boolean NOT NULL,
    state    jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    id          bigserial PRIMARY KEY,
    stream      text NOT NULL,
    version     bigint NOT NULL,
    command_id  text NOT NULL,
    event_type  text NOT NULL,
    occurred_at timestamptz NOT NULL,
    actor       jsonb NOT NULL,
    payload     jsonb NOT NULL,
    UNIQUE (stream, version)
);
CREATE TABLE IF NOT EXISTS command_outcomes (
    command_id   text PRIMARY KEY,
    stream       text,
    applied      boolean NOT NULL,
    from_version bigint,
    to_version   bigint,
    error        jsonb
);
CREATE TABLE IF NOT EXISTS code_sequences (
    institution_id text NOT NULL,
    year           integer NOT NULL,
    issued         integer NOT NULL,
    PRIMARY KEY (institution_id, year)
);
)sql";

constexpr const char* drop_schema_sql =
    "DROP TABLE IF EXISTS applications, registrations, accounts, audit_log, command_outcomes, code_sequences";

void create_schema(PGconn* c) {
    // Creating concurrently from two programs could race on the catalog:
    // one at a time.
    exec(c, "BEGIN");
    exec(c, "SET LOCAL client_min_messages = warning");
    check(c, PQexec(c, "SELECT pg_advisory_xact_lock(7215001)"), PGRES_TUPLES_OK, "schema lock");
    exec(c, create_schema_sql);
    exec(c, "COMMIT");
}

// The statements a session prepares, by name.
struct statement {
    const char* name;
    const char* sql;
};
constexpr std::array statements = {
    statement{"lock_registration", "SELECT state FROM registrations WHERE id = $1 FOR UPDATE"},
    statement{"lock_registration_of_application",
              "SELECT r.id, r.state FROM registrations r JOIN applications a ON a.registration_id = r.id "
              "WHERE a.id = $1 FOR UPDATE OF r"},
    statement{"lock_account", "SELECT state FROM accounts WHERE id = $1 FOR UPDATE"},
    statement{"read_account", "SELECT state FROM accounts WHERE id = $1"},
    statement{"application_owner", "SELECT registration_id FROM applications WHERE id = $1"},
    statement{"outcome_of", "SELECT applied FROM command_outcomes WHERE command_id = $1"},
    statement{"next_code_sequence",
              "INSERT INTO code_sequences (institution_id, year, issued) VALUES ($1, $2, 1) "
              "ON CONFLICT (institution_id, year) DO UPDATE SET issued = code_sequences.issued + 1 "
              "RETURNING issued"},
    statement{"insert_registration",
              "INSERT INTO registrations (id, version, status, institution_id, code, valid_from, valid_until, state) "
              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"},
    statement{"update_registration",
              "UPDATE registrations SET version = $2, status = $3, institution_id = $4, code = $5, "
              "valid_from = $6, valid_until = $7, state = $8 WHERE id = $1"},
    statement{"upsert_application",
              "INSERT INTO applications (id, registration_id, position, kind, status, institution_id, submitted_by, "
              "acceptance_due, review_due, publicity_start, publicity_end) "
              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
              "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, institution_id = EXCLUDED.institution_id, "
              "acceptance_due = EXCLUDED.acceptance_due, review_due = EXCLUDED.review_due, "
              "publicity_start = EXCLUDED.publicity_start, publicity_end = EXCLUDED.publicity_end"},
    statement{"insert_account", "INSERT INTO accounts (id, version, verified, state) VALUES ($1, $2, $3, $4)"},
    statement{"update_account", "UPDATE accounts SET version = $2, verified = $3, state = $4 WHERE id = $1"},
    statement{"insert_event",
              "INSERT INTO audit_log (stream, version, command_id, event_type, occurred_at, actor, payload) "
              "VALUES ($1, $2, $3, $4, $5, $6, $7)"},
    statement{"insert_outcome",
              "INSERT INTO command_outcomes (command_id, stream, applied, from_version, to_version, error) "
              "VALUES ($1, $2, $3, $4, $5, $6)"},
    statement{"get_registration",
              "SELECT id, version, status, institution_id, code, valid_from, valid_until, state "
              "FROM registrations WHERE id = $1"},
    statement{"get_applications",
              "SELECT id, position, kind, status, institution_id, submitted_by, acceptance_due, review_due, "
              "publicity_start, publicity_end FROM applications WHERE registration_id = $1 ORDER BY position"},
};

// A session's settings and statements, on a new or reset connection.
void prepare_session(PGconn* c, bool durable) {
    exec(c, durable ? "SET synchronous_commit = on" : "SET synchronous_commit = off");
    for (const statement& s : statements) check(c, PQprepare(c, s.name, s.sql, 0, nullptr), PGRES_COMMAND_OK, s.name);
}

// ---- rows -------------------------------------------------------------------------

// A row's values as text, in the column order of the statements above;
// nullopt is SQL NULL.
template <std::size_t N>
using row_values = std::array<std::optional<std::string>, N>;

template <typename E>
std::string enum_name(E e) {
    const boost::json::value v = json::to_json(e);
    return std::string(v.as_string());
}

std::optional<std::string> date_text(const std::optional<calendar_date>& d) {
    if (!d) return std::nullopt;
    return d->to_string();
}

// registrations (id, version, status, institution_id, code, valid_from,
// valid_until, state)
row_values<8> registration_row(const registration_state& s) {
    return {s.id.value(),
            std::to_string(s.version.value()),
            enum_name(s.status),
            s.institution_id.value(),
            s.code,
            date_text(s.valid_from),
            date_text(s.valid_until),
            encode_state(s)};
}

// applications (id, registration_id, position, kind, status, institution_id,
// submitted_by, acceptance_due, review_due, publicity_start, publicity_end)
row_values<11> application_row(const registration_state& s, std::size_t position) {
    const application_state& a = s.applications[position];
    return {a.id.value(),
            s.id.value(),
            std::to_string(position),
            enum_name(a.kind),
            enum_name(a.status),
            a.institution_id.value(),
            a.submitted_by.value(),
            a.acceptance_due.to_string(),
            date_text(a.review_due),
            date_text(a.publicity_start),
            date_text(a.publicity_end)};
}

// accounts (id, version, verified, state)
row_values<4> account_row(const account_state& s) {
    return {s.id.value(), std::to_string(s.version.value()), s.verified ? "t" : "f", encode_state(s)};
}

// The row key of a stream: "reg-X" → registrations X, "acct-X" → accounts X.
struct stream_key {
    enum class table { registrations, accounts } kind;
    std::string id;
};
std::optional<stream_key> key_of(const stream_id& stream) {
    const std::string& s = stream.value();
    if (s.starts_with("reg-")) return stream_key{stream_key::table::registrations, s.substr(4)};
    if (s.starts_with("acct-")) return stream_key{stream_key::table::accounts, s.substr(5)};
    return std::nullopt;
}

// ---- the target ---------------------------------------------------------------------

class pg_target;

// One client's connection with its prepared statements.
class pg_session final : public session {
public:
    pg_session(const pg_target& owner, pg_connection connection) : owner_(owner), c_(std::move(connection)) {}

    answer execute(const command_envelope& command) override;
    bool get_registration(const std::string& registration_id) override;

private:
    static constexpr int attempts_max = 5;
    // Failures printed per session, so that a broken server does not flood.
    static constexpr int failures_printed_max = 3;

    // Runs a prepared statement with text parameters (nullptr = NULL).
    pg_result run(const char* name, std::initializer_list<const char*> params, ExecStatusType expected) {
        return check(c_.get(),
                     PQexecPrepared(c_.get(), name, static_cast<int>(params.size()), params.begin(), nullptr,
                                    nullptr, 0),
                     expected, name);
    }
    template <std::size_t N>
    pg_result run_row(const char* name, const row_values<N>& row) {
        std::array<const char*, N> params{};
        for (std::size_t i = 0; i < N; ++i) params[i] = row[i] ? row[i]->c_str() : nullptr;
        return check(c_.get(), PQexecPrepared(c_.get(), name, static_cast<int>(N), params.data(), nullptr, nullptr, 0),
                     PGRES_COMMAND_OK, name);
    }

    answer attempt(const command_envelope& command);
    answer finish_rejected(const command_envelope& command, const std::string& stream, const rejection& r);
    std::uint32_t next_code_sequence(const institution_id& institution, int year);
    void note_failure(const std::string& message);

    const pg_target& owner_;
    pg_connection c_;
    int failures_printed_ = 0;
};

class pg_target final : public target {
public:
    pg_target(std::string conninfo, bool durable) : conninfo_(std::move(conninfo)), durable_(durable) {
        pg_connection c = connect(conninfo_);
        create_schema(c.get());
        pg_result version = check(c.get(), PQexec(c.get(), "SHOW server_version"), PGRES_TUPLES_OK, "server_version");
        std::string v = PQgetvalue(version.get(), 0, 0);
        if (auto space = v.find(' '); space != std::string::npos) v.resize(space);
        name_ = fmt::format("PostgreSQL {}{}", v, durable_ ? "" : " (synchronous_commit off)");
        // The server's processes are the postmaster and its children; a
        // backend's parent is the postmaster. Only meaningful when the server
        // runs on this machine (a Unix socket, as scripts/postgres has it).
        pg_result pid = check(c.get(), PQexec(c.get(), "SELECT pg_backend_pid()"), PGRES_TUPLES_OK, "backend pid");
        postmaster_pid_ = parent_of(std::atoi(PQgetvalue(pid.get(), 0, 0)));
    }

    std::string name() const override { return name_; }
    bool durable() const noexcept { return durable_; }
    void set_time(instant at) override { now_us_.store(at.unix_us(), std::memory_order_release); }
    instant now() const { return instant::from_unix_us(now_us_.load(std::memory_order_acquire)); }

    std::unique_ptr<session> open_session() override {
        pg_connection c = connect(conninfo_);
        prepare_session(c.get(), durable_);
        return std::make_unique<pg_session>(*this, std::move(c));
    }

    // The proportional set size (Pss) of the postmaster and its children:
    // shared_buffers pages appear in the VmRSS of every backend that touched
    // them, so a sum of VmRSS would count them once per connection; Pss
    // shares each page out among the processes that map it, so the sum counts
    // it once. VmRSS where smaps_rollup cannot be read.
    std::uint64_t resident_bytes() const override {
        if (postmaster_pid_ <= 0) return 0;
        std::uint64_t total = memory_of(postmaster_pid_);
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
            const std::string name = entry.path().filename().string();
            if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
            const int pid = std::atoi(name.c_str());
            if (pid != postmaster_pid_ && parent_of(pid) == postmaster_pid_) total += memory_of(pid);
        }
        return total;
    }

private:
    // The value in kB of the line `key` of a /proc file, in bytes; nullopt
    // when the file or the line is missing.
    static std::optional<std::uint64_t> proc_kib(const std::string& path, std::string_view key) {
        std::ifstream in(path);
        std::string line;
        while (std::getline(in, line)) {
            if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':') {
                return std::strtoull(line.c_str() + key.size() + 1, nullptr, 10) * 1024;
            }
        }
        return std::nullopt;
    }
    static std::uint64_t memory_of(int pid) {
        const std::string dir = "/proc/" + std::to_string(pid);
        if (auto pss = proc_kib(dir + "/smaps_rollup", "Pss")) return *pss;
        return proc_kib(dir + "/status", "VmRSS").value_or(0);
    }
    static int parent_of(int pid) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/status");
        std::string line;
        while (std::getline(in, line)) {
            if (line.starts_with("PPid:")) return std::atoi(line.c_str() + 5);
        }
        return 0;
    }

    std::string conninfo_;
    bool durable_;
    std::string name_;
    int postmaster_pid_ = 0;
    std::atomic<std::int64_t> now_us_{0};
};

// ---- one command, one transaction -----------------------------------------------------

answer pg_session::execute(const command_envelope& command) {
    // Client ids are [A-Za-z0-9._-]{1,64}; the scheduler's are derived and
    // exempt (as in the ledger's writer). Nothing is written for a bad id.
    if (!is_timeout_command(command.body) && validate_command_id(command.command_id)) return answer::rejected;
    for (int attempt_number = 1;; ++attempt_number) {
        try {
            return attempt(command);
        } catch (const pg_error& e) {
            if (PQstatus(c_.get()) != CONNECTION_OK) {
                note_failure(e.what());
                // The next command gets a fresh connection, with its
                // statements prepared again.
                PQreset(c_.get());
                if (PQstatus(c_.get()) == CONNECTION_OK) {
                    try {
                        prepare_session(c_.get(), owner_.durable());
                    } catch (const pg_error& again) {
                        note_failure(again.what());
                    }
                }
                return answer::unavailable;
            }
            PQclear(PQexec(c_.get(), "ROLLBACK"));
            if (e.retryable() && attempt_number < attempts_max) continue;
            note_failure(e.what());
            return answer::unavailable;
        }
    }
}

answer pg_session::attempt(const command_envelope& command) {
    const instant now = owner_.now();
    exec(c_.get(), "BEGIN");

    // The stream, locked, and its state; an empty stream name when the
    // command names an application nobody submitted.
    std::string stream;
    std::optional<stream_key> key;
    std::variant<registration_state, account_state> state;
    const command_target where = target_of(command.body);
    if (const auto* s = std::get_if<stream_id>(&where)) {
        stream = s->value();
        key = key_of(*s);
        if (!key) throw pg_error("a command for stream " + stream + ", which is neither reg- nor acct-", "");
        if (key->kind == stream_key::table::registrations) {
            pg_result r = run("lock_registration", {key->id.c_str()}, PGRES_TUPLES_OK);
            registration_state reg;
            if (PQntuples(r.get()) > 0) {
                auto decoded = decode_registration_state(PQgetvalue(r.get(), 0, 0));
                if (!decoded) throw pg_error("registration " + key->id + ": " + decoded.error().message, "");
                reg = std::move(decoded).value();
            }
            state = std::move(reg);
        } else {
            pg_result r = run("lock_account", {key->id.c_str()}, PGRES_TUPLES_OK);
            account_state acct;
            if (PQntuples(r.get()) > 0) {
                auto decoded = decode_account_state(PQgetvalue(r.get(), 0, 0));
                if (!decoded) throw pg_error("account " + key->id + ": " + decoded.error().message, "");
                acct = std::move(decoded).value();
            }
            state = std::move(acct);
        }
    } else {
        const auto& app = std::get<application_id>(where);
        pg_result r = run("lock_registration_of_application", {app.value().c_str()}, PGRES_TUPLES_OK);
        if (PQntuples(r.get()) > 0) {
            key = stream_key{stream_key::table::registrations, PQgetvalue(r.get(), 0, 0)};
            stream = registration_stream(registration_id(key->id)).value();
            auto decoded = decode_registration_state(PQgetvalue(r.get(), 0, 1));
            if (!decoded) throw pg_error("registration " + key->id + ": " + decoded.error().message, "");
            state = std::move(decoded).value();
        }
    }

    // Idempotency: a command id seen before gets its first outcome.
    {
        pg_result r = run("outcome_of", {command.command_id.value().c_str()}, PGRES_TUPLES_OK);
        if (PQntuples(r.get()) > 0) {
            const bool applied = PQgetvalue(r.get(), 0, 0)[0] == 't';
            exec(c_.get(), "COMMIT");
            return applied ? answer::applied : answer::rejected;
        }
    }

    decide_context ctx;
    ctx.now = now;
    ctx.rules = &workload::rules();
    ctx.institutions = &workload::institutions();
    ctx.issuer = command.issued_by;
    // decide() calls this in the middle of its work, where a failure cannot
    // be thrown through; it is kept and thrown once decide() returned.
    std::optional<pg_error> sequence_failure;
    ctx.next_code_sequence = [&](const institution_id& institution, int year) -> std::uint32_t {
        try {
            return next_code_sequence(institution, year);
        } catch (const pg_error& e) {
            sequence_failure = e;
            return 0;
        }
    };
    account_state issuer_account;
    if (command.issued_by.role == role::subject) {
        const stream_id issuer_stream = account_stream(command.issued_by.account);
        if (const auto* acct = std::get_if<account_state>(&state); acct != nullptr && issuer_stream.value() == stream) {
            issuer_account = *acct;
        } else {
            pg_result r = run("read_account", {command.issued_by.account.value().c_str()}, PGRES_TUPLES_OK);
            if (PQntuples(r.get()) > 0) {
                auto decoded = decode_account_state(PQgetvalue(r.get(), 0, 0));
                if (!decoded) {
                    throw pg_error("account " + command.issued_by.account.value() + ": " + decoded.error().message,
                                   "");
                }
                issuer_account = std::move(decoded).value();
            }
        }
        ctx.issuer_account = &issuer_account;
    }

    if (stream.empty()) {
        // An application nobody submitted: decide() checks the role and the
        // fields, then finds no such application.
        auto r = decide(registration_state{}, command.body, ctx);
        return finish_rejected(command, stream, r ? reject(errc::not_found, "no such application") : r.error());
    }

    const stream_version current = std::visit([](const auto& s) { return s.version; }, state);
    if (command.expected_version && *command.expected_version != current) {
        return finish_rejected(command, stream,
                               reject(errc::conflict,
                                      fmt::format("expected version {} but {} is at version {}",
                                                  command.expected_version->value(), stream, current.value()),
                                      "/expected_version"));
    }
    auto decided = std::visit([&](const auto& s) { return decide(s, command.body, ctx); }, state);
    if (sequence_failure) throw *sequence_failure;
    if (!decided) return finish_rejected(command, stream, decided.error());

    // An application id names one application across every registration.
    if (const auto* submit = std::get_if<submit_application>(&command.body)) {
        pg_result r = run("application_owner", {submit->application_id.value().c_str()}, PGRES_TUPLES_OK);
        if (PQntuples(r.get()) > 0 && submit->registration_id.value() != PQgetvalue(r.get(), 0, 0)) {
            const std::string message = fmt::format("application id {} is already used", submit->application_id.value());
            return finish_rejected(command, stream, reject(errc::conflict, message));
        }
    }

    // Apply: one audit row per event, then the rows of the new state.
    const std::string occurred_at = now.to_string();
    const std::string actor_json = boost::json::serialize(json::to_json(command.issued_by));
    const std::string from_version = std::to_string(current.value() + 1);
    std::visit(
        [&](auto& s) {
            const auto before = s;
            for (const event& e : decided.value()) {
                s = evolve(std::move(s), e);
                run("insert_event",
                    {stream.c_str(), std::to_string(s.version.value()).c_str(), command.command_id.value().c_str(),
                     std::string(type_name_of(e)).c_str(), occurred_at.c_str(), actor_json.c_str(),
                     encode_event(e).c_str()},
                    PGRES_COMMAND_OK);
            }
            if (decided.value().empty()) return;
            using state_type = std::decay_t<decltype(s)>;
            if constexpr (std::is_same_v<state_type, registration_state>) {
                run_row(before.exists() ? "update_registration" : "insert_registration", registration_row(s));
                for (std::size_t i = 0; i < s.applications.size(); ++i) {
                    const application_state* was = before.find_application(s.applications[i].id);
                    if (was == nullptr || *was != s.applications[i]) {
                        run_row("upsert_application", application_row(s, i));
                    }
                }
            } else {
                run_row(before.exists() ? "update_account" : "insert_account", account_row(s));
            }
        },
        state);
    const stream_version to = std::visit([](const auto& s) { return s.version; }, state);
    const bool any = !decided.value().empty();
    run("insert_outcome",
        {command.command_id.value().c_str(), stream.c_str(), "t", any ? from_version.c_str() : nullptr,
         any ? std::to_string(to.value()).c_str() : nullptr, nullptr},
        PGRES_COMMAND_OK);
    exec(c_.get(), "COMMIT");
    return answer::applied;
}

answer pg_session::finish_rejected(const command_envelope& command, const std::string& stream, const rejection& r) {
    const std::string error = boost::json::serialize(json::error_body(r));
    run("insert_outcome",
        {command.command_id.value().c_str(), stream.empty() ? nullptr : stream.c_str(), "f", nullptr, nullptr,
         error.c_str()},
        PGRES_COMMAND_OK);
    exec(c_.get(), "COMMIT");
    return answer::rejected;
}

std::uint32_t pg_session::next_code_sequence(const institution_id& institution, int year) {
    pg_result r =
        run("next_code_sequence", {institution.value().c_str(), std::to_string(year).c_str()}, PGRES_TUPLES_OK);
    return static_cast<std::uint32_t>(std::strtoul(PQgetvalue(r.get(), 0, 0), nullptr, 10));
}

bool pg_session::get_registration(const std::string& registration_id) {
    try {
        // What GET /v1/registrations/{id} shows: the row and its applications.
        pg_result reg = run("get_registration", {registration_id.c_str()}, PGRES_TUPLES_OK);
        if (PQntuples(reg.get()) == 0) return false;
        pg_result apps = run("get_applications", {registration_id.c_str()}, PGRES_TUPLES_OK);
        return true;
    } catch (const pg_error& e) {
        note_failure(e.what());
        if (PQstatus(c_.get()) != CONNECTION_OK) PQreset(c_.get());
        return false;
    }
}

void pg_session::note_failure(const std::string& message) {
    if (failures_printed_ >= failures_printed_max) return;
    ++failures_printed_;
    fmt::print(stderr, "pg_target: {}{}\n", message,
               failures_printed_ == failures_printed_max ? " (further failures of this session not shown)" : "");
}

// ---- rebuild --------------------------------------------------------------------------

// COPY ... FROM STDIN in text format: tab-separated, \N for NULL, and the
// backslash, tab, newline and carriage return escaped.
class copy_writer {
public:
    copy_writer(PGconn* c, const char* sql) : c_(c) { check(c_, PQexec(c_, sql), PGRES_COPY_IN, sql); }

    template <std::size_t N>
    void row(const row_values<N>& values) {
        for (std::size_t i = 0; i < N; ++i) {
            if (i > 0) buffer_.push_back('\t');
            if (!values[i]) {
                buffer_ += "\\N";
                continue;
            }
            for (char ch : *values[i]) {
                switch (ch) {
                    case '\\': buffer_ += "\\\\"; break;
                    case '\t': buffer_ += "\\t"; break;
                    case '\n': buffer_ += "\\n"; break;
                    case '\r': buffer_ += "\\r"; break;
                    default: buffer_.push_back(ch);
                }
            }
        }
        buffer_.push_back('\n');
        if (buffer_.size() >= chunk_bytes) flush();
    }

    void finish() {
        flush();
        if (PQputCopyEnd(c_, nullptr) != 1) throw pg_error(PQerrorMessage(c_), "");
        check(c_, PQgetResult(c_), PGRES_COMMAND_OK, "COPY");
        // Then the null result that ends the command.
        while (PGresult* rest = PQgetResult(c_)) PQclear(rest);
    }

private:
    static constexpr std::size_t chunk_bytes = 1 << 20;

    void flush() {
        if (buffer_.empty()) return;
        if (PQputCopyData(c_, buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
            throw pg_error(PQerrorMessage(c_), "");
        }
        buffer_.clear();
    }

    PGconn* c_;
    std::string buffer_;
};

}  // namespace

std::unique_ptr<target> make_pg_target(const std::string& conninfo, bool durable) {
    return std::make_unique<pg_target>(conninfo, durable);
}

void pg_reset(const std::string& conninfo) {
    pg_connection c = connect(conninfo);
    exec(c.get(), "SET client_min_messages = warning");
    exec(c.get(), drop_schema_sql);
    create_schema(c.get());
}

namespace {

// `conninfo` with its database replaced by `database` (keyword/value form,
// whatever form `conninfo` had).
std::string with_database(const std::string& conninfo, const std::string& database) {
    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &error);
    if (parsed == nullptr) {
        std::string why = error != nullptr ? error : "out of memory";
        PQfreemem(error);
        throw std::runtime_error(fmt::format("PostgreSQL: cannot parse '{}': {}", conninfo, why));
    }
    auto quoted = [](std::string_view v) {
        std::string q = "'";
        for (const char ch : v) {
            if (ch == '\\' || ch == '\'') q.push_back('\\');
            q.push_back(ch);
        }
        return q + "'";
    };
    std::string out;
    for (const PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
        const std::string_view keyword = o->keyword;
        if (keyword == "dbname" || o->val == nullptr) continue;
        out += fmt::format("{}={} ", keyword, quoted(o->val));
    }
    PQconninfoFree(parsed);
    return out + "dbname=" + quoted(database);
}

std::string database_of(const std::string& conninfo) {
    pg_connection c = connect(conninfo);
    return PQdb(c.get());
}

std::string identifier(PGconn* c, const std::string& name) {
    char* escaped = PQescapeIdentifier(c, name.data(), name.size());
    if (escaped == nullptr) throw std::runtime_error(fmt::format("PostgreSQL: {}", PQerrorMessage(c)));
    std::string out = escaped;
    PQfreemem(escaped);
    return out;
}

// CREATE DATABASE `to` as a file copy of `from` (which no session may use:
// the server waits a few seconds for the last ones to end).
void copy_database(PGconn* maintenance, const std::string& from, const std::string& to) {
    const std::string sql = fmt::format("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY",
                                        identifier(maintenance, to), identifier(maintenance, from));
    exec(maintenance, sql.c_str());
}

void drop_database(PGconn* maintenance, const std::string& name) {
    const std::string sql = fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", identifier(maintenance, name));
    exec(maintenance, sql.c_str());
}

// A session on the server's `postgres` database, which creating and
// dropping the others needs.
pg_connection maintenance_session(const std::string& conninfo) {
    pg_connection m = connect(with_database(conninfo, "postgres"));
    exec(m.get(), "SET client_min_messages = warning");
    return m;
}

}  // namespace

void pg_keep(const std::string& conninfo, const std::string& name) {
    const std::string database = database_of(conninfo);
    pg_connection m = maintenance_session(conninfo);
    drop_database(m.get(), name);
    copy_database(m.get(), database, name);
}

void pg_restore(const std::string& conninfo, const std::string& name) {
    const std::string database = database_of(conninfo);
    {
        pg_connection m = maintenance_session(conninfo);
        drop_database(m.get(), database);
        copy_database(m.get(), name, database);
    }
    pg_connection c = connect(conninfo);
    exec(c.get(), "SET client_min_messages = warning");
    exec(c.get(), "CREATE EXTENSION IF NOT EXISTS pg_prewarm");
    check(c.get(),
          PQexec(c.get(),
                 "SELECT pg_prewarm(oid) FROM pg_class "
                 "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'i') "
                 "UNION ALL SELECT pg_prewarm(reltoastrelid) FROM pg_class "
                 "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND reltoastrelid <> 0"),
          PGRES_TUPLES_OK, "pg_prewarm");
}

void pg_forget(const std::string& conninfo, const std::string& name) {
    pg_connection m = maintenance_session(conninfo);
    drop_database(m.get(), name);
}

pg_rebuild_report pg_rebuild(const std::string& conninfo) {
    using clock = std::chrono::steady_clock;
    const auto started = clock::now();
    pg_connection connection = connect(conninfo);
    PGconn* c = connection.get();
    pg_rebuild_report report;

    // One snapshot for the read and the writes.
    exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ");
    exec(c, "DECLARE audit CURSOR FOR SELECT stream, version, event_type, payload FROM audit_log ORDER BY id");
    std::unordered_map<std::string, registration_state> registrations;
    std::unordered_map<std::string, account_state> accounts;
    auto fold = [](auto& s, const std::string& stream, std::uint64_t version, const event& e) {
        if (version != s.version.value() + 1) {
            throw std::runtime_error(fmt::format("audit_log: {} version {} follows version {}", stream, version,
                                                 s.version.value()));
        }
        s = evolve(std::move(s), e);
    };
    for (;;) {
        pg_result rows = check(c, PQexec(c, "FETCH 10000 FROM audit"), PGRES_TUPLES_OK, "FETCH");
        const int n = PQntuples(rows.get());
        if (n == 0) break;
        for (int i = 0; i < n; ++i) {
            const std::string stream = PQgetvalue(rows.get(), i, 0);
            const std::uint64_t version = std::strtoull(PQgetvalue(rows.get(), i, 1), nullptr, 10);
            const char* type = PQgetvalue(rows.get(), i, 2);
            auto decoded = decode_event(type, PQgetvalue(rows.get(), i, 3));
            if (!decoded) {
                throw std::runtime_error(
                    fmt::format("audit_log: {} version {}: {}", stream, version, decoded.error().message));
            }
            const auto key = key_of(stream_id(stream));
            if (!key) throw std::runtime_error("audit_log: stream " + stream + " is neither reg- nor acct-");
            if (key->kind == stream_key::table::registrations) {
                fold(registrations[key->id], stream, version, decoded.value());
            } else {
                fold(accounts[key->id], stream, version, decoded.value());
            }
            ++report.events;
        }
    }
    exec(c, "CLOSE audit");

    exec(c, "TRUNCATE registrations, applications, accounts");
    {
        copy_writer out(c, "COPY registrations (id, version, status, institution_id, code, valid_from, valid_until, "
                           "state) FROM STDIN");
        for (const auto& [id, s] : registrations) out.row(registration_row(s));
        out.finish();
    }
    {
        copy_writer out(c, "COPY applications (id, registration_id, position, kind, status, institution_id, "
                           "submitted_by, acceptance_due, review_due, publicity_start, publicity_end) FROM STDIN");
        for (const auto& [id, s] : registrations) {
            for (std::size_t i = 0; i < s.applications.size(); ++i) out.row(application_row(s, i));
        }
        out.finish();
    }
    {
        copy_writer out(c, "COPY accounts (id, version, verified, state) FROM STDIN");
        for (const auto& [id, s] : accounts) out.row(account_row(s));
        out.finish();
    }
    exec(c, "COMMIT");
    report.registrations = registrations.size();
    report.accounts = accounts.size();
    report.seconds = std::chrono::duration<double>(clock::now() - started).count();
    return report;
}

void pg_append_history(const std::string& conninfo, const std::vector<tick>& ticks) {
    pg_connection connection = connect(conninfo);
    PGconn* c = connection.get();
    exec(c, "BEGIN");
    copy_writer out(c, "COPY audit_log (stream, version, command_id, event_type, occurred_at, actor, payload) FROM STDIN");
    std::vector<std::string> actors;
    for (const tick& t : ticks) {
        const std::string occurred_at = t.at.to_string();
        actors.clear();
        for (const command_envelope& command : t.commands) {
            actors.push_back(boost::json::serialize(json::to_json(command.issued_by)));
        }
        for (const recorded_event& e : t.recorded) {
            out.row(row_values<7>{e.stream.value(), std::to_string(e.version.value()),
                                  t.commands[e.command].command_id.value(), std::string(type_name_of(e.body)),
                                  occurred_at, actors[e.command], encode_event(e.body)});
        }
    }
    out.finish();
    exec(c, "COMMIT");
}

std::vector<std::string> pg_history(const std::string& conninfo) {
    pg_connection connection = connect(conninfo);
    PGconn* c = connection.get();
    pg_result rows = check(c,
                           PQexec(c, "SELECT stream, version, command_id, event_type, occurred_at, actor, payload "
                                     "FROM audit_log ORDER BY stream, version"),
                           PGRES_TUPLES_OK, "audit_log");
    std::vector<std::string> out;
    const int n = PQntuples(rows.get());
    out.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        std::string line;
        for (int k = 0; k < 7; ++k) {
            if (k > 0) line.push_back('\t');
            line += PQgetvalue(rows.get(), i, k);
        }
        out.push_back(std::move(line));
    }
    return out;
}

}  // namespace regledger::bench
