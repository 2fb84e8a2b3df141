#include "csp/http/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace csp::http {

namespace {

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string FormatLabels(const Labels& labels, const std::string& extra_key = "", const std::string& extra = "") {
  if (labels.empty() && extra_key.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ",";
    first = false;
    out += k + "=\"" + EscapeLabel(v) + "\"";
  }
  if (!extra_key.empty()) {
    if (!first) out += ",";
    out += extra_key + "=\"" + extra + "\"";
  }
  return out + "}";
}

std::string FormatNumber(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

void Counter::Inc(const Labels& labels, double by) {
  std::lock_guard<std::mutex> lock(mu_);
  values_[labels] += by;
}

double Counter::Get(const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = values_.find(labels);
  return it == values_.end() ? 0 : it->second;
}

void Gauge::Set(const Labels& labels, double v) {
  std::lock_guard<std::mutex> lock(mu_);
  values_[labels] = v;
}

void Gauge::Add(const Labels& labels, double by) {
  std::lock_guard<std::mutex> lock(mu_);
  values_[labels] += by;
}

double Gauge::Get(const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = values_.find(labels);
  return it == values_.end() ? 0 : it->second;
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::Observe(const Labels& labels, double v) {
  std::lock_guard<std::mutex> lock(mu_);
  Series& s = series_[labels];
  if (s.buckets.empty()) s.buckets.assign(bounds_.size(), 0);
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  if (it != bounds_.end()) ++s.buckets[static_cast<size_t>(it - bounds_.begin())];
  ++s.count;
  s.sum += v;
}

uint64_t Histogram::Count(const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second.count;
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Counter& MetricsRegistry::AddCounter(std::string name, std::string help) {
  std::lock_guard<std::mutex> lock(mu_);
  auto e = std::make_unique<Entry>();
  e->name = std::move(name);
  e->help = std::move(help);
  e->type = "counter";
  e->counter = std::make_unique<Counter>();
  Counter& c = *e->counter;
  entries_.push_back(std::move(e));
  return c;
}

Gauge& MetricsRegistry::AddGauge(std::string name, std::string help) {
  std::lock_guard<std::mutex> lock(mu_);
  auto e = std::make_unique<Entry>();
  e->name = std::move(name);
  e->help = std::move(help);
  e->type = "gauge";
  e->gauge = std::make_unique<Gauge>();
  Gauge& g = *e->gauge;
  entries_.push_back(std::move(e));
  return g;
}

Histogram& MetricsRegistry::AddHistogram(std::string name, std::string help, std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  auto e = std::make_unique<Entry>();
  e->name = std::move(name);
  e->help = std::move(help);
  e->type = "histogram";
  e->histogram = std::make_unique<Histogram>(std::move(bounds));
  Histogram& h = *e->histogram;
  entries_.push_back(std::move(e));
  return h;
}

void MetricsRegistry::AddGaugeFunction(std::string name, std::string help, GaugeFn fn) {
  std::lock_guard<std::mutex> lock(mu_);
  auto e = std::make_unique<Entry>();
  e->name = std::move(name);
  e->help = std::move(help);
  e->type = "gauge";
  e->fn = std::move(fn);
  entries_.push_back(std::move(e));
}

std::string MetricsRegistry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream out;
  for (const auto& e : entries_) {
    out << "# HELP " << e->name << ' ' << e->help << "\n# TYPE " << e->name << ' ' << e->type << '\n';
    if (e->counter) {
      std::lock_guard<std::mutex> l(e->counter->mu_);
      for (const auto& [labels, v] : e->counter->values_)
        out << e->name << FormatLabels(labels) << ' ' << FormatNumber(v) << '\n';
    } else if (e->gauge) {
      std::lock_guard<std::mutex> l(e->gauge->mu_);
      for (const auto& [labels, v] : e->gauge->values_)
        out << e->name << FormatLabels(labels) << ' ' << FormatNumber(v) << '\n';
    } else if (e->fn) {
      for (const auto& [labels, v] : e->fn()) out << e->name << FormatLabels(labels) << ' ' << FormatNumber(v) << '\n';
    } else if (e->histogram) {
      const Histogram& h = *e->histogram;
      std::lock_guard<std::mutex> l(h.mu_);
      for (const auto& [labels, s] : h.series_) {
        uint64_t cumulative = 0;
        for (size_t i = 0; i < h.bounds_.size(); ++i) {
          cumulative += s.buckets[i];
          out << e->name << "_bucket" << FormatLabels(labels, "le", FormatNumber(h.bounds_[i])) << ' '
              << cumulative << '\n';
        }
        out << e->name << "_bucket" << FormatLabels(labels, "le", "+Inf") << ' ' << s.count << '\n';
        out << e->name << "_sum" << FormatLabels(labels) << ' ' << FormatNumber(s.sum) << '\n';
        out << e->name << "_count" << FormatLabels(labels) << ' ' << s.count << '\n';
      }
    }
  }
  return out.str();
}

}  // namespace csp::http
