#include "cmd/server/api.h"

#include <charconv>
#include <optional>

#include <boost/asio/post.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "cmd/server/metrics.h"
#include "cmd/server/views.h"
#include "engine/authorize.h"
#include "engine/decide.h"
#include "events/json.h"

namespace regledger::server {

namespace http = boost::beast::http;
using boost::json::array;
using boost::json::object;

namespace {

rejection unauthenticated(std::string message) { return reject(errc::unauthenticated, std::move(message)); }
rejection forbidden(std::string message) { return reject(errc::forbidden, std::move(message)); }
rejection not_found(std::string message) { return reject(errc::not_found, std::move(message)); }
rejection malformed(std::string message, std::string field = {}) {
    return reject(errc::malformed, std::move(message), std::move(field));
}

bool is_loopback(const boost::asio::ip::address& a) {
    if (a.is_loopback()) return true;
    return a.is_v6() && a.to_v6().is_v4_mapped() &&
           boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).is_loopback();
}

object position_json(const log_position& p) {
    object o;
    o["partition"] = p.partition.value();
    o["offset"] = p.offset.value();
    return o;
}

// An answer document with the log position it reflects.
object with_position(object doc, const log_position& p) {
    doc["position"] = position_json(p);
    return doc;
}

// The body of a successful command (API.md): the stream, its version, the
// position of the last event, and the events.
object command_body(const projections::command_outcome& o) {
    object body;
    body["stream"] = o.stream.value();
    body["version"] = o.version.value();
    if (o.positions.empty()) {
        body["position"] = nullptr;
    } else {
        body["position"] = position_json(o.positions.back());
    }
    array events;
    for (std::size_t i = 0; i < o.events.size(); ++i) {
        auto e = json::to_json(o.events[i]);
        if (i < o.positions.size()) e.get_object()["position"] = position_json(o.positions[i]);
        events.push_back(std::move(e));
    }
    body["events"] = std::move(events);
    return body;
}

// The credit code a subject reads by: its account's once the real-name check
// is done (第12条). Anyone may open an account with any code; only a verified
// one shows that the caller is that subject. nullopt otherwise.
std::optional<std::string> reading_uscc(const projections::read_model& reads, const actor& caller) {
    if (caller.role != role::subject) return std::nullopt;
    auto acct = reads.load_account(caller.account);
    if (!acct || !acct.value().exists() || !acct.value().verified) return std::nullopt;
    return acct.value().uscc;
}

std::optional<calendar_date> date_param(const request_context& ctx, std::string_view name) {
    if (const auto v = ctx.q(name)) return calendar_date::parse(*v);
    return std::nullopt;
}

}  // namespace

api::api(projections::ledger& ledger, projections::scheduler& scheduler, const config& cfg,
         projections::manual_clock* manual, const events::verify_key* public_key)
    : ledger_(ledger), scheduler_(scheduler), config_(cfg), manual_(manual), public_key_(public_key) {
    build_routes();
}

api::~api() { blocking_.join(); }

http_response api::refusal(http::status status, std::string_view code, std::string_view message, unsigned version) {
    object error;
    error["code"] = code;
    error["message"] = message;
    object body;
    body["error"] = std::move(error);
    return json_response(status, body, version);
}

void api::build_routes() {
    using v = http::verb;
    auto bind = [this](void (api::*fn)(request_context&, reply_fn)) {
        return [this, fn](request_context& ctx, reply_fn reply) { (this->*fn)(ctx, std::move(reply)); };
    };
    routes_ = {
        {v::post, {"v1", "commands"}, access::anyone, bind(&api::post_command)},
        {v::get, {"v1", "registrations"}, access::authenticated, bind(&api::list_registrations)},
        {v::get, {"v1", "registrations", "{id}"}, access::authenticated, bind(&api::get_registration)},
        {v::get, {"v1", "registrations", "{id}", "history"}, access::authenticated, bind(&api::get_history)},
        {v::get, {"v1", "applications", "{id}"}, access::authenticated, bind(&api::get_application)},
        {v::get, {"v1", "accounts", "{id}"}, access::authenticated, bind(&api::get_account)},
        {v::get, {"v1", "public", "publicity"}, access::anyone, bind(&api::get_publicity)},
        {v::get, {"v1", "public", "codes", "{code}"}, access::anyone, bind(&api::get_code)},
        {v::get, {"v1", "stats"}, access::authenticated, bind(&api::get_stats)},
        {v::get, {"v1", "events"}, access::authenticated, bind(&api::get_events)},
        {v::get, {"v1", "audit", "key"}, access::authenticated, bind(&api::get_audit_key)},
        {v::get, {"v1", "audit", "checkpoints"}, access::authenticated, bind(&api::get_checkpoints)},
        {v::get, {"v1", "audit", "checkpoints", "latest"}, access::authenticated, bind(&api::get_latest_checkpoint)},
        {v::get, {"v1", "audit", "proofs", "inclusion"}, access::authenticated, bind(&api::get_inclusion_proof)},
        {v::get, {"v1", "audit", "proofs", "consistency"}, access::authenticated, bind(&api::get_consistency_proof)},
        {v::get, {"v1", "audit", "proofs", "as_of"}, access::authenticated, bind(&api::get_as_of_proof)},
        {v::get, {"healthz"}, access::anyone, bind(&api::get_health)},
        {v::get, {"metrics"}, access::loopback, bind(&api::get_metrics)},
    };
    // The admin clock exists only with a manual clock (API.md).
    if (manual_ != nullptr) routes_.push_back({v::post, {"v1", "admin", "clock"}, access::loopback, bind(&api::post_clock)});
}

void api::count(const http_response& response) {
    const unsigned code = response.result_int();
    if (code < 300) {
        ++counters_.responses_2xx;
    } else if (code < 500) {
        ++counters_.responses_4xx;
    } else {
        ++counters_.responses_5xx;
    }
}

void api::handle(http_request&& request, const boost::asio::ip::tcp::endpoint& remote, reply_fn reply) {
    ++counters_.requests;
    const unsigned version = request.version();
    auto answer = [this, reply = std::move(reply)](http_response response) {
        count(response);
        reply(std::move(response));
    };
    auto fail = [&](const rejection& r) { answer(error_response(r, version)); };

    const auto target = parse_target(request.target());
    if (!target) return fail(malformed("the request target is not valid percent-encoding"));
    const auto segments = path_segments(target->path);

    const route* found = nullptr;
    bool path_matched = false;
    request_context ctx;
    for (const route& r : routes_) {
        if (r.pattern.size() != segments.size()) continue;
        std::map<std::string, std::string, std::less<>> params;
        bool match = true;
        for (std::size_t i = 0; i < segments.size() && match; ++i) {
            if (r.pattern[i].starts_with('{')) {
                params[r.pattern[i].substr(1, r.pattern[i].size() - 2)] = std::string(segments[i]);
            } else {
                match = r.pattern[i] == segments[i];
            }
        }
        if (!match) continue;
        path_matched = true;
        if (r.method != request.method()) continue;
        found = &r;
        ctx.params = std::move(params);
        break;
    }
    if (found == nullptr) {
        if (path_matched) {
            auto res = error_response(malformed(fmt::format("{} is not a method of {}", request.method_string(),
                                                            target->path)),
                                      version);
            res.result(http::status::method_not_allowed);
            return answer(std::move(res));
        }
        return fail(not_found(fmt::format("no route {}", target->path)));
    }

    ctx.http = &request;
    ctx.query = target->query;
    ctx.from_loopback = is_loopback(remote.address());
    // Authentication: a token, when sent, must be one the configuration knows.
    if (const auto header = request.find(http::field::authorization); header != request.end()) {
        const std::string_view value = header->value();
        if (!value.starts_with("Bearer ")) return fail(unauthenticated("the Authorization header is not a Bearer token"));
        ctx.caller = config_.identify(value.substr(7));
        if (!ctx.caller) return fail(unauthenticated("unknown token"));
    }
    switch (found->who) {
        case access::anyone: break;
        case access::authenticated:
            if (!ctx.caller) return fail(unauthenticated("this route needs a token (Authorization: Bearer ...)"));
            break;
        case access::loopback:
            if (!ctx.from_loopback) return fail(forbidden("this route answers on the loopback interface only"));
            break;
    }
    found->run(ctx, std::move(answer));
}

// ---- Commands ------------------------------------------------------------------------

void api::post_command(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    const actor issuer = ctx.caller.value_or(actor{account_id("public"), role::public_, std::nullopt});
    auto parsed = json::parse_command_text(ctx.http->body(), issuer);
    if (!parsed) return reply(error_response(parsed.error(), version));
    // Without a token only the public commands may be sent; say so as 401.
    if (!ctx.caller && authorize_role(parsed.value().body, issuer)) {
        return reply(error_response(unauthenticated("this command needs a token (Authorization: Bearer ...)"), version));
    }
    // Callers without a token are all the same public actor: a repeat of
    // their command is told apart by what it says.
    std::optional<command> anonymous_body;
    if (!ctx.caller) anonymous_body = parsed.value().body;
    auto answer = [reply = std::move(reply), version, issuer,
                   anonymous_body = std::move(anonymous_body)](projections::command_outcome o) {
        // A command id is the client's own: its first outcome (the events,
        // with whatever they hold) goes back to whoever issued it, not to
        // another caller who sends the same id (第9、24条).
        const auto same_caller = [&] {
            const auto& first = o.events.front();
            if (first.envelope.actor != issuer) return false;
            return !anonymous_body || restates(*anonymous_body, first.event);
        };
        if (o.replayed && o.result_kind == projections::command_outcome::kind::applied && !o.events.empty() &&
            !same_caller()) {
            return reply(error_response(reject(errc::conflict, "this command id was used by another caller",
                                               "/command_id"),
                                        version));
        }
        if (o.result_kind == projections::command_outcome::kind::applied) {
            reply(json_response(http::status::ok, command_body(o), version));
        } else {
            reply(error_response(o.error, version));
        }
    };
    ledger_.writes().submit(std::move(parsed).value(), std::move(answer));
}

// ---- Registrations and applications -----------------------------------------------

void api::get_registration(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    const registration_id id(ctx.params.at("id"));
    // Who may read it is decided on the current document, also for as_of.
    auto current = ledger_.reads().registration(id);
    if (!current) return reply(error_response(not_found(fmt::format("no registration {}", id.value())), version));
    const auto& doc = current->document;
    const auto uscc = reading_uscc(ledger_.reads(), *ctx.caller);
    if (auto r = views::may_read(*ctx.caller, config_.institutions(), doc.at("institution_id").as_string(),
                                 doc.at("applicants").as_array(), uscc)) {
        return reply(error_response(*r, version));
    }
    object out;
    log_position position = current->position;
    if (const auto as_of = ctx.q("as_of")) {
        const auto at = instant::parse(*as_of);
        if (!at) return reply(error_response(malformed("as_of is not an RFC 3339 instant", "/as_of"), version));
        auto then = ledger_.reads().registration_as_of(id, *at);
        if (!then) return reply(error_response(reject(errc::unavailable, then.error().message()), version));
        if (!then.value()) {
            return reply(error_response(not_found(fmt::format("registration {} did not exist at {}", id.value(),
                                                              at->to_string())),
                                        version));
        }
        out = std::move(then.value()->document);
        out["as_of"] = at->to_string();
    } else {
        // `doc` is not read again.
        out = std::move(current->document);
    }
    views::cut_document(*ctx.caller, out);
    reply(json_response(http::status::ok, with_position(std::move(out), position), version));
}

void api::get_history(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    const registration_id id(ctx.params.at("id"));
    auto current = ledger_.reads().registration(id);
    if (!current) return reply(error_response(not_found(fmt::format("no registration {}", id.value())), version));
    const auto uscc = reading_uscc(ledger_.reads(), *ctx.caller);
    if (auto r = views::may_read(*ctx.caller, config_.institutions(), current->document.at("institution_id").as_string(),
                                 current->document.at("applicants").as_array(), uscc)) {
        return reply(error_response(*r, version));
    }
    auto history = ledger_.reads().history(registration_stream(id));
    if (!history) return reply(error_response(reject(errc::unavailable, history.error().message()), version));
    array events;
    for (const auto& rec : history.value()) {
        auto e = json::to_json(rec).get_object();
        views::cut_event(*ctx.caller, e);
        events.push_back(std::move(e));
    }
    object out;
    out["registration_id"] = id.value();
    out["events"] = std::move(events);
    reply(json_response(http::status::ok, with_position(std::move(out), current->position), version));
}

void api::list_registrations(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    const actor& caller = *ctx.caller;
    if (caller.role != role::clerk && caller.role != role::auditor) {
        return reply(error_response(forbidden("listing registrations is for clerks and auditors"), version));
    }
    projections::list_filter f;
    if (const auto s = ctx.q("status")) {
        static const std::pair<std::string_view, registration_status> statuses[] = {
            {"pending", registration_status::pending},       {"valid", registration_status::valid},
            {"deregistered", registration_status::deregistered}, {"revoked", registration_status::revoked},
            {"not_registered", registration_status::not_registered}};
        for (const auto& [name, st] : statuses) {
            if (*s == name) f.status = st;
        }
        if (!f.status) return reply(error_response(malformed("unknown status", "/status"), version));
    }
    if (const auto i = ctx.q("institution")) f.institution = institution_id(std::string(*i));
    if (const auto s = ctx.q("subject")) f.subject = std::string(*s);
    if (const auto s = ctx.q("industry")) f.industry = std::string(*s);
    if (const auto s = ctx.q("region")) f.region = std::string(*s);
    if (ctx.q("expiring_before")) {
        f.expiring_before = date_param(ctx, "expiring_before");
        if (!f.expiring_before) {
            return reply(error_response(malformed("expiring_before is not a date (YYYY-MM-DD)", "/expiring_before"), version));
        }
    }
    if (const auto l = ctx.q("limit")) {
        std::size_t limit = 0;
        const auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
        if (ec != std::errc() || end != l->data() + l->size() || limit == 0) {
            return reply(error_response(malformed("limit is a positive whole number", "/limit"), version));
        }
        f.limit = limit;
    }
    if (const auto c = ctx.q("cursor")) f.cursor = std::string(*c);
    // A municipal clerk lists its own institution's registrations only.
    if (caller.role == role::clerk) {
        const institution* own = config_.institutions().find(*caller.institution);
        if (own == nullptr || own->level != institution_level::provincial) {
            if (f.institution && *f.institution != *caller.institution) {
                return reply(error_response(forbidden("a municipal clerk lists its own institution's registrations"),
                                            version));
            }
            f.institution = *caller.institution;
        }
    }
    auto listed = ledger_.reads().list(f);
    if (!listed) return reply(error_response(listed.error(), version));
    reply(json_response(http::status::ok, with_position(std::move(listed.value().document), listed.value().position),
                        version));
}

void api::get_application(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    const application_id id(ctx.params.at("id"));
    auto app = ledger_.reads().application(id);
    if (!app) return reply(error_response(not_found(fmt::format("no application {}", id.value())), version));
    const auto uscc = reading_uscc(ledger_.reads(), *ctx.caller);
    if (auto r = views::may_read(*ctx.caller, config_.institutions(), app->document.at("institution_id").as_string(),
                                 app->document.at("applicants").as_array(), uscc)) {
        return reply(error_response(*r, version));
    }
    views::cut_document(*ctx.caller, app->document);
    reply(json_response(http::status::ok, with_position(std::move(app->document), app->position), version));
}

void api::get_account(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    const account_id id(ctx.params.at("id"));
    const actor& caller = *ctx.caller;
    const bool own = caller.role == role::subject && caller.account == id;
    if (!own && caller.role != role::clerk && caller.role != role::auditor) {
        return reply(error_response(forbidden("an account is read by its subject, clerks and auditors"), version));
    }
    auto doc = ledger_.reads().account(id);
    if (!doc) return reply(error_response(not_found(fmt::format("no account {}", id.value())), version));
    reply(json_response(http::status::ok, with_position(std::move(doc->document), doc->position), version));
}

// ---- Public routes ----------------------------------------------------------------

void api::get_publicity(request_context& ctx, reply_fn reply) {
    auto list = ledger_.reads().publicity();
    reply(json_response(http::status::ok, with_position(std::move(list.document), list.position), ctx.http->version()));
}

void api::get_code(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    auto doc = ledger_.reads().by_code(ctx.params.at("code"));
    if (!doc) return reply(error_response(not_found("no registration has this code"), version));
    reply(json_response(http::status::ok, with_position(std::move(doc->document), doc->position), version));
}

// ---- Supervision and audit ----------------------------------------------------------

void api::get_stats(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    const actor& caller = *ctx.caller;
    if (caller.role != role::supervisor && caller.role != role::clerk && caller.role != role::auditor) {
        return reply(error_response(forbidden("statistics are for supervisors, clerks and auditors"), version));
    }
    std::optional<institution_id> inst;
    if (const auto i = ctx.q("institution")) inst = institution_id(std::string(*i));
    if (caller.role == role::clerk) {
        if (inst && *inst != *caller.institution) {
            return reply(error_response(forbidden("a clerk reads its own institution's service report"), version));
        }
        inst = *caller.institution;
    }
    if (inst && config_.institutions().find(*inst) == nullptr) {
        return reply(error_response(not_found(fmt::format("no institution {}", inst->value())), version));
    }
    const calendar_date today = ledger_.time().now().shanghai_date();
    calendar_date from = calendar_date::from_ymd(today.year(), 1, 1);
    calendar_date to = today;
    if (ctx.q("from")) {
        const auto d = date_param(ctx, "from");
        if (!d) return reply(error_response(malformed("from is not a date (YYYY-MM-DD)", "/from"), version));
        from = *d;
    }
    if (ctx.q("to")) {
        const auto d = date_param(ctx, "to");
        if (!d) return reply(error_response(malformed("to is not a date (YYYY-MM-DD)", "/to"), version));
        to = *d;
    }
    auto report = ledger_.reads().stats(inst, from, to);
    reply(json_response(http::status::ok, with_position(std::move(report.document), report.position), version));
}

void api::get_events(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    if (ctx.caller->role != role::auditor) {
        return reply(error_response(forbidden("the event log is read by auditors"), version));
    }
    log_position from{partition_id(0), log_offset(0)};
    if (const auto after = ctx.q("after")) {
        const auto colon = after->find(':');
        std::int32_t p = 0;
        std::int64_t o = 0;
        const bool ok = colon != std::string_view::npos &&
                        std::from_chars(after->data(), after->data() + colon, p).ec == std::errc() &&
                        std::from_chars(after->data() + colon + 1, after->data() + after->size(), o).ec == std::errc() &&
                        p >= 0 && o >= -1;
        if (!ok) return reply(error_response(malformed("after is partition:offset", "/after"), version));
        // "after" names the last position seen: start at the next one.
        from = {partition_id(p), log_offset(o + 1)};
    }
    std::size_t limit = 100;
    if (const auto l = ctx.q("limit")) {
        const auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
        if (ec != std::errc() || end != l->data() + l->size() || limit == 0) {
            return reply(error_response(malformed("limit is a positive whole number", "/limit"), version));
        }
        limit = std::min<std::size_t>(limit, 1000);
    }
    auto answer = ledger_.reads().events_after(from, limit);
    if (!answer) return reply(error_response(reject(errc::unavailable, answer.error().message()), version));
    auto doc = std::move(answer.value().document);
    // `next` is the `after` of the following page: the last position returned.
    const auto& n = answer.value().position;
    doc["next"] = fmt::format("{}:{}", n.partition.value(), n.offset.value() - 1);
    reply(json_response(http::status::ok, doc, version));
}

// ---- Operations -----------------------------------------------------------------------

void api::get_health(request_context& ctx, reply_fn reply) {
    object body;
    body["status"] = "ok";
    auto end = ledger_.log().end(partition_id(0));
    body["log_end"] = end ? end.value().value() : -1;
    body["checkpoint"] = ledger_.reads().checkpoint(partition_id(0)).value();
    body["clock"] = manual_ ? "manual" : "system";
    body["now"] = ledger_.time().now().to_string();
    reply(json_response(http::status::ok, body, ctx.http->version()));
}

void api::get_metrics(request_context& ctx, reply_fn reply) {
    reply(text_response(http::status::ok, render_metrics(ledger_, scheduler_, counters_),
                        "text/plain; version=0.0.4; charset=utf-8", ctx.http->version()));
}

void api::post_clock(request_context& ctx, reply_fn reply) {
    const unsigned version = ctx.http->version();
    boost::system::error_code ec;
    const auto body = boost::json::parse(ctx.http->body(), ec);
    if (ec || !body.is_object()) return reply(error_response(malformed("the body is not a JSON object"), version));
    for (const auto& [key, value] : body.get_object()) {
        if (key != "now") return reply(error_response(malformed("unknown field", fmt::format("/{}", std::string_view(key))), version));
    }
    const auto* now = body.get_object().if_contains("now");
    if (now == nullptr || !now->is_string()) {
        return reply(error_response(malformed("now is required: an RFC 3339 instant", "/now"), version));
    }
    const auto to = instant::parse(now->get_string());
    if (!to) return reply(error_response(malformed("now is not an RFC 3339 instant", "/now"), version));
    if (auto moved = manual_->set(*to); !moved) return reply(error_response(moved.error(), version));
    // Answer once everything due by then has fired and been applied.
    boost::asio::post(blocking_, [this, reply = std::move(reply), version, to = *to] {
        const auto report = scheduler_.fire_due();
        object out;
        out["now"] = to.to_string();
        out["timers_fired"] = report.fired;
        out["commands_applied"] = report.applied;
        if (report.unavailable > 0) {
            return reply(error_response(reject(errc::unavailable, "the log is unreachable; some timers did not fire"),
                                        version));
        }
        reply(json_response(http::status::ok, out, version));
    });
}

}  // namespace regledger::server
