#include "projections/scheduler.h"

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <set>
#include <vector>

#include "projections/keys.h"

namespace regledger::projections {

scheduler::scheduler(writer& w, const read_model& reads, const clock& time, scheduler_options options)
    : writer_(w), reads_(reads), clock_(time), options_(options) {}

scheduler::~scheduler() { stop(); }

void scheduler::start() {
    std::lock_guard lock(mutex_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void scheduler::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void scheduler::notify() {
    {
        std::lock_guard lock(mutex_);
        notified_ = true;
    }
    wake_.notify_all();
}

std::optional<instant> scheduler::next_due() const {
    auto& store = reads_.store();
    std::unique_ptr<rocksdb::Iterator> it(store.db().NewIterator(rocksdb::ReadOptions(), store.cf(cf::timers)));
    it->SeekToFirst();
    if (!it->Valid() || it->key().size() < 8) return std::nullopt;
    return instant::from_unix_us(get_i64(it->key().ToStringView(), 0));
}

std::uint64_t scheduler::pending_estimate() const {
    auto& store = reads_.store();
    std::uint64_t keys = 0;
    store.db().GetIntProperty(store.cf(cf::timers), "rocksdb.estimate-num-keys", &keys);
    return keys;
}

fire_report scheduler::fire_due() {
    std::lock_guard serialized(fire_mutex_);
    fire_report report;
    // Command ids fired by this call: a timer whose command changed nothing
    // is not fired again in a loop.
    std::set<std::string> fired_ids;
    auto& store = reads_.store();
    for (;;) {
        const instant now = clock_.now();
        std::vector<command_envelope> due;
        {
            std::unique_ptr<rocksdb::Iterator> it(store.db().NewIterator(rocksdb::ReadOptions(), store.cf(cf::timers)));
            for (it->SeekToFirst(); it->Valid() && due.size() < options_.round_timers_max; it->Next()) {
                const std::string key = it->key().ToString();
                const instant at = instant::from_unix_us(get_i64(key, 0));
                if (at > now) break;
                auto cmd = decode_timer_row(key, it->value().ToStringView());
                if (!cmd) continue;
                const std::string_view stream(key.data() + 9, key.size() - 9 - 2);
                const command_id id = timer_command_id(stream_id(std::string(stream)),
                                                       static_cast<timer_kind>(static_cast<std::uint8_t>(key.back())), at);
                if (!fired_ids.insert(id.value()).second) continue;
                command_envelope env;
                env.command_id = id;
                env.issued_by = actor{account_id("scheduler"), role::system, std::nullopt};
                env.body = std::move(*cmd);
                due.push_back(std::move(env));
            }
        }
        if (due.empty()) return report;
        // Submit them all, then wait for every outcome.
        auto remaining = std::make_shared<std::atomic<std::size_t>>(due.size());
        auto applied = std::make_shared<std::atomic<std::uint64_t>>(0);
        auto unavailable = std::make_shared<std::atomic<std::uint64_t>>(0);
        auto all_done = std::make_shared<std::promise<void>>();
        auto future = all_done->get_future();
        for (auto& cmd : due) {
            writer_.submit(std::move(cmd), [remaining, applied, unavailable, all_done](command_outcome o) {
                if (o.result_kind == command_outcome::kind::applied && !o.events.empty()) ++*applied;
                if (o.result_kind == command_outcome::kind::unavailable) ++*unavailable;
                if (--*remaining == 0) all_done->set_value();
            });
        }
        future.wait();
        report.fired += due.size();
        report.applied += applied->load();
        report.unavailable += unavailable->load();
        if (unavailable->load() > 0) {
            // The log is unreachable: the timers stay, and fire on a later call.
            return report;
        }
    }
}

void scheduler::run() {
    for (;;) {
        fire_due();
        std::unique_lock lock(mutex_);
        if (stopping_) return;
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(options_.poll_interval);
        if (const auto next = next_due()) {
            const auto until = std::chrono::milliseconds((next->unix_us() - clock_.now().unix_us()) / 1000 + 1);
            wait = std::clamp(until, std::chrono::milliseconds(0), wait);
        }
        wake_.wait_for(lock, wait, [&] { return stopping_ || notified_; });
        notified_ = false;
        if (stopping_) return;
    }
}

}  // namespace regledger::projections
