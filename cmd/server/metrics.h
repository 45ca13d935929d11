// The Prometheus text exposition of `GET /metrics`: commands by type and
// outcome, batch sizes, append and apply latency histograms, queue depth, the
// log's end position, pending timers, and HTTP counts.
#pragma once

#include <string>

#include "projections/ledger.h"
#include "projections/scheduler.h"

namespace regledger::server {

struct http_counters;

std::string render_metrics(projections::ledger& ledger, const projections::scheduler& scheduler,
                           const http_counters& http);

}  // namespace regledger::server
