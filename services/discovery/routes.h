#pragma once
// discovery's HTTP routes (spec 10-discovery.md; wire details in notes/original-protocol.md §1).
// Each handler parses the request, calls the Registry, and maps its Result to a Response.

#include <chrono>
#include <string>

#include "csp/http/router.h"
#include "discovery/registry.h"
#include "discovery/wait_list.h"

namespace csp::discovery {

struct RouteOptions {
  std::string version = CSP_VERSION;
  // Longest a blocking query may be held (?wait= is capped to it), and the wait used when
  // ?index= comes without ?wait=.
  std::chrono::milliseconds max_wait = std::chrono::minutes(5);
};

// Adds: GET /, POST /register, /renew, /unregister, GET /find, GET /services,
// GET|DELETE /services/:id, POST /bind, /unbind, GET /bindings, GET /bindings/:id,
// GET /endpoints, GET /forms. /find and /services are blocking queries parked in `waits`.
void AddRoutes(http::Router& router, Registry& registry, WaitList& waits, RouteOptions options = {});

}  // namespace csp::discovery
