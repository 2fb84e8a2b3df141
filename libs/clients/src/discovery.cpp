// DiscoveryClient and Registrar over the http_client::Client interface.

#include "csp/clients/discovery.h"

#include <algorithm>

#include "csp/json/json.h"
#include "csp/log/log.h"

namespace csp::clients {
namespace {

using namespace std::chrono_literals;

// Lookups and registration calls go to a local service; anything slower means it is in trouble,
// and a short bound keeps Stop() prompt while a call is in flight.
constexpr std::chrono::milliseconds kLookupTimeout = 5s;
constexpr std::chrono::milliseconds kRegisterTimeout = 2s;
constexpr std::chrono::milliseconds kUnregisterTimeout = 2s;
constexpr std::chrono::milliseconds kFirstBackoff = 200ms;
constexpr std::chrono::milliseconds kMaxBackoff = 5s;
constexpr int kWarnEvery = 10;

log::Logger Log() { return log::Logger("registrar"); }

std::string WithoutTrailingSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// RFC 3986: everything but unreserved characters is %XX-encoded. (csp::http has one too, but the
// clients library does not depend on the server library.)
std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += ch;
      continue;
    }
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 0x0f];
  }
  return out;
}

void AddParam(std::string& query, std::string_view key, const std::string& value) {
  if (value.empty()) return;
  query += query.empty() ? '?' : '&';
  query += key;
  query += '=';
  query += PercentEncode(value);
}

// Entries come from our discovery or the original one, which stores whatever a client sent:
// missing fields read as empty, a string where a list belongs reads as a one-element list.
std::string StringField(const json::Value& entry, std::string_view key) {
  const json::Value* v = entry.Find(key);
  return v != nullptr && v->IsString() ? v->AsString() : std::string();
}

std::vector<std::string> StringListField(const json::Value& entry, std::string_view key) {
  const json::Value* v = entry.Find(key);
  if (v == nullptr) return {};
  if (v->IsString()) return {v->AsString()};
  std::vector<std::string> out;
  if (!v->IsArray()) return out;
  for (const auto& item : v->AsArray()) {
    if (item.IsString()) out.push_back(item.AsString());
  }
  return out;
}

ServiceEntry ParseEntry(const json::Value& entry) {
  ServiceEntry e;
  e.registry_id = StringField(entry, "registryID");
  e.service_name = StringField(entry, "serviceName");
  e.service_url = StringField(entry, "serviceURL");
  e.tags = StringListField(entry, "tags");
  e.semantic_profile = StringField(entry, "semanticProfile");
  e.media_types = StringListField(entry, "mediaTypes");
  e.ping_url = StringField(entry, "pingURL");
  e.status = StringField(entry, "status");
  return e;
}

json::Value ToJsonArray(const std::vector<std::string>& items) {
  json::Array out;
  out.reserve(items.size());
  for (const auto& item : items) out.emplace_back(item);
  return out;
}

std::string Snippet(const std::string& body) { return body.size() <= 200 ? body : body.substr(0, 200) + "..."; }

// Registration failures are logged on the first one of a streak and then every 10th, so a
// discovery that is down for an hour does not flood the log. Register() and Renew() run only on
// the registrar's own thread, so the counter needs no lock.
void NoteFailure(int& consecutive_failures, std::string_view what, const std::string& discovery_url,
                 const std::string& error) {
  ++consecutive_failures;
  if (consecutive_failures != 1 && consecutive_failures % kWarnEvery != 0) return;
  Log().Warn(what, {{"discoveryURL", discovery_url}, {"error", error}, {"attempts", consecutive_failures}});
}

}  // namespace

// ---- DiscoveryClient ----

DiscoveryClient::DiscoveryClient(std::string discovery_url, http_client::Client& client)
    : url_(WithoutTrailingSlash(std::move(discovery_url))), client_(client) {}

Result<std::vector<ServiceEntry>> DiscoveryClient::Find(const FindQuery& query) const {
  std::string params;
  AddParam(params, "tag", query.tag);
  AddParam(params, "name", query.name);
  AddParam(params, "profile", query.profile);
  AddParam(params, "mediaType", query.media_type);
  if (query.healthy_only) AddParam(params, "healthy", "true");
  std::string url = url_ + "/find" + params;

  auto response = client_.Get(url, kLookupTimeout);
  if (!response) return Unavailable("discovery lookup failed: " + response.error().message);
  if (response->status != 200) {
    return Unavailable("discovery answered GET " + url + " with " + std::to_string(response->status) + ": " +
                       Snippet(response->body));
  }
  auto body = response->Json();
  if (!body || !body->IsArray()) {
    return Unavailable("discovery answered GET " + url + " with a body that is not a JSON array");
  }

  std::vector<ServiceEntry> entries;
  for (const auto& item : body->AsArray()) {
    if (!item.IsObject()) continue;
    ServiceEntry entry = ParseEntry(item);
    // The original discovery ignores `name`; filter here so both behave alike.
    if (!query.name.empty() && entry.service_name != query.name) continue;
    entries.push_back(std::move(entry));
  }
  return entries;
}

Result<std::string> DiscoveryClient::UrlOf(const std::string& name) const {
  FindQuery query;
  query.name = name;
  auto entries = Find(query);
  if (!entries) return entries.error();
  for (const auto& entry : *entries) {
    if (!entry.service_url.empty()) return entry.service_url;
  }
  return NotFound("no service named " + name + " is registered in discovery");
}

// ---- Registrar ----

Registrar::Registrar(std::string discovery_url, Registration registration, http_client::Client& client,
                     std::chrono::milliseconds renew_interval)
    : discovery_url_(WithoutTrailingSlash(std::move(discovery_url))),
      registration_(std::move(registration)),
      client_(client),
      renew_interval_(renew_interval) {
  if (registration_.ping_url.empty()) {
    registration_.ping_url = WithoutTrailingSlash(registration_.service_url) + "/ping";
  }
}

Registrar::~Registrar() { Stop(); }

void Registrar::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || thread_.joinable()) return;
  thread_ = std::thread(&Registrar::Run, this);
}

void Registrar::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();

  std::string id = registry_id();
  if (id.empty()) return;
  http_client::Request request;
  request.method = "POST";
  request.url = discovery_url_ + "/unregister";
  request.body = json::Dump(json::Object{{"registryID", id}});
  request.timeout = kUnregisterTimeout;
  auto response = client_.Send(request);
  {
    std::lock_guard<std::mutex> lock(mu_);
    registry_id_.clear();
  }
  if (!response) {
    Log().Warn("cannot unregister from discovery", {{"registryID", id}, {"error", response.error().message}});
    return;
  }
  if (response->status != 204 && response->status != 200 && response->status != 404) {
    Log().Warn("discovery refused to unregister", {{"registryID", id}, {"status", response->status}});
    return;
  }
  Log().Info("unregistered from discovery", {{"registryID", id}, {"serviceName", registration_.service_name}});
}

bool Registrar::registered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !registry_id_.empty();
}

std::string Registrar::registry_id() const {
  std::lock_guard<std::mutex> lock(mu_);
  return registry_id_;
}

// Unregistered: register, backing off 200 ms doubling to 5 s between failures. Registered: renew
// every renew_interval; a 404 clears the id (Renew) so the next turn registers at once. Every wait
// is on cv_, so Stop() interrupts it immediately.
void Registrar::Run() {
  failures_ = 0;
  auto backoff = kFirstBackoff;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (registry_id_.empty()) {
      lock.unlock();
      bool ok = Register();
      lock.lock();
      if (ok) {
        backoff = kFirstBackoff;
        continue;
      }
      cv_.wait_for(lock, backoff, [this] { return stopping_; });
      backoff = std::min(backoff * 2, kMaxBackoff);
      continue;
    }
    if (cv_.wait_for(lock, renew_interval_, [this] { return stopping_; })) break;
    lock.unlock();
    Renew();
    lock.lock();
  }
}

bool Registrar::Register() {
  json::Object body{{"serviceName", registration_.service_name},
                    {"serviceURL", registration_.service_url},
                    {"tags", ToJsonArray(registration_.tags)},
                    {"semanticProfile", registration_.semantic_profile},
                    {"mediaTypes", ToJsonArray(registration_.media_types)},
                    {"pingURL", registration_.ping_url}};
  if (registration_.ttl_seconds > 0) body.Set("ttlSeconds", registration_.ttl_seconds);
  if (!registration_.metadata.empty()) body.Set("metadata", registration_.metadata);

  auto response = client_.PostJson(discovery_url_ + "/register", body, kRegisterTimeout);
  if (!response) {
    NoteFailure(failures_, "cannot register with discovery", discovery_url_, response.error().message);
    return false;
  }
  if (response->status != 200 && response->status != 201) {
    NoteFailure(failures_, "discovery refused the registration", discovery_url_,
                std::to_string(response->status) + ": " + Snippet(response->body));
    return false;
  }
  auto reply = response->Json();
  std::string id = reply ? StringField(*reply, "registryID") : std::string();
  if (id.empty()) {
    NoteFailure(failures_, "discovery answered the registration without a registryID", discovery_url_, Snippet(response->body));
    return false;
  }
  failures_ = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    registry_id_ = id;
  }
  Log().Info("registered with discovery",
             {{"serviceName", registration_.service_name},
              {"serviceURL", registration_.service_url},
              {"registryID", id},
              {"discoveryURL", discovery_url_}});
  return true;
}

bool Registrar::Renew() {
  std::string id = registry_id();
  auto response =
      client_.PostJson(discovery_url_ + "/renew", json::Object{{"registryID", id}}, kRegisterTimeout);
  if (!response) {
    NoteFailure(failures_, "cannot renew the registration with discovery", discovery_url_, response.error().message);
    return false;
  }
  if (response->status == 404) {
    // Discovery lost the entry (wiped, or evicted it while we could not reach it).
    failures_ = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      registry_id_.clear();
    }
    Log().Info("discovery no longer knows this registration; registering again",
               {{"registryID", id}, {"serviceName", registration_.service_name}});
    return false;
  }
  if (response->status < 200 || response->status >= 300) {
    NoteFailure(failures_, "discovery refused the renewal", discovery_url_,
                std::to_string(response->status) + ": " + Snippet(response->body));
    return false;
  }
  failures_ = 0;
  return true;
}

}  // namespace csp::clients
