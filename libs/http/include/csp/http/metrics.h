#pragma once
// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
// exposition format at GET /metrics. Thread-safe. Metric objects live as long as the registry.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace csp::http {

// Label pairs in a fixed order, e.g. {{"method","GET"},{"status","200"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(const Labels& labels = {}, double by = 1);
  double Get(const Labels& labels = {}) const;

 private:
  friend class MetricsRegistry;
  mutable std::mutex mu_;
  std::map<Labels, double> values_;
};

class Gauge {
 public:
  void Set(const Labels& labels, double v);
  void Set(double v) { Set({}, v); }
  void Add(const Labels& labels, double by);
  double Get(const Labels& labels = {}) const;

 private:
  friend class MetricsRegistry;
  mutable std::mutex mu_;
  std::map<Labels, double> values_;
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(const Labels& labels, double v);
  void Observe(double v) { Observe({}, v); }
  uint64_t Count(const Labels& labels = {}) const;

 private:
  friend class MetricsRegistry;
  struct Series {
    std::vector<uint64_t> buckets;  // cumulative at render time; per-bucket here
    uint64_t count = 0;
    double sum = 0;
  };
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<Labels, Series> series_;
};

// Latency buckets in seconds, 100 µs .. 10 s.
std::vector<double> LatencyBuckets();

class MetricsRegistry {
 public:
  Counter& AddCounter(std::string name, std::string help);
  Gauge& AddGauge(std::string name, std::string help);
  Histogram& AddHistogram(std::string name, std::string help, std::vector<double> bounds = LatencyBuckets());
  // A gauge computed when /metrics is read (e.g. documents in the store).
  using GaugeFn = std::function<std::vector<std::pair<Labels, double>>()>;
  void AddGaugeFunction(std::string name, std::string help, GaugeFn fn);

  std::string Render() const;

 private:
  struct Entry {
    std::string name, help, type;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    GaugeFn fn;
  };
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace csp::http
