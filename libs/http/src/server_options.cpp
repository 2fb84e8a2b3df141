#include "csp/config/command_line.h"
#include "csp/http/server.h"

namespace csp::http {

ServerOptions ServerOptionsFrom(const config::CommonOptions& common, std::string service_name) {
  ServerOptions o;
  o.service_name = std::move(service_name);
#ifdef CSP_VERSION
  o.version = CSP_VERSION;
#endif
  o.host = common.host;
  o.port = common.port;
  o.threads = common.threads;
  o.max_body = common.max_body;
  o.auth_token = common.auth_token;
  o.auth_reads = common.auth_reads;
  return o;
}

}  // namespace csp::http
