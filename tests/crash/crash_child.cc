// crash_child: a ledger under load, made to be killed (tests/crash/README.md).
//
//   crash_child DIR SEED START_INSTANT
//
// Opens the embedded ledger in DIR with a manual clock standing at
// START_INSTANT (RFC 3339), seeds the two subject accounts if they are
// missing, writes "READY", then submits commands from several threads until
// it is killed: new initial applications, and for the registrations already in
// DIR whatever their open application allows next (accept, request a
// supplement, resubmit, reject, pass or fail the review, explain a delay,
// file, repeat, dismiss or uphold objections, withdraw), later applications
// (change, correction, deregistration) on valid registrations, revocations
// and their annulment, plus commands that must be refused and retries of
// commands already sent. Command ids are "c<SEED>-<thread>-<counter>".
//
// For every command whose outcome comes back applied or rejected it writes
// one ACK line (crash_world.h) with a single write(2) of the whole line, so a
// kill never leaves a partial line, and never before the writer has answered
// (which it does only after the batch's synced commit).
//
// Exit status: never exits on its own once READY; 2 when the ledger refuses
// to open (the message, with the damaged position, on stderr); 3 when seeding
// the accounts fails; 64 on bad arguments.
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "engine/state.h"
#include "projections/keys.h"
#include "projections/ledger.h"
#include "tests/crash/crash_world.h"

namespace {

using namespace regledger;
using projections::command_outcome;

constexpr int workers = 6;
// Commands each worker keeps in the writer's queue at once.
constexpr int in_flight_max = 4;
// Registrations a worker picks from most of the time: the ones changed last,
// whose applications are still moving.
constexpr std::size_t recent_registrations = 400;

// Writes all of `line` with one write(2) (a line is far below PIPE_BUF, so a
// write to a pipe is atomic); gives up silently when stdout is gone.
void emit(const std::string& line) {
    std::size_t done = 0;
    while (done < line.size()) {
        const ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

std::string hex64(std::mt19937_64& rng) {
    std::string out;
    while (out.size() < 64) out += fmt::format("{:016x}", rng());
    return out;
}

registration_record record_for(std::mt19937_64& rng, std::string_view name, const institution_id& inst) {
    registration_record r;
    r.object_type = object_type::resource;
    r.data_name = std::string(name);
    r.summary = "按日统计的客流与运营数据";
    r.industry_codes = {rng() % 2 ? "54" : "65"};
    r.coverage_regions = {inst.value() == "LN-DL" ? "210200" : "210100"};
    r.update_frequency = "daily";
    r.access_method = access_method::open;
    return r;
}

std::vector<material> materials_for(std::mt19937_64& rng, std::string name) {
    return {{std::move(name), hex64(rng)}};
}

// The registrations that exist, shared by the workers, the most recently
// changed last (a registration appears again each time it changes).
class registration_pool {
public:
    void add(registration_id id) {
        std::lock_guard lock(mutex_);
        ids_.push_back(std::move(id));
    }
    std::optional<registration_id> pick(std::mt19937_64& rng) const {
        std::lock_guard lock(mutex_);
        if (ids_.empty()) return std::nullopt;
        const std::size_t n = ids_.size();
        if (rng() % 5 != 0 && n > recent_registrations) return ids_[n - 1 - rng() % recent_registrations];
        return ids_[rng() % n];
    }

private:
    mutable std::mutex mutex_;
    std::vector<registration_id> ids_;
};

// At most in_flight_max commands of one worker waiting for their outcome.
class window {
public:
    void enter() {
        std::unique_lock lock(mutex_);
        free_.wait(lock, [&] { return in_flight_ < in_flight_max; });
        ++in_flight_;
    }
    void leave() {
        {
            std::lock_guard lock(mutex_);
            --in_flight_;
        }
        free_.notify_one();
    }

private:
    std::mutex mutex_;
    std::condition_variable free_;
    int in_flight_ = 0;
};

class worker {
public:
    worker(projections::ledger& ledger, registration_pool& pool, std::uint64_t seed, int index)
        : ledger_(ledger),
          pool_(pool),
          seed_(seed),
          index_(index),
          rng_(seed * 1'000'003 + static_cast<unsigned>(index)) {}

    void run() {
        for (;;) {
            command_envelope cmd;
            // A retry: the same id and body again, answered with the first outcome.
            if (!sent_.empty() && percent() < 3) {
                cmd = sent_[rng_() % sent_.size()];
            } else {
                auto next = next_command();
                if (!next) continue;
                cmd = std::move(*next);
                cmd.command_id = command_id(fmt::format("c{}-{}-{}", seed_, index_, counter_++));
                if (sent_.size() < 64) {
                    sent_.push_back(cmd);
                } else {
                    sent_[rng_() % sent_.size()] = cmd;
                }
            }
            submit(std::move(cmd));
        }
    }

private:
    unsigned percent() { return static_cast<unsigned>(rng_() % 100); }

    void submit(command_envelope cmd) {
        window_->enter();
        const command_id id = cmd.command_id;
        ledger_.writes().submit(std::move(cmd), [id, w = window_, &pool = pool_](command_outcome o) {
            if (o.result_kind != command_outcome::kind::unavailable) {
                // A registration that just moved is among the ones picked next.
                if (o.result_kind == command_outcome::kind::applied && !o.replayed &&
                    o.stream.value().starts_with("reg-")) {
                    pool.add(registration_id(o.stream.value().substr(4)));
                }
                emit(crash::format_ack(id, o));
            }
            w->leave();
        });
    }

    command_envelope make(actor issuer, command body) {
        command_envelope e;
        e.issued_by = std::move(issuer);
        e.body = std::move(body);
        return e;
    }

    command_envelope new_registration() {
        const std::string tag = fmt::format("{}-{}-{}", seed_, index_, counter_);
        const unsigned r = percent();
        const institution_id inst(r < 60 ? "LN-SY" : r < 90 ? "LN-DL" : "LN");
        submit_application c;
        c.application_id = application_id("a" + tag);
        c.kind = application_kind::initial;
        c.registration_id = registration_id("r" + tag);
        c.institution_id = inst;
        const bool joint = percent() < 30;
        c.applicants = {{"沈阳市公交集团", std::string(crash::uscc_a), applicant_role::lead}};
        if (joint) c.applicants.push_back({"北京数据运营公司", std::string(crash::uscc_b), applicant_role::joint});
        c.record = record_for(rng_, fmt::format("公共交通客流数据 {}", tag), inst);
        c.materials = materials_for(rng_, "申请表.pdf");
        return make(crash::subject_of(joint && percent() < 50 ? "acct-b" : "acct-a"), std::move(c));
    }

    command_envelope later_application(const registration_state& s, application_kind kind) {
        const std::string tag = fmt::format("{}-{}-{}", seed_, index_, counter_);
        submit_application c;
        c.application_id = application_id("l" + tag);
        c.kind = kind;
        c.registration_id = s.id;
        c.institution_id = s.institution_id;
        c.applicants = s.applicants;
        if (kind == application_kind::change || kind == application_kind::correction) {
            c.record = record_for(rng_, fmt::format("公共交通客流数据（修订 {}）", tag), s.institution_id);
        }
        c.materials = materials_for(rng_, "变更申请表.pdf");
        return make(crash::subject_of("acct-a"), std::move(c));
    }

    // A command that must be refused: an application nobody submitted, or a
    // withdrawal by an account that is not an applicant.
    command_envelope refused(const registration_state& s) {
        if (const application_state* app = s.open_application(); app && app->applicants.size() == 1) {
            return make(crash::subject_of("acct-b"), withdraw_application{app->id});
        }
        return make(crash::clerk_of(institution_id("LN-SY")),
                    accept_application{application_id(fmt::format("missing-{}-{}", seed_, counter_))});
    }

    std::optional<command_envelope> next_command() {
        if (percent() < 15) return new_registration();
        const auto reg = pool_.pick(rng_);
        if (!reg) return new_registration();
        auto loaded = ledger_.reads().load_registration(*reg);
        if (!loaded) return std::nullopt;
        const registration_state& s = loaded.value();
        if (!s.exists()) return std::nullopt;
        if (percent() < 4) return refused(s);

        const application_state* app = s.open_application();
        if (app == nullptr) return settled(s);
        const actor clerk = crash::clerk_of(app->institution_id);
        const actor applicant = crash::subject_of("acct-a");
        const application_id& id = app->id;
        const unsigned r = percent();
        switch (app->status) {
            case application_status::submitted:
                if (r < 50) return make(clerk, accept_application{id});
                if (r < 70) return make(clerk, request_supplement{id, {"授权文件", "数据样例"}, "请一次补齐"});
                if (r < 78) return make(clerk, reject_application{id, "材料不符合要求"});
                if (r < 88) return make(applicant, withdraw_application{id});
                return make(clerk, accept_application{id});
            case application_status::supplement_requested:
                if (r < 70) {
                    return make(applicant,
                                resubmit_materials{id, std::nullopt, materials_for(rng_, "补正材料.pdf")});
                }
                if (r < 85) return make(applicant, withdraw_application{id});
                // A second notice before the resubmission is refused (一次性告知).
                return make(clerk, request_supplement{id, {"再补"}, ""});
            case application_status::accepted:
                if (r < 55) return make(clerk, pass_review{id});
                if (r < 62) return make(clerk, fail_review{id, "材料与事实不符"});
                // Refused unless the review is overdue (第17条).
                if (r < 80) return make(clerk, explain_review_delay{id, "需要补充核验数据来源"});
                if (r < 88) return make(applicant, withdraw_application{id});
                return make(clerk, pass_review{id});
            case application_status::in_publicity: {
                std::vector<const objection_state*> open;
                for (const auto& o : app->objections) {
                    if (o.open) open.push_back(&o);
                }
                if (r < 35 || (open.empty() && r < 70)) {
                    return make(crash::member_of_public(),
                                file_objection{id, objection_id(fmt::format("o{}-{}-{}", seed_, index_, counter_)),
                                               {"张三", "110101199003074514"}, "数据来源不实",
                                               {{"证据.pdf", hex64(rng_)}}});
                }
                if (!app->objections.empty() && r < 45) {
                    // The same objection again: applied, and changes nothing.
                    const auto& o = app->objections[rng_() % app->objections.size()];
                    return make(crash::member_of_public(), file_objection{id, o.id, o.objector, o.grounds, o.evidence});
                }
                if (!open.empty() && r < 80) {
                    return make(clerk, dismiss_objection{id, open[rng_() % open.size()]->id, "证据不足"});
                }
                if (!open.empty() && r < 85) {
                    return make(clerk, uphold_objection{id, open[rng_() % open.size()]->id, "权属存在争议"});
                }
                if (r < 92) return make(applicant, withdraw_application{id});
                return std::nullopt;
            }
            case application_status::completed:
            case application_status::rejected:
            case application_status::withdrawn:
            case application_status::review_failed:
            case application_status::terminated:
                return std::nullopt;
        }
        return std::nullopt;
    }

    // A registration with no open application.
    std::optional<command_envelope> settled(const registration_state& s) {
        const unsigned r = percent();
        switch (s.status) {
            case registration_status::valid:
                if (r < 40) return later_application(s, application_kind::change);
                if (r < 60) return later_application(s, application_kind::correction);
                if (r < 72) return later_application(s, application_kind::deregistration);
                if (r < 80) {
                    return make(crash::clerk_of(s.institution_id),
                                revoke_registration{s.id, revocation_grounds::false_materials, "经核实，予以撤销。"});
                }
                return std::nullopt;
            case registration_status::revoked:
                if (r < 50) return make(crash::clerk_of(institution_id("LN")), annul_revocation{s.id, "撤销依据不足"});
                return std::nullopt;
            case registration_status::pending:
            case registration_status::deregistered:
            case registration_status::not_registered:
                // Refused: only a valid registration takes a change.
                if (r < 10) return later_application(s, application_kind::change);
                return std::nullopt;
        }
        return std::nullopt;
    }

    projections::ledger& ledger_;
    registration_pool& pool_;
    std::uint64_t seed_;
    int index_;
    std::mt19937_64 rng_;
    std::uint64_t counter_ = 0;
    std::vector<command_envelope> sent_;
    std::shared_ptr<window> window_ = std::make_shared<window>();
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: crash_child DIR SEED START_INSTANT\n");
        return 64;
    }
    const std::string_view seed_text(argv[2]);
    std::uint64_t seed = 0;
    const auto [end, ec] = std::from_chars(seed_text.data(), seed_text.data() + seed_text.size(), seed);
    const auto start = instant::parse(argv[3]);
    if (ec != std::errc() || end != seed_text.data() + seed_text.size() || !start) {
        std::fprintf(stderr, "crash_child: bad SEED or START_INSTANT\n");
        return 64;
    }

    projections::manual_clock clock(*start);
    const institution_directory institutions = crash::institutions();
    projections::ledger_options options;
    options.data_dir = argv[1];
    auto opened = projections::ledger::open_embedded(options, clock, crash::context(institutions));
    if (!opened) {
        std::fprintf(stderr, "crash_child: %s\n", opened.error().message.c_str());
        return 2;
    }
    projections::ledger& ledger = *opened.value();

    for (auto& cmd : crash::seed_commands()) {
        const command_id id = cmd.command_id;
        const auto o = ledger.writes().execute(std::move(cmd));
        if (o.result_kind != command_outcome::kind::applied) {
            std::fprintf(stderr, "crash_child: seeding %s failed: %s\n", id.value().c_str(), o.error.message.c_str());
            return 3;
        }
        emit(crash::format_ack(id, o));
    }

    // The valid registrations last, among the ones picked most: they take
    // changes, corrections, deregistrations and revocations.
    registration_pool pool;
    std::vector<registration_id> valid;
    for (const auto& [key, value] : ledger.reads().dump(projections::cf::directory)) {
        boost::system::error_code ec;
        const auto doc = boost::json::parse(value, ec);
        const auto* status = !ec && doc.is_object() ? doc.as_object().if_contains("status") : nullptr;
        if (status != nullptr && status->is_string() && status->as_string() == "valid") {
            valid.emplace_back(key);
        } else {
            pool.add(registration_id(key));
        }
    }
    for (auto& id : valid) pool.add(std::move(id));
    emit("READY\n");

    std::vector<std::unique_ptr<worker>> crew;
    std::vector<std::thread> threads;
    for (int i = 0; i < workers; ++i) {
        crew.push_back(std::make_unique<worker>(ledger, pool, seed, i));
        threads.emplace_back([w = crew.back().get()] { w->run(); });
    }
    // The workers never stop: the process ends when it is killed.
    for (auto& t : threads) t.join();
    return 0;
}
