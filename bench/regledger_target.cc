#include "bench/regledger_target.h"

#include <cassert>
#include <cstdlib>
#include <fstream>
#include <string_view>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "projections/clock.h"
#include "projections/ledger.h"

namespace regledger::bench {

namespace {

// One client of the ledger: commands through the writer, reads through the
// read model, as the HTTP API does them for one request.
class regledger_session final : public session {
public:
    explicit regledger_session(projections::ledger& l) : ledger_(l) {}

    answer execute(const command_envelope& command) override {
        // execute() submits and waits for the batch's commit.
        const projections::command_outcome out = ledger_.writes().execute(command);
        failure_.clear();
        switch (out.result_kind) {
            case projections::command_outcome::kind::applied: return answer::applied;
            case projections::command_outcome::kind::rejected:
                failure_ = describe(out.error);
                return answer::rejected;
            case projections::command_outcome::kind::unavailable:
                failure_ = describe(out.error);
                return answer::unavailable;
        }
        return answer::unavailable;
    }

    bool get_registration(const std::string& registration_id) override {
        auto current = ledger_.reads().registration(regledger::registration_id(registration_id));
        if (!current) return false;
        // Serialized as the API sends it, so that both systems hand out text.
        body_ = boost::json::serialize(current->document);
        return true;
    }

    std::string last_failure() const override { return failure_; }

private:
    static std::string describe(const rejection& r) {
        return fmt::format("{}{}{} {}", api_code(r.code), r.field.empty() ? "" : " ", r.field, r.message);
    }

    projections::ledger& ledger_;
    std::string failure_;
    std::string body_;
};

projections::ledger_context bench_context() {
    return {&workload::rules(), &workload::institutions(), digest{}};
}

}  // namespace

struct regledger_target::impl {
    explicit impl(instant start) : clock(start) {}

    // What the process held before the ledger was opened.
    std::uint64_t resident_before = process_resident_bytes();
    projections::manual_clock clock;
    std::unique_ptr<projections::ledger> ledger;
    std::string name;
};

regledger_target::regledger_target(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

regledger_target::~regledger_target() = default;

result<std::unique_ptr<regledger_target>, std::string> regledger_target::open(const regledger_target_options& options) {
    auto i = std::make_unique<impl>(options.start);
    projections::ledger_options lo;
    lo.data_dir = options.data_dir;
    lo.sync_writes = options.mode == durability::durable;
    const std::string_view durable = options.mode == durability::durable ? "durable" : "not durable";
    if (options.kafka) {
        auto l = projections::ledger::open_kafka(lo, *options.kafka, i->clock, bench_context());
        if (!l) return fmt::format("cannot open the Kafka ledger ({}): {}", options.kafka->topic, l.error().message);
        i->ledger = std::move(l).value();
        i->name = fmt::format("regledger on Kafka ({}, topic {}; {})", options.kafka->brokers, options.kafka->topic,
                              durable);
    } else {
        auto l = projections::ledger::open_embedded(lo, i->clock, bench_context());
        if (!l) return fmt::format("cannot open the ledger in {}: {}", options.data_dir.string(), l.error().message);
        i->ledger = std::move(l).value();
        i->name = fmt::format("regledger on the embedded log ({}; {})", options.data_dir.string(), durable);
    }
    return std::unique_ptr<regledger_target>(new regledger_target(std::move(i)));
}

std::string regledger_target::name() const { return impl_->name; }

void regledger_target::set_time(instant at) {
    const auto moved = impl_->clock.set(at);
    assert(moved && "the workload's ticks move forward");
    (void)moved;
}

std::unique_ptr<session> regledger_target::open_session() {
    return std::make_unique<regledger_session>(*impl_->ledger);
}

std::uint64_t regledger_target::resident_bytes() const {
    const std::uint64_t now = process_resident_bytes();
    return now > impl_->resident_before ? now - impl_->resident_before : 0;
}

}  // namespace regledger::bench
