#pragma once
// job-control's HTTP routes (spec/40-job-control.md; the original's shapes from
// original-protocol.md §3.5-3.6): requests become JobService / Store calls, results become
// replies. Slow routes (the synchronous /run-job, event long polls) are AsyncHandlers and never
// hold a server thread.

#include <chrono>
#include <string>

#include "csp/http/router.h"
#include "events.h"
#include "job_model.h"
#include "job_service.h"
#include "store.h"

namespace csp::job_control {

struct RouteContext {
  JobService& service;
  Store& store;
  EventLog& events;
  Limits limits;
  std::string version;
  std::chrono::milliseconds max_wait{std::chrono::minutes(5)};  // cap of ?wait= on events
};

void AddRoutes(http::Router& router, const RouteContext& ctx);

// The detailed record of GET /jobs/:id; base is "http://host:port". For tests.
json::Value JobDetailJson(Store& store, const JobRow& job, const std::string& base);

}  // namespace csp::job_control
