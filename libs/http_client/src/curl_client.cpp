// CurlClient: libcurl easy interface, one handle per thread (stack notes §6).
//
// Why each choice:
// - The handle is thread_local and only curl_easy_reset() between requests: reset keeps the
//   handle's connection cache, so sequential calls from one thread reuse the TCP connection
//   (~55 µs instead of ~120 µs per call on loopback). Sharing one cache across threads is
//   documented as unsupported, hence per thread rather than per client.
// - The body always goes through POSTFIELDS + POSTFIELDSIZE (also for PUT/PATCH and an empty
//   POST), so libcurl sends Content-Length and never a chunked body, which can hang a Pistache
//   worker.
// - "Expect:" is always sent empty: libcurl adds Expect: 100-continue to bodies of 1 MiB and more,
//   Pistache never answers it, and every such request would stall for a second.
// - NOSIGNAL: libcurl must not use SIGALRM for DNS timeouts in a multi-threaded process.

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "csp/http_client/client.h"

namespace csp::http_client {
namespace {

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// A curl_slist that owns its nodes.
class HeaderSlist {
 public:
  // Returns false when libcurl could not allocate.
  bool Append(const std::string& line) {
    curl_slist* next = curl_slist_append(list_.get(), line.c_str());
    if (next == nullptr) return false;
    list_.release();
    list_.reset(next);
    return true;
  }
  curl_slist* get() const { return list_.get(); }

 private:
  std::unique_ptr<curl_slist, SlistDeleter> list_;
};

// The calling thread's handle, created on first use and cleaned up when the thread exits.
CURL* ThreadHandle() {
  thread_local EasyHandle handle(curl_easy_init());
  return handle.get();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool HasHttpScheme(const std::string& url) {
  std::string prefix = Lower(std::string_view(url).substr(0, 8));
  return prefix.rfind("http://", 0) == 0 || prefix.rfind("https://", 0) == 0;
}

bool HasHeader(const HeaderList& headers, std::string_view name) {
  std::string wanted = Lower(name);
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return Lower(h.first) == wanted; });
}

std::string_view TrimLine(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// What the callbacks fill in during one transfer.
struct Transfer {
  std::string body;
  HeaderList headers;
  size_t max_body = 0;
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (transfer->body.size() + n > transfer->max_body) {
    transfer->too_large = true;
    return 0;  // anything but n aborts the transfer with CURLE_WRITE_ERROR
  }
  transfer->body.append(data, n);
  return n;
}

// Called once per header line, status lines and the blank separator included.
size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t n = size * count;
  std::string_view line = TrimLine(std::string_view(data, n));
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line: headers of an interim response (100 Continue) are dropped.
    transfer->headers.clear();
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  transfer->headers.emplace_back(std::string(TrimLine(line.substr(0, colon))),
                                 std::string(TrimLine(line.substr(colon + 1))));
  return n;
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// A CR or LF in a header would let a value (say, a propagated request id) inject headers.
bool HeadersAreSafe(const Request& request) {
  if (HasLineBreak(request.request_id)) return false;
  return std::none_of(request.headers.begin(), request.headers.end(),
                      [](const auto& h) { return HasLineBreak(h.first) || HasLineBreak(h.second); });
}

// "Name: value"; libcurl reads "Name:" as "remove this header", "Name;" sends it empty.
std::string HeaderLine(const std::string& name, const std::string& value) {
  if (value.empty()) return name + ";";
  return name + ": " + value;
}

Error TransportError(const Request& request, CURLcode code, const char* errbuf, const Transfer& transfer,
                     size_t max_bytes) {
  std::string prefix = request.method + " " + request.url + ": ";
  if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return Unavailable(prefix + "response larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(code));
  if (code == CURLE_OPERATION_TIMEDOUT) return Error(ErrorCode::kDeadlineExceeded, prefix + detail);
  if (code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_URL_MALFORMAT) return InvalidArgument(prefix + detail);
  return Unavailable(prefix + detail);
}

}  // namespace

// Debian's libcurl links librtmp, which links GnuTLS, and GnuTLS initialises itself when it is
// loaded (about 0.8 MiB of pages and heap per process, measured) unless the program defines this
// symbol, which is what gnutls.h's GNUTLS_SKIP_GLOBAL_INIT expands to. Our requests never use
// GnuTLS (libcurl's TLS is OpenSSL, and librtmp's RTMP is not an allowed protocol), so it never
// needs initialising.
extern "C" __attribute__((visibility("default"), used)) int _gnutls_global_init_skip(void) { return 1; }

// No GlobalInit() here: curl_global_init() initialises OpenSSL (providers, engines), which
// maps about 2 MiB of libcrypto pages. Send() does it on first use instead, so a process that
// never sends a request (an idle discovery with nothing to check) never pays for it.
CurlClient::CurlClient(CurlOptions options) : options_(std::move(options)) {}

CurlClient::~CurlClient() = default;

// Safe to call from any thread: call_once serialises our callers, and Debian's libcurl is built
// thread-safe (CURL_VERSION_THREADSAFE, 7.84+), so its own global init takes a lock as well.
void CurlClient::GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Result<Response> CurlClient::Send(const Request& request) {
  if (!HasHttpScheme(request.url)) {
    return InvalidArgument(request.method + " " + request.url + ": only http and https URLs are allowed");
  }
  if (!HeadersAreSafe(request)) {
    return InvalidArgument(request.method + " " + request.url + ": header contains a line break");
  }
  GlobalInit();  // before the first curl_easy_init()
  CURL* curl = ThreadHandle();
  if (curl == nullptr) return Unavailable(request.method + " " + request.url + ": cannot create a libcurl handle");
  curl_easy_reset(curl);

  Transfer transfer;
  transfer.max_body = options_.max_response_bytes;
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_response_bytes));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);

  const std::string& method = request.method;
  bool sends_body = !request.body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (sends_body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    if (method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  } else if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }

  HeaderSlist headers;
  bool ok = headers.Append("Expect:");
  if (sends_body && !HasHeader(request.headers, "Content-Type")) {
    // Without a body, "Content-Type:" suppresses libcurl's form-urlencoded default.
    ok = ok && headers.Append(request.body.empty() ? "Content-Type:" : "Content-Type: application/json");
  }
  if (!request.request_id.empty()) ok = ok && headers.Append("X-Request-Id: " + request.request_id);
  if (!options_.bearer_token.empty() && !HasHeader(request.headers, "Authorization")) {
    ok = ok && headers.Append("Authorization: Bearer " + options_.bearer_token);
  }
  for (const auto& [name, value] : request.headers) ok = ok && headers.Append(HeaderLine(name, value));
  if (!ok) return Unavailable(request.method + " " + request.url + ": out of memory building headers");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());

  CURLcode code = curl_easy_perform(curl);
  // The handle outlives this call: drop pointers into this frame before returning.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  if (code != CURLE_OK) return TransportError(request, code, errbuf, transfer, options_.max_response_bytes);

  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  Response response;
  response.status = static_cast<int>(status);
  response.body = std::move(transfer.body);
  response.headers = std::move(transfer.headers);
  return response;
}

}  // namespace csp::http_client
