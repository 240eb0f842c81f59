// The metrics registry and its Prometheus text format 0.0.4 output.
#include "gateway/metrics.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace rampart::gateway {
namespace {

TEST(Metrics, ExactTextForASmallRegistry) {
  MetricsRegistry r;
  Counter& ok = r.counter("rampart_gateway_auth_total", "Authentication attempts by result.",
                          {{"result", "ok"}});
  Counter& bad = r.counter("rampart_gateway_auth_total", "Authentication attempts by result.",
                           {{"result", "failed"}});
  Gauge& conns = r.gauge("rampart_gateway_connections", "Open client connections by state.",
                         {{"state", "parked_ping"}});
  Histogram& latency = r.histogram("rampart_gateway_request_duration_seconds",
                                   "Request latency.\nSecond line with a \\ backslash.",
                                   {0.005, 0.1, 1}, {{"rule", "eas"}});
  Counter& plain = r.counter("rampart_gateway_blocks_total", "Connections refused.");
  ok.inc();
  ok.inc(2);
  bad.inc();
  conns.set(10);
  conns.sub(3);
  conns.add();
  latency.observe(0.005);  // le is inclusive
  latency.observe(0.05);
  latency.observe(2.5);  // only +Inf
  plain.inc(0);

  EXPECT_EQ(r.render(),
            "# HELP rampart_gateway_auth_total Authentication attempts by result.\n"
            "# TYPE rampart_gateway_auth_total counter\n"
            "rampart_gateway_auth_total{result=\"ok\"} 3\n"
            "rampart_gateway_auth_total{result=\"failed\"} 1\n"
            "# HELP rampart_gateway_connections Open client connections by state.\n"
            "# TYPE rampart_gateway_connections gauge\n"
            "rampart_gateway_connections{state=\"parked_ping\"} 8\n"
            "# HELP rampart_gateway_request_duration_seconds Request latency.\\nSecond line "
            "with a \\\\ backslash.\n"
            "# TYPE rampart_gateway_request_duration_seconds histogram\n"
            "rampart_gateway_request_duration_seconds_bucket{rule=\"eas\",le=\"0.005\"} 1\n"
            "rampart_gateway_request_duration_seconds_bucket{rule=\"eas\",le=\"0.1\"} 2\n"
            "rampart_gateway_request_duration_seconds_bucket{rule=\"eas\",le=\"1\"} 2\n"
            "rampart_gateway_request_duration_seconds_bucket{rule=\"eas\",le=\"+Inf\"} 3\n"
            "rampart_gateway_request_duration_seconds_sum{rule=\"eas\"} 2.555\n"
            "rampart_gateway_request_duration_seconds_count{rule=\"eas\"} 3\n"
            "# HELP rampart_gateway_blocks_total Connections refused.\n"
            "# TYPE rampart_gateway_blocks_total counter\n"
            "rampart_gateway_blocks_total 0\n");
}

TEST(Metrics, HistogramWithoutLabels) {
  MetricsRegistry r;
  Histogram& h = r.histogram("rampart_gateway_handshake_seconds", "TLS handshakes.", {0.25, 0.5});
  h.observe(0.5);
  EXPECT_EQ(r.render(),
            "# HELP rampart_gateway_handshake_seconds TLS handshakes.\n"
            "# TYPE rampart_gateway_handshake_seconds histogram\n"
            "rampart_gateway_handshake_seconds_bucket{le=\"0.25\"} 0\n"
            "rampart_gateway_handshake_seconds_bucket{le=\"0.5\"} 1\n"
            "rampart_gateway_handshake_seconds_bucket{le=\"+Inf\"} 1\n"
            "rampart_gateway_handshake_seconds_sum 0.5\n"
            "rampart_gateway_handshake_seconds_count 1\n");
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(escapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escapeHelp("a\\b\"c\nd"), "a\\\\b\"c\\nd");
  MetricsRegistry r;
  r.counter("rampart_gateway_x_total", "x", {{"rule", "we\"ird\\\n"}, {"b", ""}}).inc();
  EXPECT_EQ(r.render(),
            "# HELP rampart_gateway_x_total x\n"
            "# TYPE rampart_gateway_x_total counter\n"
            "rampart_gateway_x_total{rule=\"we\\\"ird\\\\\\n\",b=\"\"} 1\n");
}

TEST(Metrics, ValueFormatting) {
  EXPECT_EQ(formatMetricValue(0), "0");
  EXPECT_EQ(formatMetricValue(1), "1");
  EXPECT_EQ(formatMetricValue(0.0025), "0.0025");
  EXPECT_EQ(formatMetricValue(1e21), "1e+21");
  EXPECT_EQ(formatMetricValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(formatMetricValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(formatMetricValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(Metrics, SameSeriesTwiceIsTheSameObject) {
  MetricsRegistry r;
  Counter& a = r.counter("rampart_gateway_a_total", "a", {{"k", "v"}});
  Counter& b = r.counter("rampart_gateway_a_total", "a", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
  Counter& c = r.counter("rampart_gateway_a_total", "a", {{"k", "w"}});
  EXPECT_NE(&a, &c);
}

TEST(Metrics, ProgrammingErrorsThrowAtRegistration) {
  MetricsRegistry r;
  r.counter("rampart_gateway_a_total", "a");
  EXPECT_THROW(r.gauge("rampart_gateway_a_total", "a"), std::invalid_argument);
  EXPECT_THROW(r.counter("rampart_gateway_a_total", "other help"), std::invalid_argument);
  EXPECT_THROW(r.counter("9starts_with_digit", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("has-dash", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("rampart_gateway_b_total", "x", {{"__reserved", "v"}}),
               std::invalid_argument);
  EXPECT_THROW(r.counter("rampart_gateway_b_total", "x", {{"a:b", "v"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("rampart_gateway_b_total", "x", {{"k", "1"}, {"k", "2"}}),
               std::invalid_argument);
  EXPECT_THROW(r.histogram("rampart_gateway_h", "h", {1, 0.5}), std::invalid_argument);
  EXPECT_THROW(r.histogram("rampart_gateway_h", "h", {}), std::invalid_argument);
  EXPECT_THROW(r.histogram("rampart_gateway_h", "h", {1, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("rampart_gateway_h", "h", {0.1}, {{"le", "x"}}), std::invalid_argument);
  r.histogram("rampart_gateway_h", "h", {0.1});
  EXPECT_THROW(r.histogram("rampart_gateway_h", "h", {0.2}), std::invalid_argument);
}

TEST(Metrics, ConcurrentUpdatesAreCounted) {
  MetricsRegistry r;
  Counter& c = r.counter("rampart_gateway_c_total", "c");
  Gauge& g = r.gauge("rampart_gateway_g", "g");
  Histogram& h = r.histogram("rampart_gateway_h_seconds", "h", defaultLatencyBounds());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        g.add();
        h.observe(0.003);
      }
    });
  }
  // Rendering while others update must not block them or tear.
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(r.render().empty());
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(g.value(), 40000);
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_EQ(h.bucketCount(2), 40000u);  // (0.0025, 0.005]
  EXPECT_NE(r.render().find("rampart_gateway_h_seconds_count 40000\n"), std::string::npos);
}

TEST(Metrics, ContentType) {
  EXPECT_EQ(kPrometheusContentType, "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace
}  // namespace rampart::gateway
