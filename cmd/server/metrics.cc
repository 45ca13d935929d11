#include "cmd/server/metrics.h"

#include <fmt/format.h>

#include "cmd/server/api.h"

namespace regledger::server {
namespace {

void histogram(std::string& out, std::string_view name, std::string_view help,
               const std::map<double, std::uint64_t>& buckets, double scale, double sum, std::uint64_t count) {
    out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
    std::uint64_t cumulative = 0;
    for (double bound : projections::histogram_bounds) {
        if (const auto it = buckets.find(bound); it != buckets.end()) cumulative += it->second;
        out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bound * scale, cumulative);
    }
    out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, count);
    out += fmt::format("{}_sum {}\n{}_count {}\n", name, sum * scale, name, count);
}

}  // namespace

std::string render_metrics(projections::ledger& ledger, const projections::scheduler& scheduler,
                           const http_counters& http) {
    const auto m = ledger.writes().metrics();
    std::string out;
    out += "# HELP regledger_commands_total Commands by type and outcome.\n# TYPE regledger_commands_total counter\n";
    for (const auto& [key, n] : m.by_type_outcome) {
        const auto slash = key.find('/');
        out += fmt::format("regledger_commands_total{{type=\"{}\",outcome=\"{}\"}} {}\n", key.substr(0, slash),
                           key.substr(slash + 1), n);
    }
    out += fmt::format("# HELP regledger_events_appended_total Events appended to the log.\n"
                       "# TYPE regledger_events_appended_total counter\nregledger_events_appended_total {}\n",
                       m.events);
    out += fmt::format("# HELP regledger_batches_total Write batches committed or attempted.\n"
                       "# TYPE regledger_batches_total counter\nregledger_batches_total {}\n",
                       m.batches);
    histogram(out, "regledger_batch_commands", "Commands per write batch.", m.batch_size_buckets, 1.0,
              static_cast<double>(m.batch_size_sum), m.batches);
    histogram(out, "regledger_append_seconds", "Time to make a batch durable (the log commit).", m.append_us_buckets,
              1e-6, m.append_us_sum, m.batches);
    histogram(out, "regledger_apply_seconds", "Time to decide and project a batch.", m.apply_us_buckets, 1e-6,
              m.apply_us_sum, m.batches);
    out += fmt::format("# HELP regledger_queue_depth Commands waiting for the writer.\n"
                       "# TYPE regledger_queue_depth gauge\nregledger_queue_depth {}\n",
                       m.queue_depth);
    out += "# HELP regledger_log_end_offset The offset the next record gets, by partition.\n"
           "# TYPE regledger_log_end_offset gauge\n";
    for (std::int32_t p = 0; p < ledger.log().partition_count(); ++p) {
        const auto end = ledger.log().end(partition_id(p));
        out += fmt::format("regledger_log_end_offset{{partition=\"{}\"}} {}\n", p, end ? end.value().value() : -1);
    }
    out += fmt::format("# HELP regledger_timers_pending Deadline timers waiting (estimate).\n"
                       "# TYPE regledger_timers_pending gauge\nregledger_timers_pending {}\n",
                       scheduler.pending_estimate());
    out += fmt::format("# HELP regledger_http_requests_total HTTP requests received.\n"
                       "# TYPE regledger_http_requests_total counter\nregledger_http_requests_total {}\n",
                       http.requests.load());
    out += "# HELP regledger_http_responses_total HTTP responses by status class.\n"
           "# TYPE regledger_http_responses_total counter\n";
    out += fmt::format("regledger_http_responses_total{{class=\"2xx\"}} {}\n", http.responses_2xx.load());
    out += fmt::format("regledger_http_responses_total{{class=\"4xx\"}} {}\n", http.responses_4xx.load());
    out += fmt::format("regledger_http_responses_total{{class=\"5xx\"}} {}\n", http.responses_5xx.load());
    return out;
}

}  // namespace regledger::server
