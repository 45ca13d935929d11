// api: the command API of API.md, as one route table. Each route is
// parse -> command or query -> answer, and says who may call it; what a
// caller sees is cut to its role (第9、18、24条) in views.h.
//
// Reads run on the HTTP thread that received the request (RocksDB reads are
// short). Commands go to the writer and are answered when it has committed
// them, without holding an HTTP thread. Moving the manual clock waits for the
// scheduler, on a thread of its own.
//
// Thread-safety: handle() from any number of HTTP threads.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "cmd/server/config.h"
#include "cmd/server/http_server.h"
#include "cmd/server/request.h"
#include "events/signing.h"
#include "projections/audit.h"
#include "projections/clock.h"
#include "projections/ledger.h"
#include "projections/scheduler.h"

namespace regledger::server {

// Who may call a route.
enum class access {
    anyone,        // no token needed (a token, when sent, must be valid)
    authenticated, // a valid token; the handler checks the role
    loopback,      // only from 127.0.0.0/8 or ::1
};

struct http_counters {
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> responses_2xx{0};
    std::atomic<std::uint64_t> responses_4xx{0};
    std::atomic<std::uint64_t> responses_5xx{0};
};

class api {
public:
    // `manual` is the manual clock when the server runs with one (the admin
    // clock route exists only then), else nullptr.
    // `public_key` is the key that signs the ledger's checkpoints, or nullptr
    // when it signs none.
    api(projections::ledger& ledger, projections::scheduler& scheduler, const config& cfg,
        projections::manual_clock* manual, const events::verify_key* public_key = nullptr);
    ~api();

    void handle(http_request&& request, const boost::asio::ip::tcp::endpoint& remote, reply_fn reply);

    // The answer for a request refused before routing (http_server's refusal).
    static http_response refusal(boost::beast::http::status status, std::string_view code, std::string_view message,
                                 unsigned version);

    const http_counters& counters() const noexcept { return counters_; }

private:
    struct route {
        boost::beast::http::verb method;
        std::vector<std::string> pattern;  // "{id}" segments are parameters
        access who;
        std::function<void(request_context&, reply_fn)> run;
    };

    void build_routes();
    void count(const http_response& response);

    // Handlers.
    void post_command(request_context& ctx, reply_fn reply);
    void get_registration(request_context& ctx, reply_fn reply);
    void get_history(request_context& ctx, reply_fn reply);
    void list_registrations(request_context& ctx, reply_fn reply);
    void get_application(request_context& ctx, reply_fn reply);
    void get_account(request_context& ctx, reply_fn reply);
    void get_publicity(request_context& ctx, reply_fn reply);
    void get_code(request_context& ctx, reply_fn reply);
    void get_stats(request_context& ctx, reply_fn reply);
    void get_events(request_context& ctx, reply_fn reply);
    void get_health(request_context& ctx, reply_fn reply);
    void get_metrics(request_context& ctx, reply_fn reply);
    void post_clock(request_context& ctx, reply_fn reply);
    // Audit (audit_routes.cc).
    void get_audit_key(request_context& ctx, reply_fn reply);
    void get_checkpoints(request_context& ctx, reply_fn reply);
    void get_latest_checkpoint(request_context& ctx, reply_fn reply);
    void get_inclusion_proof(request_context& ctx, reply_fn reply);
    void get_consistency_proof(request_context& ctx, reply_fn reply);
    void get_as_of_proof(request_context& ctx, reply_fn reply);
    result<partition_id, rejection> partition_param(const request_context& ctx) const;
    result<projections::checkpoint_entry, rejection> checkpoint_param(const request_context& ctx, std::string_view name,
                                                                      partition_id partition) const;

    projections::ledger& ledger_;
    projections::scheduler& scheduler_;
    const config& config_;
    projections::manual_clock* manual_;
    const events::verify_key* public_key_;
    std::vector<route> routes_;
    http_counters counters_;
    // Runs what waits on the scheduler, away from the HTTP threads.
    boost::asio::thread_pool blocking_{1};
};

}  // namespace regledger::server
