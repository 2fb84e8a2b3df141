#pragma once
// The engine's HTTP surface over Engine:
//   POST /execute, POST /repeat   a CCM; ?limit=&after= page list/filter
//   POST /revert                  {"requestId"} (or a CCM without requestId, the original's way)
//   GET  /forms                   the affordances: rels ping, execute, repeat, revert, design, forms,
//                                 then one rel "command" form per declared command
//   GET  /design                  the loaded design.json
//   GET  /                        {"name": serviceName, "version": design version, ...}
// (/ping, /health and /metrics come with http::Server.)

#include <string>

#include "csp/http/metrics.h"
#include "csp/http/router.h"
#include "csp/json/value.h"
#include "design.h"
#include "engine.h"

namespace csp::engine {

struct EngineMetrics {
  http::Counter& commands;  // engine_commands_total{command,status}
  http::Counter& reverts;   // engine_reverts_total{outcome}
};

// Registers the engine's metrics, engine_records (a gauge read from the store) included.
// engine must outlive registry.
EngineMetrics RegisterMetrics(http::MetricsRegistry& registry, Engine& engine);

// engine must outlive the router.
void AddRoutes(http::Router& router, Engine& engine, EngineMetrics metrics);

// The GET /forms array for a design, hrefs under base_url ("http://host:port").
json::Value BuildForms(const Design& design, const std::string& base_url);

}  // namespace csp::engine
