#include "projections/replay.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <vector>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "projections/projector.h"
#include "projections/two_threads.h"

namespace regledger::projections {

replayer::replayer(events::rocks_store& target, const read_model& reads)
    : target_(target), reads_(reads), tree_(target) {}

replayer::replayer(events::rocks_store& target, const read_model& reads, fresh_store)
    : replayer(target, reads) {
    fresh_ = true;
    behind_ = std::make_unique<events::write_behind>(target);
}

result<void> replayer::write(rocksdb::WriteBatch& batch) {
    if (behind_) return behind_->write(std::move(batch));
    return target_.write(batch);
}

result<replayer::stream_state*> replayer::load(const stream_id& id) {
    if (auto it = states_.find(id); it != states_.end()) return &it->second;
    stream_state s;
    if (fresh_) {
        // A stream this replay has not seen is not in a fresh store either.
        if (id.value().starts_with("acct-")) s.state = account_state{};
    } else if (id.value().starts_with("acct-")) {
        BOOST_OUTCOME_TRY(auto a, reads_.load_account(account_id(id.value().substr(5))));
        s.state = std::move(a);
    } else {
        BOOST_OUTCOME_TRY(auto r, reads_.load_registration(registration_id(id.value().substr(4))));
        s.state = std::move(r);
    }
    if (auto head = reads_.head_of(id)) s.head = head->hash;
    return &states_.emplace(id, std::move(s)).first->second;
}

result<std::vector<replayer::prepared_record>> replayer::prepare(std::span<const events::stored_record> records) {
    std::vector<prepared_record> out;
    out.reserve(records.size());
    for (const auto& r : records) {
        BOOST_OUTCOME_TRY(auto rec, events::decode(r.value));
        out.push_back({&r, std::move(rec), events::merkle::leaf_hash(r.value)});
    }
    return out;
}

result<void> replayer::apply(std::span<const events::stored_record> records) {
    BOOST_OUTCOME_TRY(auto prepared, prepare(records));
    return apply(std::span<const prepared_record>(prepared));
}

result<void> replayer::apply(std::span<const prepared_record> records) {
    if (records.empty()) return success();
    std::optional<projection_batch> holder;
    if (fresh_) {
        // Beside a Kafka log each record's bytes go in as its history row,
        // with its Merkle rows and outcome.
        std::size_t bytes = 0;
        for (const auto& p : records) bytes += p.stored->value.size() + 512;
        holder.emplace(target_, counters_, bytes);
    } else {
        holder.emplace(target_);
    }
    projection_batch& rows = *holder;
    // The states before this batch, for the streams it touches (a fresh
    // store's are written by finish()).
    std::map<stream_id, std::variant<registration_state, account_state>> before;
    // The command of the first record, when it is a command's.
    std::optional<command_id> continued;
    std::optional<command_id> last_command;
    // command id -> outcome, in the order the commands appear.
    std::map<command_id, stored_outcome> outcomes;
    for (const auto& p : records) {
        const events::stored_record& r = *p.stored;
        const event_record& rec = p.record;
        const envelope& env = rec.envelope;
        BOOST_OUTCOME_TRY(tree_.append(rows.batch(), r.position, rec, p.leaf_hash));
        rows.on_recorded(rec, r.value, r.position);
        if (is_ledger_stream(env.stream_id)) {
            // A checkpoint: no state, no command outcome.
            rows.on_ledger_event(rec);
            continue;
        }
        if (&p == &records.front()) continued = env.command_id;
        last_command = env.command_id;
        BOOST_OUTCOME_TRY(stream_state * s, load(env.stream_id));
        if (fresh_) {
            s->unsettled = true;
        } else {
            before.try_emplace(env.stream_id, s->state);
        }
        if (auto* reg = std::get_if<registration_state>(&s->state)) {
            rows.on_registration_event(*reg, rec);
            *reg = evolve(std::move(*reg), rec.event);
        } else {
            auto& acct = std::get<account_state>(s->state);
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
    // A command's events are contiguous in the log, so only the first
    // record's may have begun in an earlier batch: merge its outcome with what
    // the target already holds for it.
    for (auto& [id, o] : outcomes) {
        if (id == continued) {
            std::optional<stored_outcome> earlier;
            if (!fresh_) {
                earlier = reads_.outcome_of(id);
            } else if (last_outcome_ && last_outcome_->first == id) {
                earlier = std::move(last_outcome_->second);
            }
            if (earlier && earlier->ok && earlier->stream == o.stream) {
                o.from_version = earlier->from_version;
                o.positions.insert(o.positions.begin(), earlier->positions.begin(), earlier->positions.end());
            }
        }
        rows.on_command(id, o);
    }
    if (fresh_) {
        last_outcome_.reset();
        if (last_command) last_outcome_.emplace(*last_command, std::move(outcomes.at(*last_command)));
    }
    for (const auto& [id, was] : before) {
        const stream_state& s = states_.at(id);
        if (const auto* reg = std::get_if<registration_state>(&s.state)) {
            rows.on_registration_settled(std::get<registration_state>(was), *reg, s.head);
        } else {
            rows.on_account_settled(std::get<account_state>(s.state), s.head);
        }
    }
    const log_position last = records.back().stored->position;
    tree_.finish(rows.batch());
    rows.on_checkpoint(last.partition, log_offset(last.offset.value() + 1));
    rows.finish();
    BOOST_OUTCOME_TRY(write(rows.batch()));
    applied_ += records.size();
    return success();
}

result<void> replayer::finish(std::size_t streams_per_batch) {
    if (!fresh_) return success();
    std::vector<stream_state*> unsettled;
    unsettled.reserve(states_.size());
    for (auto& [id, s] : states_) {
        if (!s.unsettled) continue;
        s.unsettled = false;
        unsettled.push_back(&s);
    }
    // Building the rows (documents as JSON, indexes, timers) is most of the
    // work: two threads take chunks of `streams_per_batch` streams in turn,
    // each counting into counters of its own, which add up afterwards (a
    // stream's rows do not depend on another's). The write_behind keeps the
    // batches in the order they are handed over, which is not the streams'
    // order here; the rows do not overlap, so the store ends the same.
    const std::size_t per_batch = std::max<std::size_t>(streams_per_batch, 1);
    const std::size_t chunks = (unsettled.size() + per_batch - 1) / per_batch;
    struct worker_result {
        counter_values counters;
        result<void> written = success();
    };
    std::array<worker_result, 2> workers;
    on_two_threads(chunks, [&](std::size_t chunk, std::size_t thread) {
        worker_result& out = workers[thread];
        projection_batch rows(target_, out.counters);
        const std::size_t end = std::min(unsettled.size(), (chunk + 1) * per_batch);
        for (std::size_t i = chunk * per_batch; i < end; ++i) {
            const stream_state& s = *unsettled[i];
            if (const auto* reg = std::get_if<registration_state>(&s.state)) {
                rows.on_registration_settled(registration_state{}, *reg, s.head);
            } else {
                rows.on_account_settled(std::get<account_state>(s.state), s.head);
            }
        }
        out.written = write(rows.batch());
        return out.written.has_value();
    });
    for (auto& w : workers) {
        BOOST_OUTCOME_TRY(std::move(w.written));
        for (const auto& [key, value] : w.counters) counters_[key] += value;
    }
    projection_batch rows(target_, counters_);
    rows.write_counters();
    BOOST_OUTCOME_TRY(write(rows.batch()));
    return behind_->drain();
}

result<std::uint64_t> catch_up(events::rocks_store& store, const events::event_log& log, const read_model& reads) {
    replayer replay(store, reads);
    for (std::int32_t p = 0; p < log.partition_count(); ++p) {
        const partition_id partition(p);
        // A node's read models hold the partitions it owns.
        if (!log.owns(partition)) continue;
        BOOST_OUTCOME_TRY(auto end, log.end(partition));
        // Everything committed below the end, including a transaction whose
        // commit was answered a moment ago. This writer's own transactions
        // are decided by then (after a failure, settle() has the coordinator
        // finish or abort them first). One that stays open past the bound
        // all the same (left by another producer, or an abort whose markers
        // are still being written) is not waited for: its records were never
        // acknowledged, and the read models take the readable part of the
        // log.
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
