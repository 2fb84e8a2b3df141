// engine: a generic composable service whose commands come from a design.json. Wiring only.

#include <chrono>
#include <iostream>
#include <string>

#include "csp/clients/discovery.h"
#include "csp/config/command_line.h"
#include "csp/core/clock.h"
#include "csp/http/server.h"
#include "csp/http_client/client.h"
#include "csp/log/log.h"
#include "design.h"
#include "engine.h"
#include "routes.h"
#include "store.h"

namespace {

namespace po = boost::program_options;

// serviceName is the design author's text; keep the file name to safe characters.
std::string DatabaseFileName(const std::string& service_name) {
  std::string out;
  for (char c : service_name) {
    const bool safe =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    out += safe ? c : '_';
  }
  if (out.empty() || out[0] == '.') out.insert(out.begin(), '_');
  return out + ".db";
}

csp::clients::Registration RegistrationFor(const csp::engine::Design& design, const std::string& url) {
  csp::clients::Registration r;
  const csp::engine::ServiceInfo& info = design.service_info;
  r.service_name = info.service_name;
  r.service_url = url;
  r.tags = info.tags;
  r.semantic_profile = info.semantic_profile;
  if (!info.media_types.empty()) r.media_types = info.media_types;
  r.ping_url = url + "/ping";
  if (!info.description.empty()) r.metadata.Set("description", info.description);
  r.metadata.Set("resourceType", design.resource_type);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  csp::http::BlockTerminationSignals();
  csp::http_client::CurlClient::GlobalInit();  // it registers at once: see GlobalInit in client.h

  csp::config::CommandLine cl("engine", "A composable service whose commands come from a design.json.", 4600);
  cl.Add()("design", po::value<std::string>(), "the design.json to serve (required)");
  cl.AddDuration("request-retention", "168h", "how long request ids are remembered for /repeat and /revert");
  if (auto code = cl.Parse(argc, argv)) return *code;
  const csp::config::CommonOptions& common = cl.common();
  csp::log::SetLevel(csp::log::ParseLevel(common.log_level).value());
  csp::log::Logger log("engine");

  if (!cl.Has("design") || cl.GetString("design").empty()) {
    std::cerr << "engine: --design FILE is required\n";
    return 2;
  }
  const std::string design_path = cl.GetString("design");
  csp::Result<csp::engine::Design> design = csp::engine::LoadDesignFile(design_path);
  if (!design) {
    // One problem per line, each naming its JSON path.
    std::cerr << design.error().message << "\n";
    return 2;
  }

  const std::string db_path = common.data_dir == ":memory:"
                                  ? std::string(":memory:")
                                  : common.data_dir + "/" + DatabaseFileName(design->service_info.service_name);
  csp::Result<csp::engine::Store> store = csp::engine::Store::Open(db_path);
  if (!store) {
    log.Error("cannot open the store", {{"path", db_path}, {"error", store.error().message}});
    return 1;
  }

  csp::SystemClock clock;
  csp::engine::EngineOptions engine_options;
  engine_options.request_retention = cl.GetDuration("request-retention").value();
  csp::engine::Engine engine(*design, *store, clock, engine_options);

  csp::http::MetricsRegistry metrics;
  csp::http::Router router;
  csp::engine::AddRoutes(router, engine, csp::engine::RegisterMetrics(metrics, engine));
  csp::http::ServerOptions server_options = csp::http::ServerOptionsFrom(common, "engine");
  server_options.health = [&engine]() {
    csp::http::HealthReport report;
    csp::Status store_ok = engine.CheckStore();
    report.ok = store_ok.ok();
    report.details.Set("store", store_ok ? "ok" : store_ok.error().message);
    report.details.Set("serviceName", engine.design().service_info.service_name);
    return report;
  };
  csp::http::Server server(std::move(server_options), std::move(router), metrics);
  if (csp::Status started = server.Start(); !started) {
    log.Error("cannot start the server", {{"error", started.error().message}});
    return 1;
  }
  log.Info("serving design", {{"design", design_path},
                              {"serviceName", design->service_info.service_name},
                              {"resourceType", design->resource_type},
                              {"store", db_path}});

  const std::string url = common.advertise_url.empty() ? server.url() : common.advertise_url;
  csp::http_client::CurlClient http_client(csp::http_client::CurlOptions{common.auth_token, 64u << 20, "csp-engine"});
  csp::clients::Registrar registrar(common.discovery_url, RegistrationFor(*design, url), http_client);
  registrar.Start();

  const int sig = csp::http::WaitForTerminationSignal();
  log.Info("shutting down", {{"signal", sig}});
  server.BeginDrain();
  server.Shutdown(std::chrono::seconds(5));
  registrar.Stop();
  return 0;
}
