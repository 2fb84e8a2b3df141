// shared-state: durable JSON documents with versions, history and watches. Wiring only.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "csp/clients/discovery.h"
#include "csp/config/command_line.h"
#include "csp/core/clock.h"
#include "csp/http/metrics.h"
#include "csp/http/router.h"
#include "csp/http/server.h"
#include "csp/http_client/client.h"
#include "csp/log/log.h"
#include "shared-state/document_store.h"
#include "shared-state/routes.h"
#include "shared-state/watch_hub.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  csp::http::BlockTerminationSignals();
  csp::http_client::CurlClient::GlobalInit();  // it registers at once: see GlobalInit in client.h

  csp::config::CommandLine cl("shared-state", "Durable JSON documents that jobs read from and write to.", 4500);
  cl.Add()("history", po::value<int64_t>()->default_value(32), "revisions kept per document (at least 1)");
  cl.AddSize("max-document", "1MiB", "largest document, as compact JSON (413 above it)");
  if (auto code = cl.Parse(argc, argv)) return *code;
  const csp::config::CommonOptions& common = cl.common();

  int64_t history = cl.GetInt("history");
  if (history < 1 || history > 1'000'000) {
    std::cerr << "shared-state: --history must be between 1 and 1000000\n";
    return 2;
  }
  if (auto level = csp::log::ParseLevel(common.log_level)) csp::log::SetLevel(*level);
  csp::log::Logger log("shared-state");

  csp::shared_state::StoreOptions store_options;
  store_options.history = static_cast<int>(history);
  store_options.max_document = cl.GetSize("max-document").value();
  if (store_options.max_document < 2) {
    std::cerr << "shared-state: --max-document must be at least 2 bytes\n";
    return 2;
  }
  std::string db_path = common.data_dir == ":memory:" ? ":memory:" : common.data_dir + "/shared-state.db";

  csp::SystemClock clock;
  auto store = csp::shared_state::DocumentStore::Open(db_path, clock, store_options);
  if (!store) {
    log.Error("cannot open the store", {{"path", db_path}, {"error", store.error().message}});
    return 1;
  }
  csp::shared_state::WatchHub hub(clock);
  (*store)->SetWriteListener([&hub](const std::string& id, int64_t version) { hub.Notify(id, version); });
  hub.Start();

  csp::http::MetricsRegistry metrics;
  csp::http::Router router;
  csp::shared_state::AddRoutes(router, **store, hub, clock, metrics);
  csp::http::ServerOptions server_options = csp::http::ServerOptionsFrom(common, "shared-state");
  // Watches may hold a request for up to kMaxWait.
  server_options.longest_reply = std::chrono::duration_cast<std::chrono::seconds>(csp::shared_state::kMaxWait);
  csp::shared_state::DocumentStore& store_ref = **store;
  server_options.health = [&store_ref] {
    csp::http::HealthReport report;
    csp::Status s = store_ref.Check();
    report.ok = s.ok();
    report.details = s.ok() ? csp::json::Object{{"store", "ok"}}
                            : csp::json::Object{{"store", s.error().message}, {"failing", "store"}};
    return report;
  };
  csp::http::Server server(std::move(server_options), std::move(router), metrics);
  if (auto s = server.Start(); !s) {
    log.Error("cannot start the server", {{"error", s.error().message}});
    return 1;
  }
  log.Info("store open", {{"path", db_path}, {"documents", (*store)->Count()}, {"history", history}});

  std::string url = common.advertise_url.empty() ? server.url() : common.advertise_url;
  csp::http_client::CurlOptions curl_options;
  curl_options.bearer_token = common.auth_token;
  csp::http_client::CurlClient http(curl_options);
  csp::clients::Registration registration;
  registration.service_name = "shared-state";
  registration.service_url = url;
  registration.tags = {"state", "store"};
  registration.semantic_profile = "urn:example:shared-state";
  registration.ping_url = url + "/ping";
  csp::clients::Registrar registrar(common.discovery_url, registration, http);
  registrar.Start();

  int sig = csp::http::WaitForTerminationSignal();
  log.Info("stopping", {{"signal", sig}});
  server.BeginDrain();
  // Every parked watch answers now (304), so the drain is not held up by them.
  hub.Shutdown();
  // Waits for in-flight requests and for queued replies to reach their sockets.
  server.Shutdown(std::chrono::seconds(5));
  registrar.Stop();
  return 0;
}
