// A small metrics registry rendered in the Prometheus text exposition format
// 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/), for
// the admin listener's /metrics (issue 4 "Operations").
//
// Series are registered up front (at startup, by the components that own
// them) and kept for the process's life; the returned references stay valid
// as long as the registry. Updating a Counter, Gauge or Histogram is lock-free
// (relaxed atomics); registration and render() take a mutex.
//
// Names: full metric names ("rampart_gateway_connections_total"), checked
// against [a-zA-Z_:][a-zA-Z0-9_:]*; label names against [a-zA-Z_][a-zA-Z0-9_]*
// and not starting with "__". Labels are a fixed small set per series, given
// at registration ({{"result","ok"}}). Registering an invalid name, the same
// name with another type or help text, or a histogram with unsorted bounds is
// a programming error: std::invalid_argument, at startup. Registering the same
// name and labels twice returns the same series.
//
// Output: families in registration order, each with `# HELP` and `# TYPE`
// once, then its series in registration order. HELP text escapes '\' and
// newline; label values escape '\', '"' and newline.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rampart::gateway {

// The Content-Type of render()'s output.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t by = 1) noexcept { value_.fetch_add(by, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t by = 1) noexcept { value_.fetch_add(by, std::memory_order_relaxed); }
  void sub(std::int64_t by = 1) noexcept { value_.fetch_sub(by, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Fixed upper bounds (seconds for latencies, by convention); observations
// above the last bound land only in +Inf.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value) noexcept;
  const std::vector<double>& bounds() const { return bounds_; }
  // Non-cumulative count of bucket i (i == bounds().size() is +Inf).
  std::uint64_t bucketCount(std::size_t i) const noexcept {
    return buckets_[i].load(std::memory_order_relaxed);
  }
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

// Latency bounds in seconds, 1 ms to 10 s.
std::vector<double> defaultLatencyBounds();

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter& counter(std::string_view name, std::string_view help, MetricLabels labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, MetricLabels labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, std::vector<double> bounds,
                       MetricLabels labels = {});

  // The whole registry in text format 0.0.4.
  std::string render() const;

 private:
  enum class Type { counter, gauge, histogram };
  struct Series {
    MetricLabels labels;
    std::string rendered_labels;  // `a="x",b="y"` (no braces), escaped once
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    std::string name;
    std::string help;
    Type type;
    std::vector<double> bounds;  // histograms
    std::deque<Series> series;
  };
  Series& find(std::string_view name, std::string_view help, Type type, MetricLabels labels,
               const std::vector<double>* bounds);

  mutable std::mutex mutex_;
  std::deque<Family> families_;
};

// Helpers exposed for tests.
std::string escapeLabelValue(std::string_view value);
std::string escapeHelp(std::string_view help);
std::string formatMetricValue(double value);  // Go ParseFloat-compatible, "+Inf"/"-Inf"/"NaN"

}  // namespace rampart::gateway
