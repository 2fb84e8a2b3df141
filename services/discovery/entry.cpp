#include "discovery/entry.h"

#include <cctype>

#include "csp/core/time.h"
#include "csp/json/getters.h"
#include "csp/json/json.h"

namespace csp::discovery {

namespace {

// Kept in the message so clients that match the original's text still recognise it.
constexpr std::string_view kRequiredHint = " (serviceName and serviceURL are required)";

Error TooLong(std::string_view path, size_t limit) {
  return InvalidArgument(std::string(path) + ": longer than " + std::to_string(limit) + " characters");
}

Result<std::string> RequiredString(const json::Value& body, std::string_view key, size_t max_length) {
  const json::Value* v = body.Find(key);
  if (v == nullptr || v->IsNull()) {
    return InvalidArgument(std::string(key) + ": is required" + std::string(kRequiredHint));
  }
  if (!v->IsString()) {
    return InvalidArgument(std::string(key) + ": expected a string, got " + std::string(json::TypeName(v->type())));
  }
  if (v->AsString().empty()) {
    return InvalidArgument(std::string(key) + ": must not be empty" + std::string(kRequiredHint));
  }
  if (v->AsString().size() > max_length) return TooLong(key, max_length);
  return v->AsString();
}

Result<std::string> OptionalString(const json::Value& body, std::string_view key, size_t max_length) {
  auto v = json::GetOptionalString(body, key);
  if (!v) return v.error();
  std::string s = v->value_or("");
  if (s.size() > max_length) return TooLong(key, max_length);
  return s;
}

Result<std::vector<std::string>> OptionalList(const json::Value& body, std::string_view key) {
  auto v = json::GetOptionalStringArray(body, key);
  if (!v) return v.error();
  std::vector<std::string> items = v->value_or(std::vector<std::string>{});
  if (items.size() > kMaxListItems) {
    return InvalidArgument(std::string(key) + ": more than " + std::to_string(kMaxListItems) + " items");
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].size() > kMaxItemLength) return TooLong(json::JoinPath(key, i), kMaxItemLength);
  }
  return items;
}

// pingURL, or the spelling "pingUrl" some clients use (the original's shared-state sends it).
Result<std::string> PingUrl(const json::Value& body) {
  const json::Value* upper = body.Find("pingURL");
  std::string_view key =
      (upper == nullptr || upper->IsNull()) && body.Find("pingUrl") != nullptr ? "pingUrl" : "pingURL";
  auto url = OptionalString(body, key, kMaxUrlLength);
  if (!url) return url.error();
  if (!url->empty() && !IsHttpUrl(*url)) {
    return InvalidArgument(std::string(key) + ": expected an http or https URL");
  }
  return url;
}

Result<int64_t> TtlSeconds(const json::Value& body) {
  auto ttl = json::GetOptionalInt(body, "ttlSeconds");
  if (!ttl) return ttl.error();
  int64_t value = ttl->value_or(0);
  if (value < 0 || value > kMaxTtlSeconds) {
    return InvalidArgument("ttlSeconds: must be between 0 and " + std::to_string(kMaxTtlSeconds));
  }
  return value;
}

Result<json::Value> Metadata(const json::Value& body) {
  auto meta = json::GetOptionalObject(body, "metadata");
  if (!meta) return meta.error();
  if (*meta == nullptr) return json::Value::MakeObject();
  if (json::Dump(**meta).size() > kMaxMetadataBytes) {
    return InvalidArgument("metadata: larger than " + std::to_string(kMaxMetadataBytes) + " bytes");
  }
  return **meta;
}

json::Value StringArray(const std::vector<std::string>& items) {
  json::Array out;
  out.reserve(items.size());
  for (const auto& s : items) out.emplace_back(s);
  return out;
}

json::Value Timestamp(std::chrono::system_clock::time_point t) { return FormatIso8601(t); }

Result<std::chrono::system_clock::time_point> StoredTime(const json::Value& v, std::string_view key) {
  auto text = json::GetString(v, key);
  if (!text) return text.error();
  auto t = ParseIso8601(*text);
  if (!t) return t.error().WithPrefix(key);
  return *t;
}

}  // namespace

std::string_view StatusName(HealthStatus status) {
  switch (status) {
    case HealthStatus::kPassing:
      return "passing";
    case HealthStatus::kPending:
      return "pending";
    case HealthStatus::kCritical:
      return "critical";
  }
  return "critical";
}

bool IsHttpUrl(std::string_view url) {
  auto starts_with_ci = [&](std::string_view prefix) {
    if (url.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(url[i])) != prefix[i]) return false;
    }
    return true;
  };
  size_t rest;
  if (starts_with_ci("http://")) {
    rest = 7;
  } else if (starts_with_ci("https://")) {
    rest = 8;
  } else {
    return false;
  }
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  size_t host_end = url.find_first_of("/?#", rest);
  if (host_end == std::string_view::npos) host_end = url.size();
  return host_end > rest;
}

Result<Registration> ParseRegistration(const json::Value& body) {
  if (!body.IsObject()) {
    return InvalidArgument("expected a JSON object with serviceName and serviceURL, got " +
                           std::string(json::TypeName(body.type())));
  }
  Registration r;
  auto name = RequiredString(body, "serviceName", kMaxNameLength);
  if (!name) return name.error();
  r.service_name = std::move(*name);
  auto url = RequiredString(body, "serviceURL", kMaxUrlLength);
  if (!url) return url.error();
  if (!IsHttpUrl(*url)) return InvalidArgument("serviceURL: expected an http or https URL");
  r.service_url = std::move(*url);
  auto tags = OptionalList(body, "tags");
  if (!tags) return tags.error();
  r.tags = std::move(*tags);
  auto profile = OptionalString(body, "semanticProfile", kMaxProfileLength);
  if (!profile) return profile.error();
  r.semantic_profile = std::move(*profile);
  auto media = OptionalList(body, "mediaTypes");
  if (!media) return media.error();
  r.media_types = std::move(*media);
  auto ping = PingUrl(body);
  if (!ping) return ping.error();
  r.ping_url = std::move(*ping);
  auto ttl = TtlSeconds(body);
  if (!ttl) return ttl.error();
  r.ttl_seconds = *ttl;
  auto meta = Metadata(body);
  if (!meta) return meta.error();
  r.metadata = std::move(*meta);
  return r;
}

json::Value EntryToJson(const Entry& e) {
  return json::Object{
      {"registryID", e.registry_id},
      {"serviceName", e.service_name},
      {"serviceURL", e.service_url},
      {"tags", StringArray(e.tags)},
      {"semanticProfile", e.semantic_profile},
      {"mediaTypes", StringArray(e.media_types)},
      {"pingURL", e.ping_url},
      {"lastRenewed", Timestamp(e.last_renewed)},
      {"registeredAt", Timestamp(e.registered_at)},
      {"status", std::string(StatusName(e.status))},
      {"lastChecked", e.last_checked ? Timestamp(*e.last_checked) : json::Value()},
      {"failures", e.failures()},
      {"ttlSeconds", e.ttl_seconds},
      {"metadata", e.metadata},
  };
}

json::Value EntryToStored(const Entry& e) {
  // The wire form without the health fields: after a restart every entry is checked again.
  json::Value stored = EntryToJson(e);
  for (const char* key : {"status", "lastChecked", "failures"}) stored.AsObject().Erase(key);
  stored.Set("seq", static_cast<int64_t>(e.seq));
  return stored;
}

Result<Entry> EntryFromStored(const json::Value& stored) {
  Entry e;
  auto id = json::GetString(stored, "registryID");
  if (!id) return id.error();
  e.registry_id = std::move(*id);
  // The registration fields go through the same validation as a POST /register body.
  auto reg = ParseRegistration(stored);
  if (!reg) return reg.error();
  e.service_name = std::move(reg->service_name);
  e.service_url = std::move(reg->service_url);
  e.tags = std::move(reg->tags);
  e.semantic_profile = std::move(reg->semantic_profile);
  e.media_types = std::move(reg->media_types);
  e.ping_url = std::move(reg->ping_url);
  e.ttl_seconds = reg->ttl_seconds;
  e.metadata = std::move(reg->metadata);
  auto renewed = StoredTime(stored, "lastRenewed");
  if (!renewed) return renewed.error();
  e.last_renewed = *renewed;
  auto registered = StoredTime(stored, "registeredAt");
  if (!registered) return registered.error();
  e.registered_at = *registered;
  auto seq = json::GetInt(stored, "seq");
  if (!seq) return seq.error();
  if (*seq <= 0) return InvalidArgument("seq: must be positive");
  e.seq = static_cast<uint64_t>(*seq);
  return e;
}

json::Value BindingToJson(const Binding& b) {
  return json::Object{
      {"bindingID", b.binding_id},
      {"sourceRegistryID", b.source_registry_id},
      {"targetRegistryID", b.target_registry_id},
      {"createdAt", Timestamp(b.created_at)},
  };
}

}  // namespace csp::discovery
