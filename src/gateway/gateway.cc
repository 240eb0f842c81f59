#include "gateway/gateway.h"

#include <atomic>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <openssl/ssl.h>

#include <boost/asio/write.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>

#include "core/ascii.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/identity_assertion.h"
#include "gateway/authenticator.h"
#include "gateway/eas_check.h"
#include "gateway/guard/ip_limits.h"
#include "gateway/guard/rate_limiter.h"
#include "gateway/rules.h"
#include "gateway/tls_frontend.h"
#include "gateway/upstream.h"
#include "http/request_parser.h"
#include "http/server.h"
#include "net/listener.h"
#include "tls/stream.h"

namespace rampart::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using net::Task;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

namespace {

// What a connection is doing, for the connections gauge and the admin view.
enum class ConnState : int { handshake, reading, authenticating, waiting, writing, idle, count };
constexpr std::array<std::string_view, 6> kStateNames{"handshake", "reading", "authenticating",
                                                     "waiting", "writing", "idle"};

// The configuration that a reload swaps as a whole. Connections take a
// reference per request, so a request in flight keeps the rules it started with.
struct Runtime {
  GatewayConfig config;
  RuleSet rules;
  std::vector<std::shared_ptr<tls::ssl::context>> backend_tls;  // per rule index
  std::optional<crypto::AssertionSigner> signer;
  std::shared_ptr<TlsFrontend> tls;
  EasCheckLimits eas_limits;
  std::uint64_t generation = 0;

  explicit Runtime(GatewayConfig c) : config(std::move(c)), rules(config.rules) {}
  std::size_t indexOf(const RuleConfig* rule) const {
    return static_cast<std::size_t>(rule - rules.rules().data());
  }
};

struct Worker {
  asio::io_context io{1};
  std::unique_ptr<net::tcp::acceptor> acceptor;
  std::thread thread;
  // Backend connections of this thread, per rule of the current runtime.
  std::uint64_t generation = 0;
  std::vector<std::shared_ptr<Upstream>> upstreams;
};

// Paths with dot-segments or escaped separators mean different things to
// different servers; published paths are matched on the raw target, so such
// targets are refused outright (the backend never has to guess).
bool isAmbiguousPath(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  if (path.find('\\') != std::string_view::npos) return true;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size()) {
      std::string_view esc = path.substr(i + 1, 2);
      if (equalsIgnoreCase(esc, "2e") || equalsIgnoreCase(esc, "2f") || equalsIgnoreCase(esc, "5c") || esc == "00") return true;
    }
  }
  for (std::size_t pos = 0; (pos = path.find("/.", pos)) != std::string_view::npos; ++pos) {
    std::string_view rest = path.substr(pos + 2);
    if (rest.empty() || rest.front() == '/' || (rest.front() == '.' && (rest.size() == 1 || rest[1] == '/'))) {
      return true;
    }
  }
  return false;
}

// Response headers the client must not see from the backend (hop-by-hop).
void cleanResponse(http::Response& res) {
  for (std::string_view name : {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
                                "Transfer-Encoding", "Upgrade"}) {
    res.erase(name);
  }
}

std::string clientAddress(const asio::ip::address& a) { return a.to_string(); }

// A client-chosen value in an access-log line: bounded, and without spaces or
// quotes that would let it forge the key=value fields that follow.
std::string logValue(std::string_view v) {
  if (v.empty()) return "-";
  std::string out;
  const std::size_t n = std::min<std::size_t>(v.size(), 128);
  out.reserve(n + 3);
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    out += (c <= 0x20 || c >= 0x7f || c == '"' || c == '=') ? '_' : static_cast<char>(c);
  }
  if (v.size() > n) out += "...";
  return out;
}

class StateTracker;

}  // namespace

struct Gateway::Impl : std::enable_shared_from_this<Gateway::Impl> {
  GatewayConfig boot_config;
  std::shared_ptr<spdlog::logger> log = log::get("gateway");
  std::shared_ptr<spdlog::logger> access = log::get("access");  // null: access_log = "" (off)
  Clock& clock = systemClock();
  MetricsRegistry metrics;
  std::unique_ptr<Authenticator> auth;
  std::unique_ptr<guard::IpLimits> ip_limits;
  std::unique_ptr<guard::RateLimiter> user_rate;
  std::unique_ptr<guard::RateLimiter> device_rate;
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<asio::io_context> admin_io;
  std::unique_ptr<http::Server> admin;
  std::thread admin_thread;
  net::tcp::endpoint endpoint;
  std::atomic<bool> draining{false};
  std::atomic<std::int64_t> in_flight{0};   // requests being handled (not parked)

  mutable std::mutex runtime_mutex;
  std::shared_ptr<const Runtime> runtime;

  // Metrics, registered once.
  std::array<Gauge*, static_cast<int>(ConnState::count)> conn_gauges{};
  Gauge* parked = nullptr;
  Counter* accepted = nullptr;
  Counter* tls_failures = nullptr;
  std::unordered_map<std::string, Counter*> blocked;  // by reason, fixed set
  Histogram* latency = nullptr;
  Histogram* upstream_latency = nullptr;
  std::mutex status_mutex;
  std::unordered_map<std::string, Counter*> responses;  // "rule code" -> counter

  // Recent blocks for the admin view (bounded ring).
  std::mutex blocks_mutex;
  std::deque<std::string> recent_blocks;

  std::shared_ptr<const Runtime> currentRuntime() const {
    std::lock_guard lock(runtime_mutex);
    return runtime;
  }

  void block(std::string_view reason, const asio::ip::address& ip) {
    auto it = blocked.find(std::string(reason));
    if (it != blocked.end()) it->second->inc();
    std::lock_guard lock(blocks_mutex);
    if (recent_blocks.size() >= 100) recent_blocks.pop_front();
    recent_blocks.push_back(fmt::format("{} {} {}", std::chrono::duration_cast<std::chrono::seconds>(
                                                        clock.now().time_since_epoch()).count(),
                                        clientAddress(ip), reason));
  }

  Counter& responseCounter(const std::string& rule, int status) {
    // Per-thread memo of (rule name, status) -> counter: the registry's lock
    // and the key string only for the first response of a kind.
    // Keyed by this gateway's instance number too: a process may run several.
    thread_local std::unordered_map<std::string, Counter*> memo;
    std::string key = std::to_string(instance);
    key += ' ';
    key += rule;
    key += ' ';
    key += std::to_string(status);
    if (auto hit = memo.find(key); hit != memo.end()) return *hit->second;
    Counter& c = sharedResponseCounter(key, rule, status);
    if (memo.size() < 10'000) memo.emplace(std::move(key), &c);
    return c;
  }

  const std::uint64_t instance = [] {
    static std::atomic<std::uint64_t> next{0};
    return ++next;
  }();

  Counter& sharedResponseCounter(const std::string& key, const std::string& rule, int status) {
    std::lock_guard lock(status_mutex);
    auto it = responses.find(key);
    if (it != responses.end()) return *it->second;
    Counter& c = metrics.counter("rampart_gateway_responses_total", "Responses sent, by rule and status.",
                                 {{"rule", rule}, {"status", std::to_string(status)}});
    if (responses.size() < 10'000) responses.emplace(key, &c);
    return c;
  }

  // One client connection's state, shared by the phases of its requests.
  struct Conn {
    Worker* worker = nullptr;
    asio::ip::address ip;
    tls::Stream* stream = nullptr;
    const ListenerConfig* lc = nullptr;
    SteadyClock::time_point first_deadline;
    std::string sni;
    ConnectionAuth auth;
    std::string pending;          // bytes read but not yet parsed (pipelining)
    std::unique_ptr<char[]> chunk;  // the read buffer, only while reading
    StateTracker* state = nullptr;
    bool* authenticated = nullptr;
  };
  // A request that passed every check, ready for its backend.
  struct Forward {
    std::shared_ptr<const Runtime> rt;
    const RuleConfig* rule = nullptr;
    ForwardRequest req;
    bool long_poll = false;
    bool keep_alive = true;
    SteadyClock::time_point started;
    std::uint64_t bytes_in = 0;
    std::string host, method, path, log_cmd, log_user, auth_method;
  };
  struct Prepared {
    bool close = false;                // refused (already answered) and the connection ends
    std::optional<Forward> forward;    // set: forward it
  };
  static constexpr std::size_t kChunk = 16 * 1024;

  Task<void> acceptLoop(Worker* worker);
  Task<void> serve(Worker* worker, net::tcp::socket socket);
  // Reads one request and decides: refused (answered here) or to forward.
  Task<Prepared> prepare(Conn& c, bool first);
  // Sends it to the backend and writes the answer; false ends the connection.
  Task<bool> forward(Conn& c, Forward& f);
  std::shared_ptr<Upstream> upstreamFor(Worker& worker, const Runtime& rt, const RuleConfig& rule);
};

namespace {

// Moves a connection between states for the gauge.
class StateTracker {
 public:
  explicit StateTracker(Gateway::Impl& impl) : impl_(impl) { set(ConnState::handshake); }
  ~StateTracker() { impl_.conn_gauges[static_cast<int>(state_)]->sub(); }
  void set(ConnState s) {
    if (started_) impl_.conn_gauges[static_cast<int>(state_)]->sub();
    started_ = true;
    state_ = s;
    impl_.conn_gauges[static_cast<int>(state_)]->add();
  }

 private:
  Gateway::Impl& impl_;
  ConnState state_ = ConnState::handshake;
  bool started_ = false;
};

// Writes `res` with write_progress on every chunk; false when the client
// stopped reading (cut off) or went away.
Task<bool> writeResponse(tls::Stream& stream, http::Response& res, milliseconds progress) {
  bhttp::serializer<false, bhttp::string_body> sr(res);
  boost::system::error_code ec;
  while (!sr.is_done()) {
    stream.expiresAfter(progress);
    co_await bhttp::async_write_some(stream, sr, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return false;
  }
  stream.expiresNever();
  co_return true;
}

http::Response plainResponse(int status, std::string body, bool keep_alive) {
  http::Response res{static_cast<http::Status>(status), 11};
  res.set(http::Field::content_type, "text/plain; charset=utf-8");
  res.set(http::Field::cache_control, "no-store");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// RFC 7030 4.1.1: the CA certificates are for anyone, under any label:
// <rule path>/cacerts and <rule path>/<label>/cacerts (one path segment).
// EST clients (Bouncy Castle's among them) never send credentials for it.
bool isEstCacerts(std::string_view path, std::string_view rule_path) {
  if (path.size() <= rule_path.size() || path.substr(0, rule_path.size()) != rule_path) return false;
  std::string_view rest = path.substr(rule_path.size());
  if (rest.front() != '/') return false;
  rest.remove_prefix(1);
  if (rest == "cacerts") return true;
  std::size_t slash = rest.find('/');
  if (slash == 0 || slash == std::string_view::npos || rest.substr(slash + 1) != "cacerts") return false;
  for (char ch : rest.substr(0, slash)) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) return false;
  }
  return true;
}

std::string reasonBody(int status) {
  return std::string(bhttp::obsolete_reason(static_cast<http::Status>(status))) + "\n";
}

}  // namespace

std::shared_ptr<Upstream> Gateway::Impl::upstreamFor(Worker& worker, const Runtime& rt,
                                                     const RuleConfig& rule) {
  if (worker.generation != rt.generation) {
    for (auto& u : worker.upstreams) {
      if (u) u->closeIdle();
    }
    worker.upstreams.assign(rt.rules.rules().size(), nullptr);
    worker.generation = rt.generation;
  }
  std::size_t index = rt.indexOf(&rule);
  auto& slot = worker.upstreams[index];
  if (!slot) slot = makeUpstream(worker.io.get_executor(), rule, rt.backend_tls[index]);
  return slot;
}

Task<void> Gateway::Impl::acceptLoop(Worker* worker) {
  auto self = shared_from_this();
  for (;;) {
    boost::system::error_code ec;
    net::tcp::socket socket(worker->io);
    co_await worker->acceptor->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !worker->acceptor->is_open()) co_return;
    if (ec) {
      // EMFILE and friends: back off briefly instead of spinning.
      asio::steady_timer timer(worker->io, milliseconds(50));
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    accepted->inc();
    // Global cap with back-pressure: while over it, stop accepting (the
    // kernel's backlog holds the rest) instead of accepting and dropping.
    while (ip_limits->acceptPaused() && worker->acceptor->is_open()) {
      asio::steady_timer timer(worker->io, milliseconds(10));
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    asio::co_spawn(worker->io, serve(worker, std::move(socket)), asio::detached);
  }
}

Task<void> Gateway::Impl::serve(Worker* worker, net::tcp::socket socket) {
  auto self = shared_from_this();
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) co_return;
  const asio::ip::address ip = remote.address();
  const auto accepted_at = SteadyClock::now();
  guard::Admission admission = ip_limits->admit(ip, accepted_at);
  if (admission != guard::Admission::ok) {
    block(guard::admissionName(admission), ip);
    // No TLS for a refused connection: an RST costs the least.
    socket.set_option(asio::socket_base::linger(true, 0), ec);
    socket.close(ec);
    co_return;
  }
  bool authenticated = false;
  struct Release {
    Gateway::Impl& impl;
    asio::ip::address ip;
    bool& authenticated;
    ~Release() {
      impl.ip_limits->release(ip, authenticated, SteadyClock::now());
    }
  } release{*this, ip, authenticated};
  StateTracker state(*this);
  socket.set_option(net::tcp::no_delay(true), ec);

  // The connection keeps the listener settings it started with (a reload
  // changes them for new connections); each request takes the rules current
  // when it starts.
  const std::shared_ptr<const Runtime> conn_rt = currentRuntime();
  const ListenerConfig& lc = conn_rt->config.listener;
  const auto first_deadline = accepted_at + lc.first_request_timeout;

  std::optional<tls::Stream> stream_slot;
  {
    // The context (and the SNI set behind it) must outlive the handshake.
    std::shared_ptr<tls::ssl::context> ctx = conn_rt->tls->current();
    stream_slot.emplace(std::move(socket), *ctx);
    tls::Stream& s = *stream_slot;
    s.expiresAt(std::min(accepted_at + lc.handshake_timeout, first_deadline));
    co_await s.async_handshake(tls::Stream::Role::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      tls_failures->inc();
      co_return;
    }
  }
  tls::Stream& stream = *stream_slot;
  Conn c;
  c.worker = worker;
  c.ip = ip;
  c.stream = &stream;
  c.lc = &lc;
  c.first_deadline = first_deadline;
  c.state = &state;
  c.authenticated = &authenticated;
  if (const char* name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name)) c.sni = name;

  for (bool first = true;; first = false) {
    // Between requests: the idle wait costs no buffer.
    if (!first && c.pending.empty()) {
      state.set(ConnState::idle);
      if (draining.load()) break;
      stream.expiresAfter(lc.keepalive_idle);
      char byte[1];
      std::size_t n = co_await stream.async_read_some(asio::buffer(byte, 1),
                                                      asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      c.pending.append(byte, n);
    }
    // Reading, checking and authenticating run in a coroutine of their own,
    // so that the parser and everything else they use is gone while the
    // request waits on the backend (a parked Ping holds only `fwd`'s frame).
    Prepared prepared = co_await prepare(c, first);
    if (!prepared.forward) {
      if (prepared.close) break;
      continue;
    }
    const bool keep = co_await forward(c, *prepared.forward);
    if (!keep) break;
  }
  stream.expiresAfter(std::chrono::seconds(2));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

Task<Gateway::Impl::Prepared> Gateway::Impl::prepare(Conn& c, bool first) {
  tls::Stream& stream = *c.stream;
  const ListenerConfig& lc = *c.lc;
  const asio::ip::address& ip = c.ip;
  boost::system::error_code ec;
  std::shared_ptr<const Runtime> rt = currentRuntime();
  c.state->set(ConnState::reading);
  http::ParserLimits limits;
  limits.max_header_bytes = static_cast<std::size_t>(lc.header_limit.bytes);
  limits.max_header_line = std::min<std::size_t>(limits.max_header_bytes, 16 * 1024);
  limits.max_request_line = std::min<std::size_t>(limits.max_header_bytes, 16 * 1024);
  limits.max_headers = static_cast<std::size_t>(lc.max_headers);
  http::RequestParser parser(limits);
  // The whole head within one deadline: trickled bytes do not extend it.
  const auto head_deadline = first ? c.first_deadline : SteadyClock::now() + lc.header_timeout;
  const auto started = SteadyClock::now();
  int refuse = 0;
  http::ParseStatus status = http::ParseStatus::need_more;
  auto feedPending = [&]() {
    auto r = parser.feed(c.pending);
    if (!r) {
      refuse = parser.errorStatus() ? parser.errorStatus() : 400;
      return;
    }
    c.pending.erase(0, r->first);
    status = r->second;
  };
  feedPending();
  while (!refuse && status == http::ParseStatus::need_more) {
    if (!c.chunk) c.chunk.reset(new char[kChunk]);  // not zero-filled: read into
    stream.expiresAt(head_deadline);
    std::size_t n = co_await stream.async_read_some(asio::buffer(c.chunk.get(), kChunk),
                                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == beast::error::timeout) block("header_timeout", ip);
      co_return Prepared{true, std::nullopt};
    }
    c.pending.append(c.chunk.get(), n);
    feedPending();
  }
  std::string log_rule = "-", log_user = "-", log_cmd = "-";
  const http::ParsedRequest& req = parser.request();
  std::string method = req.method;
  std::string path = req.target.substr(0, req.target.find('?'));
  bool keep_alive = !refuse && req.keep_alive && !draining.load();
  const RuleConfig* rule = nullptr;
  std::string device_id;
  std::uint64_t body_limit = 0;
  bool long_poll = false;
  std::string host;
  // Everything up to the backend call decides either a refusal status or
  // to forward; refusals are answered below.
  std::string refusal_body;
  std::vector<std::pair<std::string, std::string>> extra;  // headers on a refusal
  if (!refuse) {
    auto h = req.header("host");
    host = h ? std::string(*h) : c.sni;
    if (host.empty()) refuse = 400;
    else if (!c.sni.empty() && !equalsIgnoreCase(hostWithoutPort(host), c.sni)) refuse = 421;  // RFC 9110 15.5.20
  }
  if (!refuse && isAmbiguousPath(req.target)) refuse = 400;
  if (!refuse) {
    rule = rt->rules.match(host, req.target);
    if (!rule) refuse = 404;
  }
  if (!refuse) {
    log_rule = rule->name;
    bool allowed = false;
    for (const auto& m : rule->methods) allowed |= m == req.method;
    if (!allowed) {
      refuse = 405;
      std::string allow;
      for (const auto& m : rule->methods) allow += (allow.empty() ? "" : ", ") + m;
      extra.emplace_back("Allow", allow);
    }
  }
  body_limit = rule ? rule->body_limit.bytes : 0;
  if (!refuse && rule->service == Service::eas) {
    auto check = checkEasRequest(req.method, req.target, req.header("content-type"), req.content_length,
                                 rt->eas_limits, req.header("ms-asprotocolversion"));
    if (!check) {
      refuse = httpStatus(check.error());
      refusal_body = check.error().detail + "\n";
    } else {
      device_id = check->device_id;
      log_cmd = check->command;
      body_limit = std::min(body_limit, check->body_limit);
      long_poll = check->command == "Ping" || check->command == "Sync";
    }
  } else if (rule && rule->service != Service::eas) {
    long_poll = true;  // any request of a long-poll rule may wait long_poll_timeout
  }
  long_poll = long_poll && rule && rule->long_poll_timeout.count() > 0;
  if (!refuse && req.content_length && *req.content_length > body_limit) refuse = 413;

  AuthVerdict verdict;
  // Set for answers whose body must stay empty (401: Bouncy Castle's EST
  // client drops the connection on a 401 and fails on any unread body).
  bool empty_body = false;
  const bool open_cacerts = !refuse && rule->service == Service::est && method == "GET" &&
                            isEstCacerts(path, rule->path);
  if (!refuse && !open_cacerts) {
    c.state->set(ConnState::authenticating);
    AuthRequest areq;
    areq.rule = rule;
    areq.authorization = req.header("authorization");
    areq.device_id = device_id;
    areq.client = ip;
    areq.ssl = stream.native_handle();
    areq.connection = &c.auth;
    verdict = co_await auth->authenticate(areq);
    switch (verdict.kind) {
      case AuthVerdict::Kind::ok:
        if (rule->auth != AuthMethod::none && !*c.authenticated) {
          *c.authenticated = true;
          ip_limits->markAuthenticated(ip);
        }
        log_user = verdict.identity.user.empty() ? "-" : verdict.identity.user;
        break;
      case AuthVerdict::Kind::challenge:
        refuse = 401;
        empty_body = true;
        // RFC 7617 2: Basic with a realm; never a redirect (REFERENCES.md).
        extra.emplace_back("WWW-Authenticate", "Basic realm=\"" + rule->realm + "\", charset=\"UTF-8\"");
        block("auth_failed", ip);
        break;
      case AuthVerdict::Kind::forbidden:
        refuse = 403;
        block("certificate", ip);
        break;
      case AuthVerdict::Kind::locked:
        refuse = 429;
        extra.emplace_back("Retry-After",
                           std::to_string(std::max<long>(1, static_cast<long>(verdict.retry_after.count() / 1000))));
        block("locked_out", ip);
        break;
      case AuthVerdict::Kind::unavailable:
        refuse = 503;
        log->warn("authentication unavailable: {}", verdict.reason);
        break;
    }
  }
  if (!refuse && rule->auth != AuthMethod::none && !open_cacerts) {
    auto now = SteadyClock::now();
    bool ok = user_rate->allow(verdict.identity.user, now);
    if (ok && !device_id.empty()) ok = device_rate->allow(guard::deviceKey(verdict.identity.user, device_id), now);
    if (!ok) {
      // Exchange throttles EAS devices with 503 + Retry-After; others get 429.
      refuse = rule->service == Service::eas ? 503 : 429;
      extra.emplace_back("Retry-After", "30");
      block("rate", ip);
    }
  }
  // The body: only now, after authentication, may it be read.
  if (!refuse && status == http::ParseStatus::headers_done) {
    parser.setBodyLimit(body_limit);
    if (req.expect_continue) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream.expiresAfter(lc.write_progress);
      co_await asio::async_write(stream, asio::buffer(kContinue), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Prepared{true, std::nullopt};
    }
    const auto body_start = SteadyClock::now();
    feedPending();
    while (!refuse && status != http::ParseStatus::done) {
      if (!c.chunk) c.chunk.reset(new char[kChunk]);  // not zero-filled: read into
      // Each read must progress in body_progress, and the body as a whole
      // must keep min_body_rate after a 10 s grace (slow-body attacks).
      std::uint64_t received = parser.request().body.size();
      auto rate_deadline = body_start + std::chrono::seconds(10) +
                           std::chrono::seconds(received / std::max<std::uint64_t>(1, lc.min_body_rate));
      stream.expiresAt(std::min(SteadyClock::now() + lc.body_progress, rate_deadline));
      std::size_t n = co_await stream.async_read_some(asio::buffer(c.chunk.get(), kChunk),
                                                      asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == beast::error::timeout) block("body_timeout", ip);
        co_return Prepared{true, std::nullopt};
      }
      c.pending.append(c.chunk.get(), n);
      feedPending();
    }
  }
  if (refuse) {
    // An unread body cannot be skipped safely: close after answering.
    if (status != http::ParseStatus::done) keep_alive = false;
    c.state->set(ConnState::writing);
    http::Response res = plainResponse(
        refuse, empty_body ? std::string() : refusal_body.empty() ? reasonBody(refuse) : refusal_body, keep_alive);
    for (auto& [name, value] : extra) res.set(name, value);
    res.set(http::Field::server, "rampart");
    bool wrote = co_await writeResponse(stream, res, lc.write_progress);
    if (access) access->info("client={} host={} method={} path={} cmd={} rule={} user={} status={} in={} out={} ms={} "
                 "auth={}",
                 clientAddress(ip), logValue(host), logValue(method), logValue(path), log_cmd, log_rule,
                 logValue(log_user), refuse, 0, res.body().size(),
                 std::chrono::duration_cast<milliseconds>(SteadyClock::now() - started).count(),
                 logValue(verdict.reason));
    responseCounter(log_rule, refuse).inc();
    co_return Prepared{!wrote || !keep_alive, std::nullopt};
  }

  // Forward: re-built, never the client's bytes.
  Prepared out;
  out.forward.emplace();
  Forward& f = *out.forward;
  f.rt = rt;
  f.rule = rule;
  f.long_poll = long_poll;
  f.keep_alive = keep_alive;
  f.started = started;
  f.host = std::move(host);
  f.method = std::move(method);
  f.path = std::move(path);
  f.log_cmd = std::move(log_cmd);
  f.log_user = std::move(log_user);
  f.auth_method = verdict.identity.method;
  ForwardRequest& fwd = f.req;
  fwd.method = req.method;
  fwd.target = req.target;
  fwd.headers.reserve(req.headers.size() + 3);
  for (const auto& field : req.headers) {
    if (!dropOnForward(field.name, req.connection_options)) fwd.headers.emplace_back(field.name, field.value);
  }
  fwd.headers.emplace_back("X-Forwarded-For", clientAddress(ip));
  fwd.headers.emplace_back("X-Forwarded-Proto", "https");
  http::ParsedRequest owned = parser.release();
  fwd.body = std::move(owned.body);
  if (rule->delegate && rt->signer && !verdict.identity.user.empty()) {
    crypto::RequestBinding binding{fwd.method, f.host, fwd.target, crypto::RequestBinding::sha256Hex(fwd.body)};
    auto now_ms = std::chrono::duration_cast<milliseconds>(clock.now().time_since_epoch()).count();
    fwd.headers.emplace_back("Rampart-Identity", rt->signer->sign(verdict.identity, binding, now_ms));
  }
  if (rule->delegate && verdict.client_certificate) {
    // The backend (the CA's EST re-enrollment) needs the certificate itself,
    // not only the user it maps to. The client's own Rampart-* headers were
    // dropped above, so this one can only come from here.
    auto value = clientCertHeaderValue(SSL_get0_peer_certificate(stream.native_handle()));
    if (value) fwd.headers.emplace_back(std::string(kClientCertHeader), std::move(*value));
    else log->warn("rule {}: client certificate not forwarded: {}", rule->name, value.error().detail);
  }
  f.bytes_in = fwd.body.size();
  // A long poll parks: it holds no read buffer. A busy connection keeps it.
  if (long_poll && c.pending.empty()) {
    c.chunk.reset();
    c.pending.shrink_to_fit();
  }
  co_return out;
}

Task<bool> Gateway::Impl::forward(Conn& c, Forward& f) {
  const RuleConfig& rule = *f.rule;
  in_flight.fetch_add(1);
  UpstreamCall call;
  call.head = f.req.method == "HEAD";
  call.timeout = f.long_poll ? rule.long_poll_timeout : rule.response_timeout;
  c.state->set(ConnState::waiting);
  if (f.long_poll) parked->add();
  std::shared_ptr<Upstream> upstream = upstreamFor(*c.worker, *f.rt, rule);
  const auto upstream_start = SteadyClock::now();
  Result<http::Response> answer = co_await upstream->send(f.req, call);
  if (f.long_poll) parked->sub();
  upstream_latency->observe(std::chrono::duration<double>(SteadyClock::now() - upstream_start).count());
  f.req = {};
  http::Response res;
  if (answer) {
    res = std::move(*answer);
    cleanResponse(res);
    res.keep_alive(f.keep_alive);
    if (!call.head) res.prepare_payload();
  } else {
    int code = answer.error().is(Errc::timeout) ? 504 : 502;
    log->warn("rule {}: backend {}: {}", rule.name, rule.backend, answer.error().message());
    res = plainResponse(code, reasonBody(code), f.keep_alive);
  }
  res.set(http::Field::server, "rampart");
  c.state->set(ConnState::writing);
  const int code = res.result_int();
  const std::size_t bytes_out = res.body().size();
  bool wrote = co_await writeResponse(*c.stream, res, c.lc->write_progress);
  in_flight.fetch_sub(1);
  if (!wrote) block("write_timeout", c.ip);
  auto elapsed = SteadyClock::now() - f.started;
  latency->observe(std::chrono::duration<double>(elapsed).count());
  responseCounter(rule.name, code).inc();
  if (access) {
    access->info("client={} host={} method={} path={} cmd={} rule={} user={} status={} in={} out={} ms={} auth={}",
                 clientAddress(c.ip), logValue(f.host), logValue(f.method), logValue(f.path), f.log_cmd, rule.name,
                 logValue(f.log_user), code, f.bytes_in, bytes_out,
                 std::chrono::duration_cast<milliseconds>(elapsed).count(),
                 f.auth_method.empty() ? "-" : f.auth_method);
  }
  co_return wrote && f.keep_alive;
}

Gateway::Gateway(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Gateway::~Gateway() { stop(); }

namespace {

Result<std::shared_ptr<const Runtime>> makeRuntime(GatewayConfig config, std::uint64_t generation) {
  auto rt = std::make_shared<Runtime>(std::move(config));
  rt->generation = generation;
  tls::Profile profile = rt->config.listener.profile == "fips" ? tls::Profile::fips : tls::Profile::modern;
  for (const RuleConfig& rule : rt->rules.rules()) {
    auto ctx = makeBackendContext(rule, profile);
    if (!ctx) return fail(Errc::config_error, "rule " + rule.name + ": " + ctx.error().detail);
    rt->backend_tls.push_back(std::move(*ctx));
  }
  auto tls = TlsFrontend::create(rt->config.certificates, profile, rt->config.auth.client_cert.ca_file);
  if (!tls) return fail(tls.error());
  rt->tls = std::move(*tls);
  if (!rt->config.delegation.key_file.empty()) {
    auto key = crypto::loadAssertionKey(rt->config.delegation.key_file);
    if (!key) return fail(Errc::config_error, "delegation key: " + key.error().detail);
    rt->signer.emplace(std::move(*key), rt->config.delegation.ttl);
  }
  return std::shared_ptr<const Runtime>(std::move(rt));
}

std::unique_ptr<net::tcp::acceptor> bindAcceptor(asio::io_context& io, const net::tcp::endpoint& endpoint,
                                                 std::string& error) {
  auto acceptor = std::make_unique<net::tcp::acceptor>(io);
  boost::system::error_code ec;
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) {
    int one = 1;
    if (::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      ec = boost::system::error_code(errno, boost::system::system_category());
    }
  }
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(4096, ec);
  if (ec) {
    error = ec.message();
    return nullptr;
  }
  return acceptor;
}

}  // namespace

Result<std::unique_ptr<Gateway>> Gateway::create(GatewayConfig config) {
  auto impl = std::make_shared<Impl>();
  auto rt = makeRuntime(config, 1);
  if (!rt) return fail(rt.error());
  impl->runtime = std::move(*rt);
  impl->boot_config = config;
  if (config.access_log.empty()) {
    impl->access = nullptr;
  } else if (config.access_log != "-") {
    // Its own file, one line per request, flushed at once so a crash loses none.
    try {
      auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.access_log);
      impl->access = std::make_shared<spdlog::logger>("access", sink);
      impl->access->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %v");
      impl->access->flush_on(spdlog::level::info);
    } catch (const std::exception& e) {
      return fail(Errc::config_error, "access_log " + config.access_log + ": " + e.what());
    }
  }
  auto auth = Authenticator::create(config, impl->metrics);
  if (!auth) return fail(auth.error());
  impl->auth = std::move(*auth);

  const LimitsConfig& l = config.limits;
  guard::IpLimitsConfig ic;
  ic.per_client.max_concurrent = static_cast<std::uint32_t>(l.per_ip_connections);
  ic.per_client.max_new_per_period = static_cast<std::uint32_t>(l.per_ip_connects_per_minute);
  ic.per_client.max_unauthenticated = static_cast<std::uint32_t>(l.per_ip_connections);
  ic.max_unauthenticated = static_cast<std::uint32_t>(l.unauthenticated_connections);
  ic.max_connections = static_cast<std::uint32_t>(l.max_connections);
  for (const std::string& text : l.exceptions) {
    auto cidr = guard::Cidr::parse(text);
    if (!cidr) return fail(Errc::config_error, "limits.exceptions: '" + text + "': " + cidr.error().detail);
    ic.exceptions.push_back({*cidr, std::nullopt});
  }
  impl->ip_limits = std::make_unique<guard::IpLimits>(ic);
  guard::RateLimitConfig uc;
  uc.limit = static_cast<std::uint32_t>(l.per_user_requests_per_minute);
  uc.burst = std::max<std::uint32_t>(1, uc.limit / 4);
  impl->user_rate = std::make_unique<guard::RateLimiter>(uc);
  guard::RateLimitConfig dc;
  dc.limit = static_cast<std::uint32_t>(l.per_device_requests_per_minute);
  dc.burst = std::max<std::uint32_t>(1, dc.limit / 4);
  impl->device_rate = std::make_unique<guard::RateLimiter>(dc);

  MetricsRegistry& m = impl->metrics;
  for (int s = 0; s < static_cast<int>(ConnState::count); ++s) {
    impl->conn_gauges[s] = &m.gauge("rampart_gateway_connections", "Client connections by state.",
                                    {{"state", std::string(kStateNames[s])}});
  }
  impl->parked = &m.gauge("rampart_gateway_parked_requests", "Long-poll requests (EAS Ping, Sync Wait) waiting on a backend.");
  impl->accepted = &m.counter("rampart_gateway_accepted_total", "TCP connections accepted.");
  impl->tls_failures = &m.counter("rampart_gateway_tls_handshake_failures_total", "TLS handshakes that failed or timed out.");
  for (std::string_view reason : {"too_many_concurrent", "too_fast", "too_many_unauthenticated", "global_cap",
                                  "header_timeout", "body_timeout", "write_timeout", "auth_failed", "certificate",
                                  "locked_out", "rate"}) {
    impl->blocked.emplace(std::string(reason),
                          &m.counter("rampart_gateway_blocked_total", "Connections or requests refused by a guard.",
                                     {{"reason", std::string(reason)}}));
  }
  impl->latency = &m.histogram("rampart_gateway_request_seconds", "Time from first request byte to response written.",
                               defaultLatencyBounds());
  impl->upstream_latency = &m.histogram("rampart_gateway_upstream_seconds", "Time waiting for the backend's answer.",
                                        defaultLatencyBounds());

  auto endpoint = net::parseEndpoint(config.listener.listen);
  if (!endpoint) return fail(endpoint.error());
  for (int i = 0; i < config.listener.threads; ++i) {
    auto worker = std::make_unique<Worker>();
    std::string error;
    worker->acceptor = bindAcceptor(worker->io, *endpoint, error);
    if (!worker->acceptor) return fail(Errc::io_error, "listen " + config.listener.listen + ": " + error);
    // Port 0: every further acceptor joins the port the first one got.
    if (i == 0) *endpoint = worker->acceptor->local_endpoint();
    impl->workers.push_back(std::move(worker));
  }
  impl->endpoint = *endpoint;

  if (!config.admin.listen.empty()) {
    auto admin_endpoint = net::parseEndpoint(config.admin.listen);
    if (!admin_endpoint) return fail(admin_endpoint.error());
    impl->admin_io = std::make_unique<asio::io_context>(1);
    std::weak_ptr<Impl> weak = impl;
    auto router = std::make_shared<http::Router>();
    router->add("/healthz", [weak](http::Request& req) -> Task<http::Response> {
      auto self = weak.lock();
      bool ok = self && !self->draining.load();
      co_return http::textResponse(req, ok ? http::Status::ok : http::Status::service_unavailable,
                                   ok ? "ok\n" : "draining\n");
    });
    router->add("/metrics", [weak](http::Request& req) -> Task<http::Response> {
      auto self = weak.lock();
      co_return http::textResponse(req, http::Status::ok, self ? self->metrics.render() : "",
                                   kPrometheusContentType);
    });
    router->add("/connections", [weak](http::Request& req) -> Task<http::Response> {
      auto self = weak.lock();
      std::string out;
      if (self) {
        auto totals = self->ip_limits->totals();
        out += fmt::format("connections {}\nunauthenticated {}\ntracked_clients {}\nparked {}\nin_flight {}\n",
                           totals.connections, totals.unauthenticated, totals.tracked_clients,
                           self->parked->value(), self->in_flight.load());
        for (int s = 0; s < static_cast<int>(ConnState::count); ++s) {
          out += fmt::format("state {} {}\n", kStateNames[s], self->conn_gauges[s]->value());
        }
        std::lock_guard lock(self->blocks_mutex);
        for (const auto& b : self->recent_blocks) out += "block " + b + "\n";
      }
      co_return http::textResponse(req, http::Status::ok, out);
    });
    http::ServerOptions so;
    so.max_connections = 64;
    auto admin = http::Server::bind(impl->admin_io->get_executor(), *admin_endpoint, so,
                                    [router](http::Request& req) { return (*router)(req); });
    if (!admin) return fail(admin.error());
    impl->admin = std::move(*admin);
  }
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

void Gateway::start() {
  for (auto& w : impl_->workers) {
    Worker* worker = w.get();
    asio::co_spawn(worker->io, impl_->acceptLoop(worker), asio::detached);
    worker->thread = std::thread([worker] { worker->io.run(); });
  }
  if (impl_->admin) {
    impl_->admin->start();
    impl_->admin_thread = std::thread([io = impl_->admin_io.get()] { io->run(); });
  }
  impl_->log->info("listening on {} ({} thread(s), {} rule(s))", impl_->endpoint.address().to_string() + ":" +
                                                                     std::to_string(impl_->endpoint.port()),
                   impl_->workers.size(), impl_->currentRuntime()->rules.rules().size());
}

void Gateway::stop() {
  if (!impl_ || impl_->draining.exchange(true)) return;
  // Stop accepting; connections between requests close at once, requests in
  // flight get drain_timeout to finish, then everything is cut.
  for (auto& w : impl_->workers) {
    asio::post(w->io, [worker = w.get()] {
      boost::system::error_code ec;
      worker->acceptor->close(ec);
    });
  }
  const auto deadline = SteadyClock::now() + impl_->currentRuntime()->config.listener.drain_timeout;
  while (impl_->in_flight.load() - impl_->parked->value() > 0 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  for (auto& w : impl_->workers) {
    w->io.stop();
  }
  for (auto& w : impl_->workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  // Destroying the io_contexts destroys the suspended connection coroutines,
  // which closes their sockets, and the idle backend connections: a backend
  // draining after us is not kept waiting by our keep-alive links.
  impl_->workers.clear();
  if (impl_->admin) {
    impl_->admin->stop();
    impl_->admin_io->stop();
    if (impl_->admin_thread.joinable()) impl_->admin_thread.join();
  }
  impl_->log->info("stopped");
}

Status Gateway::reload(GatewayConfig config) {
  if (config.listener.listen != impl_->boot_config.listener.listen ||
      config.listener.threads != impl_->boot_config.listener.threads) {
    impl_->log->warn("reload: listener changes need a restart; kept {}", impl_->boot_config.listener.listen);
  }
  auto rt = makeRuntime(config, impl_->currentRuntime()->generation + 1);
  if (!rt) return fail(rt.error());
  if (auto st = impl_->auth->reload(); !st) return fail(st.error());
  {
    std::lock_guard lock(impl_->runtime_mutex);
    impl_->runtime = std::move(*rt);
  }
  impl_->log->info("reloaded: {} rule(s), {} certificate(s)", config.rules.size(), config.certificates.size());
  return {};
}

net::tcp::endpoint Gateway::localEndpoint() const { return impl_->endpoint; }

net::tcp::endpoint Gateway::adminEndpoint() const {
  return impl_->admin ? impl_->admin->localEndpoint() : net::tcp::endpoint{};
}

MetricsRegistry& Gateway::metrics() { return impl_->metrics; }

}  // namespace rampart::gateway
