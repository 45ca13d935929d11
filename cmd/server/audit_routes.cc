// The auditor's routes (API: "Audit" in cmd/server/README.md): the signed
// checkpoints of each partition's Merkle tree, the public key that signs
// them, and the proofs that an event is in a checkpoint's tree and that a
// later checkpoint's tree extends an earlier one (events/merkle.h). A proof
// carries everything its check needs; the check needs nothing from here.
#include <charconv>

#include <fmt/format.h>

#include "cmd/server/api.h"
#include "engine/sha256.h"
#include "events/signing.h"
#include "projections/audit.h"

namespace regledger::server {

namespace http = boost::beast::http;
using boost::json::array;
using boost::json::object;

namespace {

rejection malformed(std::string message, std::string field) {
    return reject(errc::malformed, std::move(message), std::move(field));
}

// The audit routes answer auditors only.
std::optional<rejection> not_auditor(const request_context& ctx) {
    if (ctx.caller->role == role::auditor) return std::nullopt;
    return reject(errc::forbidden, "the audit routes are for auditors");
}

std::optional<std::uint64_t> whole_number(std::string_view text) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return n;
}

object checkpoint_json(const projections::checkpoint_entry& e) {
    const auto& c = e.checkpoint;
    object o;
    o["partition"] = c.partition;
    o["tree_size"] = c.tree_size;
    o["root_hash"] = to_hex(c.root_hash.value());
    o["signed_at"] = c.signed_at.to_string();
    o["key_id"] = c.key_id;
    o["signature"] = c.signature;
    // The checkpoint's own event, which is the tree's next leaf.
    o["stream"] = ledger_stream(c.partition).value();
    o["version"] = e.version.value();
    o["hash"] = to_hex(e.hash.value());
    o["leaf_index"] = e.leaf;
    object position;
    position["partition"] = e.position.partition.value();
    position["offset"] = e.position.offset.value();
    o["position"] = std::move(position);
    return o;
}

array hashes_json(const std::vector<events::merkle::hash>& hashes) {
    array out;
    for (const auto& h : hashes) out.emplace_back(to_hex(h));
    return out;
}

}  // namespace

// The partition a route names (?partition=, default 0), or a rejection.
result<partition_id, rejection> api::partition_param(const request_context& ctx) const {
    const auto p = ctx.q("partition");
    if (!p) return partition_id(0);
    const auto n = whole_number(*p);
    if (!n || *n >= static_cast<std::uint64_t>(ledger_.log().partition_count())) {
        return malformed(fmt::format("partition is a number below {}", ledger_.log().partition_count()), "/partition");
    }
    return partition_id(static_cast<std::int32_t>(*n));
}

// The checkpoint a route names (?tree_size=, default the latest).
result<projections::checkpoint_entry, rejection> api::checkpoint_param(const request_context& ctx,
                                                                        std::string_view name,
                                                                        partition_id partition) const {
    const projections::audit_reads audit(ledger_.store());
    if (const auto size = ctx.q(name)) {
        const auto n = whole_number(*size);
        if (!n) return malformed(fmt::format("{} is a whole number", name), fmt::format("/{}", name));
        auto e = audit.checkpoint(partition, *n);
        if (!e) {
            return reject(errc::not_found,
                          fmt::format("partition {} has no checkpoint of tree size {}", partition.value(), *n));
        }
        return std::move(*e);
    }
    auto latest = audit.latest_checkpoint(partition);
    if (!latest) return reject(errc::not_found, fmt::format("partition {} has no checkpoint yet", partition.value()));
    return std::move(*latest);
}

void api::get_audit_key(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    if (auto refused = not_auditor(ctx)) return reply(error_response(*refused, version));
    if (public_key_ == nullptr) {
        return reply(error_response(reject(errc::not_found, "this ledger signs no checkpoints (no --signing-key)"),
                                    version));
    }
    object body;
    body["key_id"] = public_key_->id();
    body["algorithm"] = "Ed25519";
    body["public_key_pem"] = public_key_->pem();
    reply(json_response(http::status::ok, body, version));
}

void api::get_checkpoints(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    if (auto refused = not_auditor(ctx)) return reply(error_response(*refused, version));
    auto partition = partition_param(ctx);
    if (!partition) return reply(error_response(partition.error(), version));
    std::uint64_t after = 0;
    if (const auto a = ctx.q("after")) {
        const auto n = whole_number(*a);
        if (!n) return reply(error_response(malformed("after is a tree size", "/after"), version));
        after = *n;
    }
    std::size_t limit = 100;
    if (const auto l = ctx.q("limit")) {
        const auto n = whole_number(*l);
        if (!n || *n == 0) return reply(error_response(malformed("limit is a positive whole number", "/limit"), version));
        limit = static_cast<std::size_t>(std::min<std::uint64_t>(*n, 1000));
    }
    const projections::audit_reads audit(ledger_.store());
    array items;
    for (const auto& e : audit.checkpoints(partition.value(), after, limit)) items.push_back(checkpoint_json(e));
    object body;
    body["items"] = std::move(items);
    reply(json_response(http::status::ok, body, version));
}

void api::get_latest_checkpoint(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    if (auto refused = not_auditor(ctx)) return reply(error_response(*refused, version));
    auto partition = partition_param(ctx);
    if (!partition) return reply(error_response(partition.error(), version));
    auto e = checkpoint_param(ctx, "tree_size", partition.value());
    if (!e) return reply(error_response(e.error(), version));
    reply(json_response(http::status::ok, checkpoint_json(e.value()), version));
}

void api::get_inclusion_proof(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    if (auto refused = not_auditor(ctx)) return reply(error_response(*refused, version));
    const auto stream = ctx.q("stream");
    if (!stream || stream->empty()) {
        return reply(error_response(malformed("stream is required (reg-ID, acct-ID or ledger-pN)", "/stream"), version));
    }
    const auto v = ctx.q("version");
    const auto event_version = v ? whole_number(*v) : std::nullopt;
    if (!event_version || *event_version == 0) {
        return reply(error_response(malformed("version is the event's version in its stream, from 1", "/version"),
                                    version));
    }
    const projections::audit_reads audit(ledger_.store());
    const stream_id id{std::string(*stream)};
    const auto leaf = audit.leaf_of(id, stream_version(*event_version));
    if (!leaf) {
        return reply(error_response(
            reject(errc::not_found, fmt::format("{} has no event of version {}", *stream, *event_version)), version));
    }
    auto checkpoint = checkpoint_param(ctx, "tree_size", leaf->partition);
    if (!checkpoint) return reply(error_response(checkpoint.error(), version));
    const auto& c = checkpoint.value().checkpoint;
    if (leaf->leaf >= c.tree_size) {
        return reply(error_response(
            reject(errc::invalid_state, fmt::format("the event is leaf {}, after the checkpoint of tree size {}: ask "
                                                    "a later checkpoint",
                                                    leaf->leaf, c.tree_size)),
            version));
    }
    auto path = events::merkle::inclusion_proof(leaf->leaf, c.tree_size, audit.nodes(leaf->partition));
    if (!path) return reply(error_response(reject(errc::unavailable, path.error().message()), version));
    auto record = ledger_.reads().stored_event(id, stream_version(*event_version));
    if (!record) {
        return reply(error_response(reject(errc::unavailable, "the event's record cannot be read"), version));
    }
    object body;
    body["stream"] = id.value();
    body["version"] = *event_version;
    body["partition"] = leaf->partition.value();
    body["offset"] = leaf->offset.value();
    body["leaf_index"] = leaf->leaf;
    body["tree_size"] = c.tree_size;
    // The record exactly as the log stores it: its leaf hash is
    // SHA-256(0x00 || these bytes).
    body["record_hex"] = events::hex_of(*record);
    body["leaf_hash"] = to_hex(leaf->leaf_hash);
    body["audit_path"] = hashes_json(path.value());
    body["checkpoint"] = checkpoint_json(checkpoint.value());
    reply(json_response(http::status::ok, body, version));
}

void api::get_consistency_proof(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    if (auto refused = not_auditor(ctx)) return reply(error_response(*refused, version));
    auto partition = partition_param(ctx);
    if (!partition) return reply(error_response(partition.error(), version));
    if (!ctx.q("from")) return reply(error_response(malformed("from is the earlier checkpoint's tree size", "/from"), version));
    auto first = checkpoint_param(ctx, "from", partition.value());
    if (!first) return reply(error_response(first.error(), version));
    auto second = checkpoint_param(ctx, "to", partition.value());
    if (!second) return reply(error_response(second.error(), version));
    const std::uint64_t m = first.value().checkpoint.tree_size;
    const std::uint64_t n = second.value().checkpoint.tree_size;
    if (m > n) {
        return reply(error_response(malformed(fmt::format("from ({}) is after to ({})", m, n), "/from"), version));
    }
    const projections::audit_reads audit(ledger_.store());
    auto proof = events::merkle::consistency_proof(m, n, audit.nodes(partition.value()));
    if (!proof) return reply(error_response(reject(errc::unavailable, proof.error().message()), version));
    object body;
    body["partition"] = partition.value().value();
    body["first"] = checkpoint_json(first.value());
    body["second"] = checkpoint_json(second.value());
    body["proof"] = hashes_json(proof.value());
    reply(json_response(http::status::ok, body, version));
}

// An as-of answer an auditor can check: the registration as it stood at
// `as_of`, every event folded into it with its inclusion proof in a
// checkpoint, and the stream's next event (the first that occurred after
// `as_of`) with its proof, which shows where the fold stopped. Folding the
// proven records (versions 1..k, chained by prev_hash) gives the document.
void api::get_as_of_proof(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    if (auto refused = not_auditor(ctx)) return reply(error_response(*refused, version));
    const auto reg = ctx.q("registration");
    if (!reg || reg->empty()) {
        return reply(error_response(malformed("registration is required", "/registration"), version));
    }
    const auto as_of_text = ctx.q("as_of");
    const auto as_of = as_of_text ? instant::parse(*as_of_text) : std::nullopt;
    if (!as_of) return reply(error_response(malformed("as_of is an RFC 3339 instant", "/as_of"), version));
    const registration_id id{std::string(*reg)};
    const stream_id stream = registration_stream(id);
    auto history = ledger_.reads().history(stream);
    if (!history) return reply(error_response(reject(errc::unavailable, history.error().message()), version));
    if (history.value().empty()) {
        return reply(error_response(reject(errc::not_found, fmt::format("no registration {}", id.value())), version));
    }
    auto then = ledger_.reads().registration_as_of(id, *as_of);
    if (!then) return reply(error_response(reject(errc::unavailable, then.error().message()), version));
    if (!then.value()) {
        return reply(error_response(
            reject(errc::not_found, fmt::format("registration {} did not exist at {}", id.value(), as_of->to_string())),
            version));
    }
    const projections::audit_reads audit(ledger_.store());
    const auto first_leaf = audit.leaf_of(stream, stream_version(1));
    if (!first_leaf) return reply(error_response(reject(errc::unavailable, "the stream's leaves cannot be read"), version));
    auto checkpoint = checkpoint_param(ctx, "tree_size", first_leaf->partition);
    if (!checkpoint) return reply(error_response(checkpoint.error(), version));
    const std::uint64_t size = checkpoint.value().checkpoint.tree_size;

    // One event's proof, or a rejection when the checkpoint does not cover it.
    auto proven = [&](const event_record& rec) -> result<object, rejection> {
        const auto leaf = audit.leaf_of(stream, rec.envelope.version);
        const auto bytes = ledger_.reads().stored_event(stream, rec.envelope.version);
        if (!leaf || !bytes) return reject(errc::unavailable, "an event's leaf cannot be read");
        if (leaf->leaf >= size) {
            return reject(errc::invalid_state,
                          fmt::format("version {} of {} is leaf {}, after the checkpoint of tree size {}: ask again "
                                      "after the next checkpoint",
                                      rec.envelope.version.value(), stream.value(), leaf->leaf, size));
        }
        auto path = events::merkle::inclusion_proof(leaf->leaf, size, audit.nodes(leaf->partition));
        if (!path) return reject(errc::unavailable, path.error().message());
        object o;
        o["version"] = rec.envelope.version.value();
        o["occurred_at"] = rec.envelope.occurred_at.to_string();
        o["leaf_index"] = leaf->leaf;
        o["record_hex"] = events::hex_of(*bytes);
        o["audit_path"] = hashes_json(path.value());
        return o;
    };
    array folded;
    object body;
    body["next_event"] = nullptr;
    for (const auto& rec : history.value()) {
        auto p = proven(rec);
        if (rec.envelope.occurred_at > *as_of) {
            // The first event after the instant: it bounds the fold. One the
            // checkpoint does not cover yet is left out (null).
            if (p) body["next_event"] = std::move(p).value();
            break;
        }
        if (!p) return reply(error_response(p.error(), version));
        folded.push_back(std::move(p).value());
    }
    body["registration_id"] = id.value();
    body["stream"] = stream.value();
    body["as_of"] = as_of->to_string();
    body["document"] = then.value()->document;
    body["events"] = std::move(folded);
    body["checkpoint"] = checkpoint_json(checkpoint.value());
    reply(json_response(http::status::ok, body, version));
}

}  // namespace regledger::server
