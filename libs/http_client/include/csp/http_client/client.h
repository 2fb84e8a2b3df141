#pragma once
// The outbound HTTP client every component uses (libcurl underneath; stack notes §6):
// one reused easy handle per thread (keep-alive), connect and total timeouts, an empty `Expect:`
// header (Pistache never answers 100-continue), bodies always sent with Content-Length (never
// chunked), X-Request-Id propagation, an optional bearer token, only http/https URLs, no
// redirects followed, and a cap on the response size.
//
// A non-2xx reply is NOT an error here: callers look at Response::status. Errors are transport
// failures only: kUnavailable (connection refused, DNS, reset, response too large, bad URL
// scheme: kInvalidArgument) and kDeadlineExceeded (timeout). Messages name the method and URL:
// "POST http://127.0.0.1:9/x: Couldn't connect to server".

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "csp/core/result.h"
#include "csp/json/value.h"

namespace csp::http_client {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";
  std::string url;
  std::string body;                 // sent as is; Content-Type defaults to application/json when set
  HeaderList headers;               // extra headers (Content-Type, If-Match, ...)
  std::string request_id;           // sent as X-Request-Id when not empty
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds connect_timeout{2'000};
};

struct Response {
  int status = 0;
  std::string body;
  HeaderList headers;               // names as received
  std::optional<std::string_view> Header(std::string_view name) const;  // case-insensitive
  // Content-Type without parameters, lower case; "" when absent.
  std::string MediaType() const;
  // The body as JSON (kInvalidJson when it is not).
  Result<json::Value> Json() const;
  bool ok() const { return status >= 200 && status < 300; }
};

class Client {
 public:
  virtual ~Client() = default;
  virtual Result<Response> Send(const Request& request) = 0;

  // Conveniences over Send.
  Result<Response> Get(const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  Result<Response> PostJson(const std::string& url, const json::Value& body,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));
  Result<Response> Delete(const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(30));
};

struct CurlOptions {
  std::string bearer_token;         // sent as Authorization: Bearer <token> when not empty; never logged
  size_t max_response_bytes = 64u << 20;
  std::string user_agent = "csp";
};

// Thread-safe: each calling thread gets its own libcurl handle, reused across calls.
// libcurl's global state is initialised by the first Send(); GlobalInit() does it eagerly.
class CurlClient final : public Client {
 public:
  explicit CurlClient(CurlOptions options = {});
  ~CurlClient() override;
  Result<Response> Send(const Request& request) override;

  // Sets up libcurl (and OpenSSL) now. A service that sends requests from its first second (every
  // one that registers with discovery) calls it in main, on the main thread, before its server
  // starts: what the set-up frees is then handed back with the rest of start-up's garbage (the
  // trim in http::Server::Start) instead of staying in another thread's heap.
  static void GlobalInit();

 private:
  CurlOptions options_;
};

}  // namespace csp::http_client
