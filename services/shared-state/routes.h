#pragma once
// The shared-state HTTP surface (spec/20-shared-state.md): turns requests into DocumentStore and
// WatchHub calls, and their results into the original's reply shapes.

#include <chrono>
#include <string_view>

#include "csp/core/clock.h"
#include "csp/http/metrics.h"
#include "csp/http/router.h"
#include "shared-state/document_store.h"
#include "shared-state/watch_hub.h"

namespace csp::shared_state {

// The longest a watch (GET /state/:id?wait=...) is held; longer waits are cut to this.
inline constexpr std::chrono::minutes kMaxWait{5};

// Adds every shared-state route to `router`, and the service's metrics (shared_state_documents,
// shared_state_writes_total{op}, shared_state_watchers) to `metrics`. The store, hub, clock and
// registry must outlive the router and the registry's use.
void AddRoutes(http::Router& router, DocumentStore& store, WatchHub& hub, const Clock& clock,
               http::MetricsRegistry& metrics);

// The JSON Pointer named by a sub-document path "/state/<id>/<seg>/<seg>..." as sent (not
// percent-decoded): each segment is percent-decoded and then read as an RFC 6901 reference token
// (so "~1" and "%2F" both stand for '/', "~0" for '~'); empty segments between slashes are
// empty keys; one trailing slash is ignored. Errors: kInvalidArgument (a bad '~' escape).
Result<json::Pointer> PointerFromPath(std::string_view path);

}  // namespace csp::shared_state
