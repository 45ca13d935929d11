#include "projections/replay.h"

#include <map>

#include "events/codec.h"
#include "events/kafka_log.h"
#include "projections/projector.h"

namespace regledger::projections {

replayer::replayer(events::rocks_store& target, const read_model& reads)
    : target_(target), reads_(reads), tree_(target) {}

result<replayer::stream_state*> replayer::load(const stream_id& id) {
    if (auto it = states_.find(id); it != states_.end()) return &it->second;
    stream_state s;
    if (id.value().starts_with("acct-")) {
        BOOST_OUTCOME_TRY(auto a, reads_.load_account(account_id(id.value().substr(5))));
        s.state = std::move(a);
    } else {
        BOOST_OUTCOME_TRY(auto r, reads_.load_registration(registration_id(id.value().substr(4))));
        s.state = std::move(r);
    }
    if (auto head = reads_.head_of(id)) s.head = head->hash;
    return &states_.emplace(id, std::move(s)).first->second;
}

result<void> replayer::apply(std::span<const events::stored_record> records) {
    if (records.empty()) return success();
    projection_batch rows(target_);
    // The states before this batch, for the streams it touches.
    std::map<stream_id, std::variant<registration_state, account_state>> before;
    // command id -> outcome, in the order the commands appear.
    std::map<command_id, stored_outcome> outcomes;
    for (const auto& r : records) {
        BOOST_OUTCOME_TRY(auto rec, events::decode(r.value));
        const envelope& env = rec.envelope;
        BOOST_OUTCOME_TRY(tree_.append(rows.batch(), r.position, rec, r.value));
        if (is_ledger_stream(env.stream_id)) {
            // A checkpoint: no state, no command outcome.
            rows.on_ledger_event(rec, r.value);
            continue;
        }
        BOOST_OUTCOME_TRY(stream_state * s, load(env.stream_id));
        before.try_emplace(env.stream_id, s->state);
        if (auto* reg = std::get_if<registration_state>(&s->state)) {
            rows.on_registration_event(*reg, rec, r.value);
            *reg = evolve(std::move(*reg), rec.event);
        } else {
            auto& acct = std::get<account_state>(s->state);
            rows.on_account_event(rec, r.value);
            acct = evolve(std::move(acct), rec.event);
        }
        s->head = env.hash;
        auto [it, first] = outcomes.try_emplace(env.command_id);
        stored_outcome& o = it->second;
        if (first) {
            o.ok = true;
            o.stream = env.stream_id;
            o.from_version = env.version.value();
        }
        o.to_version = env.version.value();
        o.positions.push_back(r.position);
    }
    for (const auto& [id, o] : outcomes) {
        // A command's events may span two replay batches: merge with what the
        // target already holds for it.
        stored_outcome merged = o;
        if (auto earlier = reads_.outcome_of(id); earlier && earlier->ok && earlier->stream == o.stream) {
            merged.from_version = earlier->from_version;
            merged.positions.insert(merged.positions.begin(), earlier->positions.begin(), earlier->positions.end());
        }
        rows.on_command(id, merged);
    }
    for (const auto& [id, was] : before) {
        const stream_state& s = states_.at(id);
        if (const auto* reg = std::get_if<registration_state>(&s.state)) {
            rows.on_registration_settled(std::get<registration_state>(was), *reg, s.head);
        } else {
            rows.on_account_settled(std::get<account_state>(s.state), s.head);
        }
    }
    const log_position last = records.back().position;
    tree_.finish(rows.batch());
    rows.on_checkpoint(last.partition, log_offset(last.offset.value() + 1));
    rows.finish();
    BOOST_OUTCOME_TRY(target_.write(rows.batch()));
    applied_ += records.size();
    return success();
}

result<std::uint64_t> catch_up(events::rocks_store& store, const events::event_log& log, const read_model& reads) {
    replayer replay(store, reads);
    for (std::int32_t p = 0; p < log.partition_count(); ++p) {
        const partition_id partition(p);
        // A node's read models hold the partitions it owns.
        if (!log.owns(partition)) continue;
        BOOST_OUTCOME_TRY(auto end, log.end(partition));
        // Everything committed below the end, including a transaction whose
        // commit was answered a moment ago. A transaction that stays open
        // past the bound (one the coordinator has yet to abort after a broker
        // crash) is not waited for: its records were never acknowledged, and
        // the read models take the readable part of the log.
        if (auto stable = log.await_stable(partition, end);
            !stable && stable.error() != make_error_code(events::kafka_errc::unstable)) {
            return stable.error();
        }
        for (log_offset next = reads.checkpoint(partition); next < end;) {
            BOOST_OUTCOME_TRY(auto records, log.read({partition, next}, 4096));
            if (records.empty()) break;
            BOOST_OUTCOME_TRY(replay.apply(records));
            next = log_offset(records.back().position.offset.value() + 1);
        }
    }
    return replay.applied();
}

}  // namespace regledger::projections
