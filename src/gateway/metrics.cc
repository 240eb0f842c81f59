#include "gateway/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace rampart::gateway {
namespace {

bool validName(std::string_view name, bool colon_allowed) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (colon_allowed && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string_view typeName(int type) {
  switch (type) {
    case 0:
      return "counter";
    case 1:
      return "gauge";
    default:
      return "histogram";
  }
}

std::string renderLabels(const MetricLabels& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ',';
    out += name;
    out += "=\"";
    out += escapeLabelValue(value);
    out += '"';
  }
  return out;
}

// `name{labels,extra} value\n`
void line(std::string& out, std::string_view name, std::string_view labels, std::string_view extra,
          std::string_view value) {
  out += name;
  if (!labels.empty() || !extra.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra.empty()) out += ',';
    out += extra;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string formatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc{}) return "NaN";
  return std::string(buf, end);
}

std::vector<double> defaultLatencyBounds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double value) noexcept {
  // First bound >= value ("le" is inclusive); NaN lands in +Inf.
  std::size_t i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                           bounds_.begin());
  if (std::isnan(value)) i = bounds_.size();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

MetricsRegistry::Series& MetricsRegistry::find(std::string_view name, std::string_view help,
                                               Type type, MetricLabels labels,
                                               const std::vector<double>* bounds) {
  if (!validName(name, /*colon_allowed=*/true)) {
    throw std::invalid_argument("metrics: invalid metric name '" + std::string(name) + "'");
  }
  for (const auto& [label, value] : labels) {
    if (!validName(label, false) || label.rfind("__", 0) == 0 ||
        (type == Type::histogram && label == "le")) {
      throw std::invalid_argument("metrics: invalid label name '" + label + "' on " +
                                  std::string(name));
    }
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    for (std::size_t j = i + 1; j < labels.size(); ++j) {
      if (labels[i].first == labels[j].first) {
        throw std::invalid_argument("metrics: duplicate label '" + labels[i].first + "' on " +
                                    std::string(name));
      }
    }
  }
  if (bounds) {
    if (bounds->empty() || !std::is_sorted(bounds->begin(), bounds->end()) ||
        std::adjacent_find(bounds->begin(), bounds->end()) != bounds->end() ||
        std::any_of(bounds->begin(), bounds->end(), [](double b) { return !std::isfinite(b); })) {
      throw std::invalid_argument("metrics: histogram bounds of " + std::string(name) +
                                  " must be finite and strictly increasing");
    }
  }

  std::lock_guard lock(mutex_);
  Family* family = nullptr;
  for (auto& f : families_) {
    if (f.name == name) family = &f;
  }
  if (family == nullptr) {
    family = &families_.emplace_back(Family{
        std::string(name), std::string(help), type, bounds ? *bounds : std::vector<double>{}, {}});
  } else if (family->type != type || family->help != help ||
             (bounds && family->bounds != *bounds)) {
    throw std::invalid_argument("metrics: " + std::string(name) +
                                " registered again with another type, help or bounds");
  }
  for (auto& s : family->series) {
    if (s.labels == labels) return s;
  }
  Series& s = family->series.emplace_back();
  s.rendered_labels = renderLabels(labels);
  s.labels = std::move(labels);
  switch (type) {
    case Type::counter:
      s.counter = std::make_unique<Counter>();
      break;
    case Type::gauge:
      s.gauge = std::make_unique<Gauge>();
      break;
    case Type::histogram:
      s.histogram = std::make_unique<Histogram>(*bounds);
      break;
  }
  return s;
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                  MetricLabels labels) {
  return *find(name, help, Type::counter, std::move(labels), nullptr).counter;
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, MetricLabels labels) {
  return *find(name, help, Type::gauge, std::move(labels), nullptr).gauge;
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      std::vector<double> bounds, MetricLabels labels) {
  return *find(name, help, Type::histogram, std::move(labels), &bounds).histogram;
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    out += escapeHelp(f.help);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += typeName(static_cast<int>(f.type));
    out += '\n';
    for (const auto& s : f.series) {
      switch (f.type) {
        case Type::counter:
          line(out, f.name, s.rendered_labels, {}, std::to_string(s.counter->value()));
          break;
        case Type::gauge:
          line(out, f.name, s.rendered_labels, {}, std::to_string(s.gauge->value()));
          break;
        case Type::histogram: {
          const Histogram& h = *s.histogram;
          std::string bucket = f.name + "_bucket";
          std::uint64_t cumulative = 0;
          for (std::size_t i = 0; i <= f.bounds.size(); ++i) {
            cumulative += h.bucketCount(i);
            std::string le = "le=\"";
            le += i < f.bounds.size() ? formatMetricValue(f.bounds[i]) : "+Inf";
            le += '"';
            line(out, bucket, s.rendered_labels, le, std::to_string(cumulative));
          }
          line(out, f.name + "_sum", s.rendered_labels, {}, formatMetricValue(h.sum()));
          // The count is the +Inf bucket's, so the two always agree even
          // while observe() runs concurrently.
          line(out, f.name + "_count", s.rendered_labels, {}, std::to_string(cumulative));
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace rampart::gateway
