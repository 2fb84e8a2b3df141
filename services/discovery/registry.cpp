#include "discovery/registry.h"

#include <algorithm>

#include "csp/core/id.h"
#include "csp/json/json.h"

namespace csp::discovery {

namespace {

bool Contains(const std::vector<std::string>& items, const std::string& wanted) {
  return std::find(items.begin(), items.end(), wanted) != items.end();
}

bool Matches(const Entry& e, const FindQuery& q) {
  if (!q.tag.empty() && !Contains(e.tags, q.tag)) return false;
  if (!q.name.empty() && e.service_name != q.name) return false;
  if (!q.media_type.empty() && !Contains(e.media_types, q.media_type)) return false;
  if (!q.profile.empty() && e.semantic_profile.find(q.profile) == std::string::npos) return false;
  if (q.healthy_only && e.status != HealthStatus::kPassing) return false;
  return true;
}

// What a registration sets; the rest of the entry (id, order, timestamps, health) is kept.
void ApplyRegistration(Entry& e, const Registration& r) {
  e.service_name = r.service_name;
  e.service_url = r.service_url;
  e.tags = r.tags;
  e.semantic_profile = r.semantic_profile;
  e.media_types = r.media_types;
  e.ping_url = r.ping_url;
  e.ttl_seconds = r.ttl_seconds;
  e.metadata = r.metadata;
}

bool SameRegistration(const Entry& e, const Registration& r) {
  return e.tags == r.tags && e.semantic_profile == r.semantic_profile && e.media_types == r.media_types &&
         e.ping_url == r.ping_url && e.ttl_seconds == r.ttl_seconds && e.metadata == r.metadata;
}

// A registration or renewal is the service itself saying it is alive: TTL and restart
// bookkeeping start over.
void MarkRenewed(Entry& e, const Clock& clock) {
  e.last_renewed = clock.Now();
  e.renewed_steady = clock.Steady();
  e.missed_ttls = 0;
  e.awaiting_renewal = false;
}

void EraseFrom(std::unordered_map<std::string, std::set<uint64_t>>& index, const std::string& key, uint64_t seq) {
  auto it = index.find(key);
  if (it == index.end()) return;
  it->second.erase(seq);
  if (it->second.empty()) index.erase(it);
}

}  // namespace

Registry::Registry(const Clock& clock, Store& store, RegistryOptions options)
    : clock_(clock), store_(store), options_(options) {}

void Registry::SetChangeListener(std::function<void(uint64_t)> listener) {
  std::lock_guard<std::mutex> lock(mu_);
  listener_ = std::move(listener);
}

Status Registry::Load() {
  auto snapshot = store_.Load();
  if (!snapshot) return snapshot.error();
  for (const auto& reason : snapshot->skipped) log_.Warn("skipped a stored row that does not parse", {{"row", reason}});
  std::lock_guard<std::mutex> lock(mu_);
  for (Entry& e : snapshot->entries) {
    e.awaiting_ping = !e.ping_url.empty();
    e.awaiting_renewal = e.ttl_seconds > 0;
    e.renewed_steady = clock_.Steady();
    RecomputeStatus(e);
    last_seq_ = std::max(last_seq_, e.seq);
    Seq seq = e.seq;
    auto [it, inserted] = entries_.emplace(seq, std::move(e));
    if (inserted) IndexLocked(it->second);
  }
  for (Binding& b : snapshot->bindings) {
    if (by_id_.count(b.source_registry_id) == 0 || by_id_.count(b.target_registry_id) == 0) continue;
    binding_by_id_[b.binding_id] = next_binding_;
    bindings_.emplace(next_binding_++, std::move(b));
  }
  BumpLocked();
  log_.Info("registry loaded", {{"entries", entries_.size()}, {"bindings", bindings_.size()}});
  return Ok();
}

Result<RegisterResult> Registry::Register(const Registration& r) {
  std::lock_guard<std::mutex> lock(mu_);
  auto existing = by_name_url_.find({r.service_name, r.service_url});
  if (existing != by_name_url_.end()) {
    Entry& current = entries_.at(existing->second);
    Entry updated = current;
    bool changed = !SameRegistration(current, r);
    if (updated.ping_url != r.ping_url) updated.last_checked.reset();
    ApplyRegistration(updated, r);
    MarkRenewed(updated, clock_);
    updated.ping_failures = 0;
    updated.awaiting_ping = false;
    changed = RecomputeStatus(updated) || changed;
    if (Status s = store_.PutEntry(updated); !s) return s.error();
    UnindexLocked(current);
    current = std::move(updated);
    IndexLocked(current);
    if (changed) BumpLocked();
    return RegisterResult{current.registry_id, false};
  }
  Entry e;
  e.registry_id = NewUuid();
  ApplyRegistration(e, r);
  e.registered_at = clock_.Now();
  MarkRenewed(e, clock_);
  e.last_renewed = e.registered_at;
  e.seq = last_seq_ + 1;
  RecomputeStatus(e);
  if (Status s = store_.PutEntry(e); !s) return s.error();
  last_seq_ = e.seq;
  auto [it, inserted] = entries_.emplace(e.seq, std::move(e));
  IndexLocked(it->second);
  BumpLocked();
  return RegisterResult{it->second.registry_id, true};
}

Status Registry::Renew(const std::string& registry_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* current = FindLocked(registry_id);
  if (current == nullptr) return NotFound(std::string(kServiceNotFound));
  Entry updated = *current;
  MarkRenewed(updated, clock_);
  bool changed = RecomputeStatus(updated);
  if (Status s = store_.PutEntry(updated); !s) return s;
  *current = std::move(updated);
  if (changed) BumpLocked();
  return Ok();
}

Status Registry::Unregister(const std::string& registry_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(registry_id);
  if (it == by_id_.end()) return NotFound(std::string(kServiceNotFound));
  if (Status s = store_.DeleteEntry(registry_id); !s) return s;
  RemoveLocked(it->second);
  BumpLocked();
  return Ok();
}

Result<size_t> Registry::UnregisterByUrl(const std::string& service_url, const std::string& service_name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Seq> victims;
  if (!service_name.empty()) {
    auto it = by_name_url_.find({service_name, service_url});
    if (it != by_name_url_.end()) victims.push_back(it->second);
  } else if (auto it = by_url_.find(service_url); it != by_url_.end()) {
    victims.assign(it->second.begin(), it->second.end());
  }
  if (victims.empty()) return NotFound(std::string(kServiceNotFound));
  size_t removed = 0;
  for (Seq seq : victims) {
    if (Status s = store_.DeleteEntry(entries_.at(seq).registry_id); !s) {
      if (removed > 0) BumpLocked();
      return s.error();
    }
    RemoveLocked(seq);
    ++removed;
  }
  BumpLocked();
  return removed;
}

std::optional<Entry> Registry::Get(const std::string& registry_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(registry_id);
  if (it == by_id_.end()) return std::nullopt;
  return entries_.at(it->second);
}

const Registry::SeqSet* Registry::CandidatesLocked(const FindQuery& q, bool& filtered) const {
  // The smallest of the exact-match index sets bounds the work; the other filters are checked
  // per candidate.
  static const SeqSet kNone;
  const SeqSet* best = nullptr;
  filtered = false;
  auto consider = [&](const std::unordered_map<std::string, SeqSet>& index, const std::string& key) {
    if (key.empty()) return;
    filtered = true;
    auto it = index.find(key);
    const SeqSet* set = it == index.end() ? &kNone : &it->second;
    if (best == nullptr || set->size() < best->size()) best = set;
  };
  consider(by_tag_, q.tag);
  consider(by_name_, q.name);
  consider(by_media_type_, q.media_type);
  return best;
}

std::vector<const Entry*> Registry::MatchLocked(const FindQuery& query, size_t& examined) const {
  std::vector<const Entry*> passing;
  std::vector<const Entry*> rest;
  auto visit = [&](const Entry& e) {
    ++examined;
    if (!Matches(e, query)) return;
    (e.status == HealthStatus::kPassing ? passing : rest).push_back(&e);
  };
  bool filtered = false;
  const SeqSet* candidates = CandidatesLocked(query, filtered);
  if (filtered) {
    for (Seq seq : *candidates) visit(entries_.at(seq));
  } else {
    for (const auto& [seq, e] : entries_) visit(e);
  }
  passing.insert(passing.end(), rest.begin(), rest.end());
  return passing;
}

FindResult Registry::Find(const FindQuery& query) const {
  FindResult out;
  std::lock_guard<std::mutex> lock(mu_);
  out.index = index_;
  std::vector<const Entry*> matched = MatchLocked(query, out.examined);
  out.entries.reserve(matched.size());
  for (const Entry* e : matched) out.entries.push_back(*e);
  return out;
}

// Kept texts are taken under the lock; the others are rendered from copies after it is released
// (an unfiltered /find over a big registry must not hold registrations up while it renders), then
// kept if their entries did not change meanwhile.
FindText Registry::FindJson(const FindQuery& query) const {
  struct Part {
    std::shared_ptr<const std::string> text;
    std::optional<Entry> entry;  // to render, when no fresh text was kept
  };
  std::vector<Part> parts;
  uint64_t generation = 0;
  FindText out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out.index = index_;
    generation = registrations_changed_;
    size_t examined = 0;
    std::vector<const Entry*> matched = MatchLocked(query, examined);
    parts.reserve(matched.size());
    for (const Entry* e : matched) {
      auto it = rendered_.find(e->seq);
      if (it != rendered_.end() && Fresh(it->second, *e)) {
        parts.push_back({it->second.text, std::nullopt});
      } else {
        parts.push_back({nullptr, *e});
      }
    }
  }
  std::vector<std::pair<Seq, Rendered>> made;
  size_t bytes = 2;
  for (Part& p : parts) {
    if (!p.text) {
      Rendered r = Render(*p.entry);
      p.text = r.text;
      made.emplace_back(p.entry->seq, std::move(r));
    }
    bytes += p.text->size() + 1;
  }
  if (!made.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation == registrations_changed_) {
      for (auto& [seq, r] : made) KeepRenderedLocked(seq, std::move(r));
    }
  }
  out.count = parts.size();
  out.json.reserve(bytes);
  out.json.push_back('[');
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.json.push_back(',');
    out.json += *parts[i].text;
  }
  out.json.push_back(']');
  return out;
}

Registry::Rendered Registry::Render(const Entry& e) {
  return Rendered{std::make_shared<const std::string>(json::Dump(EntryToJson(e))), e.last_renewed, e.last_checked,
                  e.status, e.failures()};
}

void Registry::KeepRenderedLocked(Seq seq, Rendered r) const {
  auto entry = entries_.find(seq);
  if (entry == entries_.end() || !Fresh(r, entry->second)) return;
  DropRenderedLocked(seq);
  if (rendered_bytes_ + r.text->size() > options_.rendered_cache_bytes) return;  // full: rendered each time
  rendered_bytes_ += r.text->size();
  rendered_.emplace(seq, std::move(r));
}

void Registry::DropRenderedLocked(Seq seq) const {
  auto it = rendered_.find(seq);
  if (it == rendered_.end()) return;
  rendered_bytes_ -= it->second.text->size();
  rendered_.erase(it);
}

uint64_t Registry::index() const {
  std::lock_guard<std::mutex> lock(mu_);
  return index_;
}

size_t Registry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

Result<Binding> Registry::Bind(const std::string& source, const std::string& target) {
  std::lock_guard<std::mutex> lock(mu_);
  if (by_id_.count(source) == 0 || by_id_.count(target) == 0) return NotFound(std::string(kBindNotFound));
  Binding b{NewUuid(), source, target, clock_.Now()};
  if (Status s = store_.PutBinding(b); !s) return s.error();
  binding_by_id_[b.binding_id] = next_binding_;
  bindings_.emplace(next_binding_++, b);
  BumpLocked();
  return b;
}

Status Registry::Unbind(const std::string& binding_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = binding_by_id_.find(binding_id);
  if (it == binding_by_id_.end()) return NotFound(std::string(kBindingNotFound));
  if (Status s = store_.DeleteBinding(binding_id); !s) return s;
  bindings_.erase(it->second);
  binding_by_id_.erase(it);
  BumpLocked();
  return Ok();
}

std::optional<Binding> Registry::GetBinding(const std::string& binding_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = binding_by_id_.find(binding_id);
  if (it == binding_by_id_.end()) return std::nullopt;
  return bindings_.at(it->second);
}

std::vector<Binding> Registry::Bindings() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Binding> out;
  out.reserve(bindings_.size());
  for (const auto& [order, b] : bindings_) out.push_back(b);
  return out;
}

std::vector<PingTarget> Registry::PingTargets() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PingTarget> out;
  out.reserve(with_ping_.size());
  for (Seq seq : with_ping_) {
    const Entry& e = entries_.at(seq);
    out.push_back({e.registry_id, e.ping_url});
  }
  return out;
}

CheckOutcome Registry::RecordCheck(const PingTarget& target, bool passed) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = FindLocked(target.registry_id);
  if (e == nullptr || e->ping_url != target.ping_url) return CheckOutcome::kIgnored;
  e->last_checked = clock_.Now();
  e->awaiting_ping = false;
  e->ping_failures = passed ? 0 : e->ping_failures + 1;
  if (e->ping_failures >= options_.evict_after) {
    EvictLocked(e->seq, "ping failed");
    return CheckOutcome::kEvicted;
  }
  if (RecomputeStatus(*e)) BumpLocked();
  return passed ? CheckOutcome::kPassing : CheckOutcome::kCritical;
}

size_t Registry::ExpireTtls() {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = clock_.Steady();
  std::vector<Seq> expired;
  bool changed = false;
  for (Seq seq : with_ttl_) {
    Entry& e = entries_.at(seq);
    auto elapsed = now - e.renewed_steady;
    auto ttl = std::chrono::seconds(e.ttl_seconds);
    int64_t missed = elapsed < ttl ? 0 : elapsed / ttl;
    e.missed_ttls = static_cast<int>(std::min<int64_t>(missed, options_.evict_after));
    if (e.missed_ttls >= options_.evict_after) {
      expired.push_back(seq);
      continue;
    }
    changed = RecomputeStatus(e) || changed;
  }
  for (Seq seq : expired) EvictLocked(seq, "ttl expired");
  if (changed && expired.empty()) BumpLocked();
  return expired.size();
}

std::vector<std::pair<HealthStatus, size_t>> Registry::CountByStatus() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t counts[3] = {0, 0, 0};
  for (const auto& [seq, e] : entries_) ++counts[static_cast<int>(e.status)];
  return {{HealthStatus::kPassing, counts[static_cast<int>(HealthStatus::kPassing)]},
          {HealthStatus::kPending, counts[static_cast<int>(HealthStatus::kPending)]},
          {HealthStatus::kCritical, counts[static_cast<int>(HealthStatus::kCritical)]}};
}

Status Registry::PingStore() {
  std::lock_guard<std::mutex> lock(mu_);
  return store_.Ping();
}

Entry* Registry::FindLocked(const std::string& registry_id) {
  auto it = by_id_.find(registry_id);
  return it == by_id_.end() ? nullptr : &entries_.at(it->second);
}

void Registry::IndexLocked(const Entry& e) {
  by_id_[e.registry_id] = e.seq;
  for (const auto& tag : e.tags) by_tag_[tag].insert(e.seq);
  for (const auto& type : e.media_types) by_media_type_[type].insert(e.seq);
  by_name_[e.service_name].insert(e.seq);
  by_url_[e.service_url].insert(e.seq);
  by_name_url_[{e.service_name, e.service_url}] = e.seq;
  if (!e.ping_url.empty()) with_ping_.insert(e.seq);
  if (e.ttl_seconds > 0) with_ttl_.insert(e.seq);
}

void Registry::UnindexLocked(const Entry& e) {
  DropRenderedLocked(e.seq);
  ++registrations_changed_;
  by_id_.erase(e.registry_id);
  for (const auto& tag : e.tags) EraseFrom(by_tag_, tag, e.seq);
  for (const auto& type : e.media_types) EraseFrom(by_media_type_, type, e.seq);
  EraseFrom(by_name_, e.service_name, e.seq);
  EraseFrom(by_url_, e.service_url, e.seq);
  auto it = by_name_url_.find({e.service_name, e.service_url});
  if (it != by_name_url_.end() && it->second == e.seq) by_name_url_.erase(it);
  with_ping_.erase(e.seq);
  with_ttl_.erase(e.seq);
}

void Registry::RemoveLocked(Seq seq) {
  auto it = entries_.find(seq);
  if (it == entries_.end()) return;
  const std::string& id = it->second.registry_id;
  for (auto b = bindings_.begin(); b != bindings_.end();) {
    if (b->second.source_registry_id == id || b->second.target_registry_id == id) {
      binding_by_id_.erase(b->second.binding_id);
      b = bindings_.erase(b);
    } else {
      ++b;
    }
  }
  UnindexLocked(it->second);
  entries_.erase(it);
}

void Registry::EvictLocked(Seq seq, std::string_view reason) {
  const Entry& e = entries_.at(seq);
  log_.Info("evicted", {{"registryID", e.registry_id},
                        {"serviceName", e.service_name},
                        {"serviceURL", e.service_url},
                        {"reason", reason}});
  if (Status s = store_.DeleteEntry(e.registry_id); !s) {
    log_.Error("could not delete an evicted entry from the store",
               {{"registryID", e.registry_id}, {"error", s.error().message}});
  }
  RemoveLocked(seq);
  BumpLocked();
}

void Registry::BumpLocked() {
  ++index_;
  if (listener_) listener_(index_);
}

bool Registry::RecomputeStatus(Entry& e) {
  HealthStatus before = e.status;
  if (e.ping_failures > 0 || e.missed_ttls > 0) {
    e.status = HealthStatus::kCritical;
  } else if (e.awaiting_ping || e.awaiting_renewal) {
    e.status = HealthStatus::kPending;
  } else {
    e.status = HealthStatus::kPassing;
  }
  return e.status != before;
}

}  // namespace csp::discovery
