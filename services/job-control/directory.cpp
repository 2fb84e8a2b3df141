#include "directory.h"

#include <algorithm>
#include <cctype>

#include "csp/json/json.h"

namespace csp::job_control {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsLoopbackName(const std::string& host) {
  return host == "localhost" || host == "127.0.0.1" || host == "::1" || host == "[::1]";
}

bool Passing(const clients::ServiceEntry& e) { return e.status.empty() || e.status == "passing"; }

std::string OriginKey(const Origin& o) { return o.scheme + "://" + o.host + ":" + std::to_string(o.port); }

Error NotRegistered(const std::string& url) {
  return Error(ErrorCode::kPermissionDenied,
               "the origin of " + url +
                   " is not registered in discovery (job-control calls only registered services; see "
                   "--allow-unregistered-urls)");
}

}  // namespace

std::optional<Origin> ParseOrigin(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  Origin o;
  o.scheme = Lower(url.substr(0, sep));
  if (o.scheme != "http" && o.scheme != "https") return std::nullopt;
  std::string_view rest = url.substr(sep + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      port = authority.substr(close + 2);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  o.host = Lower(host);
  if (IsLoopbackName(o.host)) o.host = "127.0.0.1";
  if (port.empty()) {
    o.port = o.scheme == "https" ? 443 : 80;
  } else {
    int p = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || p > 65535) return std::nullopt;
      p = p * 10 + (c - '0');
    }
    if (p <= 0 || p > 65535) return std::nullopt;
    o.port = p;
  }
  return o;
}

ServiceDirectory::ServiceDirectory(std::string discovery_url, http_client::Client& client, const Clock& clock,
                                   DirectoryOptions options)
    : discovery_(std::move(discovery_url), client), client_(client), clock_(clock), options_(options) {}

bool ServiceDirectory::Fresh(std::chrono::steady_clock::time_point at) const {
  return clock_.Steady() - at < options_.cache_ttl;
}

Result<std::vector<clients::ServiceEntry>> ServiceDirectory::Lookup(const clients::FindQuery& query,
                                                                    const std::string& key) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = lookups_.find(key);
    if (it != lookups_.end() && Fresh(it->second.at)) return it->second.entries;
  }
  auto found = discovery_.Find(query);
  if (!found) return Error(ErrorCode::kUnavailable, "discovery " + discovery_.url() + ": " + found.error().message);
  std::lock_guard<std::mutex> lock(mu_);
  lookups_[key] = CachedEntries{clock_.Steady(), *found};
  NoteOriginsLocked(*found);
  return *found;
}

void ServiceDirectory::NoteOriginsLocked(const std::vector<clients::ServiceEntry>& entries) {
  auto now = clock_.Steady();
  for (const auto& e : entries) {
    if (auto o = ParseOrigin(e.service_url)) origins_[OriginKey(*o)] = now;
  }
}

bool ServiceDirectory::OriginAllowed(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = origins_.find(key);
  if (it == origins_.end()) return false;
  if (clock_.Steady() - it->second < options_.allowed_ttl) return true;
  origins_.erase(it);  // not seen in a lookup for a while: it may have been unregistered
  return false;
}

Result<std::vector<std::string>> ServiceDirectory::Instances(const TaskSpec& task) {
  if (!task.url.empty()) {
    if (auto s = CheckAllowed(task.url); !s) return s.error();
    return std::vector<std::string>{task.url};
  }
  clients::FindQuery query;
  std::string key;
  std::string what;
  if (!task.service_name.empty()) {
    query.name = task.service_name;
    key = "name:" + task.service_name;
    what = "name " + task.service_name;
  } else {
    query.tag = task.tag;
    key = "tag:" + task.tag;
    what = "tag " + task.tag;
  }
  auto entries = Lookup(query, key);
  if (!entries) return entries.error();
  std::vector<std::string> passing, others;
  for (const auto& e : *entries) {
    std::string url = e.service_url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    if (url.empty()) continue;
    (Passing(e) ? passing : others).push_back(url);
  }
  if (passing.empty()) passing = std::move(others);
  if (passing.empty()) return NotFound("No service found for " + what);
  return passing;
}

size_t ServiceDirectory::NextIndex(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return round_robin_[key]++;
}

Result<std::vector<Form>> ServiceDirectory::Forms(const std::string& service_url) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = forms_.find(service_url);
    if (it != forms_.end() && Fresh(it->second.at)) return it->second.forms;
  }
  std::string url = service_url + "/forms";
  auto reply = client_.Get(url, options_.timeout);
  if (!reply) return reply.error();
  if (!reply->ok()) {
    return Error(ErrorCode::kBadGateway, "GET " + url + ": Request failed with status code " +
                                             std::to_string(reply->status));
  }
  auto body = reply->Json();
  if (!body || !body->IsArray()) return Error(ErrorCode::kBadGateway, "GET " + url + ": expected a JSON array of forms");
  std::vector<Form> forms;
  for (const auto& f : body->AsArray()) {
    const json::Value* rel = f.Find("rel");
    const json::Value* href = f.Find("href");
    if (rel == nullptr || href == nullptr || !rel->IsString() || !href->IsString()) continue;
    Form form;
    form.rel = rel->AsString();
    form.href = href->AsString();
    if (!form.href.empty() && form.href[0] == '/') form.href = service_url + form.href;
    if (const json::Value* m = f.Find("method"); m != nullptr && m->IsString()) form.method = m->AsString();
    forms.push_back(std::move(form));
  }
  std::lock_guard<std::mutex> lock(mu_);
  forms_[service_url] = CachedForms{clock_.Steady(), forms};
  return forms;
}

Result<std::optional<std::string>> ServiceDirectory::FormHref(const std::string& service_url, const std::string& rel) {
  auto forms = Forms(service_url);
  if (!forms) return forms.error();
  for (const auto& f : *forms) {
    if (f.rel == rel) return std::optional<std::string>(f.href);
  }
  return std::optional<std::string>();
}

void ServiceDirectory::Forget(const std::string& service_url) {
  std::lock_guard<std::mutex> lock(mu_);
  forms_.erase(service_url);
  lookups_.clear();
}

Status ServiceDirectory::CheckAllowed(const std::string& url) {
  if (options_.allow_unregistered_urls) return Ok();
  auto origin = ParseOrigin(url);
  if (!origin) return Error(ErrorCode::kPermissionDenied, url + " is not an http(s) URL");
  std::string key = OriginKey(*origin);
  // Task URLs come from tag/name lookups, which noted their origins: no fetch at all.
  if (OriginAllowed(key)) return Ok();
  // A state URL is usually shared-state's own: a small, cached lookup.
  clients::FindQuery state_query;
  state_query.name = "shared-state";
  if (Lookup(state_query, "name:shared-state") && OriginAllowed(key)) return Ok();
  // The whole registry (36 MB at 100,000 registrations): only on a miss, one at a time, and at
  // most once per cache_ttl, so repeated calls to an unregistered URL cannot make it a loop.
  std::lock_guard<std::mutex> fetching(full_fetch_mu_);
  if (OriginAllowed(key)) return Ok();  // another thread's fetch found it meanwhile
  auto now = clock_.Steady();
  if (full_fetch_at_ && now - *full_fetch_at_ < options_.cache_ttl) return NotRegistered(url);
  auto all = discovery_.Find(clients::FindQuery{});
  if (!all) return Error(ErrorCode::kUnavailable, "discovery " + discovery_.url() + ": " + all.error().message);
  {
    std::lock_guard<std::mutex> lock(mu_);
    full_fetch_at_ = now;
    for (auto it = origins_.begin(); it != origins_.end();) {  // sweep what expired
      it = now - it->second >= options_.allowed_ttl ? origins_.erase(it) : std::next(it);
    }
    NoteOriginsLocked(*all);
  }
  if (OriginAllowed(key)) return Ok();
  return NotRegistered(url);
}

Result<std::string> ServiceDirectory::SharedStateUrl() {
  clients::FindQuery query;
  query.name = "shared-state";
  auto entries = Lookup(query, "name:shared-state");
  if (!entries) return entries.error();
  for (const auto& e : *entries) {
    if (Passing(e) && !e.service_url.empty()) return e.service_url;
  }
  if (!entries->empty() && !entries->front().service_url.empty()) return entries->front().service_url;
  return Error(ErrorCode::kUnavailable, "no service named shared-state is registered in discovery");
}

}  // namespace csp::job_control
