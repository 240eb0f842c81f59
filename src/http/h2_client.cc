#include "http/h2_client.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <utility>

#include "core/log.h"
#include "http/detail/h2_transport.h"
#include "tls/stream.h"

namespace rampart::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using net::Task;
namespace {

Error error(Errc code, std::string detail) { return Error{make_error_code(code), std::move(detail)}; }

// Fields that never travel in HTTP/2 (RFC 9113 8.2.2); host becomes
// :authority (8.3.1); content-length is set from the body.
bool dropped(std::string_view lower) {
  return lower == "connection" || lower == "keep-alive" || lower == "proxy-connection" ||
         lower == "transfer-encoding" || lower == "upgrade" || lower == "host" || lower == "te" ||
         lower == "content-length";
}

std::string lower(beast::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return out;
}

}  // namespace

void CancelSignal::cancel() {
  if (cancelled_) return;
  cancelled_ = true;
  if (on_cancel_) on_cancel_();
}

class H2Connection::Impl final : public detail::H2Transport {
 public:
  Impl(asio::any_io_executor executor, net::tcp::endpoint endpoint, H2ClientOptions options)
      : H2Transport(executor, detail::H2Timing{options.idle_timeout, options.ping_interval,
                                               options.write_progress, options.idle_timeout}),
        endpoint_(endpoint),
        opt_(std::move(options)),
        ready_(executor, Clock::time_point::max()) {}

  enum class State { connecting, open, failed };

  Task<void> connect(std::shared_ptr<Impl> self);
  Task<Result<Response>> request(Request& req, std::chrono::milliseconds timeout,
                                 std::shared_ptr<CancelSignal> cancel);

  // nghttp2_session_check_request_allowed: no GOAWAY and stream IDs left (5.1.1).
  bool usable() const {
    return state_ != State::failed && !closed() && !draining() && !goaway_ &&
           (state_ == State::connecting || nghttp2_session_check_request_allowed(session_));
  }
  std::size_t inFlight() const { return in_flight_; }
  std::size_t streamLimit() const {
    if (state_ != State::open) return SIZE_MAX;  // not known yet: nghttp2 queues the excess
    return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  }

 private:
  // One request waiting for its response; lives in request()'s frame.
  struct Pending {
    explicit Pending(asio::any_io_executor ex) : timer(ex) {}
    std::int32_t id = 0;
    Request* req = nullptr;
    std::size_t sent = 0;
    Response res;
    std::size_t header_bytes = 0;
    bool interim = false;  // in a 1xx HEADERS block (8.1): ignored
    std::optional<Error> err;
    bool done = false;
    bool cancelled = false;
    asio::steady_timer timer;  // the deadline; cancelled to wake request()
  };

  std::size_t openStreams() const override { return pending_.size(); }
  void onClose() override;
  bool initSession();
  void failConnect(std::string what, const boost::system::error_code& ec);
  void finish(Pending& p, std::optional<Error> err);
  Pending* find(std::int32_t id) {
    auto it = pending_.find(id);
    return it == pending_.end() ? nullptr : it->second;
  }
  static Impl& of(void* user_data) { return *static_cast<Impl*>(user_data); }
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame*, void*);
  static int onHeader(nghttp2_session*, const nghttp2_frame*, const std::uint8_t*, std::size_t,
                      const std::uint8_t*, std::size_t, std::uint8_t, void*);
  static int onData(nghttp2_session*, std::uint8_t, std::int32_t, const std::uint8_t*,
                    std::size_t, void*);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame*, void*);
  static int onFrameNotSend(nghttp2_session*, const nghttp2_frame*, int, void*);
  static int onStreamClose(nghttp2_session*, std::int32_t, std::uint32_t, void*);
  static ssize_t readBody(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t,
                          std::uint32_t*, nghttp2_data_source*, void*);

  net::tcp::endpoint endpoint_;
  H2ClientOptions opt_;
  State state_ = State::connecting;
  Error connect_error_;
  asio::steady_timer ready_;  // requests wait on it while connecting
  bool goaway_ = false;       // the server sent GOAWAY: no new streams here
  bool settings_seen_ = false;
  std::size_t in_flight_ = 0;
  std::unordered_map<std::int32_t, Pending*> pending_;
};

void H2Connection::Impl::failConnect(std::string what, const boost::system::error_code& ec) {
  state_ = State::failed;
  connect_error_ = error(Errc::unavailable, what + ": " + ec.message());
  log::get("http")->warn("HTTP/2 backend {}: {}", endpoint_.address().to_string(),
                         connect_error_.detail);
  ready_.cancel();
  close();
}

Task<void> H2Connection::Impl::connect([[maybe_unused]] std::shared_ptr<Impl> self) {
  boost::system::error_code ec;
  if (!opt_.tls) co_return failConnect("no TLS context", asio::error::invalid_argument);
  beast::tcp_stream tcp(executor_);
  tcp.expires_after(opt_.connect_timeout);
  co_await tcp.async_connect(endpoint_, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return failConnect("connect", ec);
  tcp.expires_never();
  tls::Stream stream(tcp.release_socket(), *opt_.tls);
  // ALPN "h2" (RFC 9113 3.2); SSL_set_alpn_protos returns 0 on success.
  static constexpr unsigned char kAlpn[] = {2, 'h', '2'};
  if (!stream.native_handle() ||
      SSL_set_alpn_protos(stream.native_handle(), kAlpn, sizeof kAlpn) != 0 ||
      (!opt_.sni.empty() && !stream.setServerName(opt_.sni))) {
    co_return failConnect("TLS setup", asio::error::invalid_argument);
  }
  stream.expiresAfter(opt_.connect_timeout);
  co_await stream.async_handshake(tls::Stream::Role::client,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return failConnect("TLS handshake", ec);
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(stream.native_handle(), &alpn, &alpn_len);
  if (alpn_len != 2 || std::memcmp(alpn, "h2", 2) != 0) {
    co_return failConnect("server did not select ALPN h2", asio::error::operation_not_supported);
  }
  attach(std::move(stream));
  if (!initSession()) co_return failConnect("nghttp2 session", asio::error::no_memory);
  state_ = State::open;
  ready_.cancel();
  kick();
  co_await run();
}

bool H2Connection::Impl::initSession() {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, onHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, onData);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, onFrameRecv);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, onFrameNotSend);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, onStreamClose);
  int rv = nghttp2_session_client_new(&session_, cbs, this);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) return false;
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},  // 8.4: we never want pushes
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(detail::kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(opt_.header_limit)},
  };
  return nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) == 0 &&
         nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                               detail::kConnectionWindow) == 0;
}

Task<Result<Response>> H2Connection::Impl::request(Request& req, std::chrono::milliseconds timeout,
                                                   std::shared_ptr<CancelSignal> cancel) {
  auto self = shared_from_this();  // the connection outlives its requests
  struct Count {
    std::size_t& n;
    ~Count() { --n; }
  } count{++in_flight_};
  auto deadline = Clock::now() + timeout;
  boost::system::error_code ec;
  if (state_ == State::connecting) {
    co_await ready_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (state_ == State::failed) co_return fail(connect_error_);
  if (closed() || draining() || goaway_) {
    co_return fail(Errc::unavailable, "HTTP/2 connection is closing");
  }
  if (cancel && cancel->cancelled()) co_return fail(Errc::unavailable, "cancelled");

  // Request pseudo-header fields first (8.3.1), then the rest in lower case.
  std::vector<std::pair<std::string, std::string>> fields;
  auto host = req.find(Field::host);
  std::string path(req.target());
  fields.emplace_back(":method", std::string(req.method_string()));
  fields.emplace_back(":scheme", "https");
  fields.emplace_back(":authority", host != req.end()  ? std::string(host->value())
                                    : opt_.sni.empty() ? endpoint_.address().to_string()
                                                       : opt_.sni);
  fields.emplace_back(":path", path.empty() ? "/" : path);
  for (const auto& f : req) {
    std::string name = lower(f.name_string());
    if (!dropped(name)) fields.emplace_back(std::move(name), std::string(f.value()));
  }
  if (!req.body().empty()) fields.emplace_back("content-length", std::to_string(req.body().size()));
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size());
  for (auto& [name, value] : fields) {
    nva.push_back({reinterpret_cast<std::uint8_t*>(name.data()),
                   reinterpret_cast<std::uint8_t*>(value.data()), name.size(), value.size(),
                   NGHTTP2_NV_FLAG_NONE});
  }
  Pending p(executor_);
  p.req = &req;
  nghttp2_data_provider provider{};
  provider.read_callback = readBody;
  std::int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                           req.body().empty() ? nullptr : &provider, nullptr);
  if (id < 0) {
    if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) drain();  // 5.1.1: a new connection
    co_return fail(Errc::unavailable, nghttp2_strerror(id));
  }
  p.id = id;
  pending_[id] = &p;
  kick();

  if (cancel) cancel->on_cancel_ = [&p] {
    p.cancelled = true;
    p.timer.cancel();
  };
  p.timer.expires_at(deadline);
  while (!p.done) {
    co_await p.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (p.done) break;
    if (p.cancelled || ec != asio::error::operation_aborted) {
      // Timed out or abandoned: tell the server to stop (RST_STREAM CANCEL,
      // 8.7) and forget the stream; late frames for it are ignored.
      pending_.erase(id);
      if (!closed()) {
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
        kick();
      }
      p.err = p.cancelled ? error(Errc::unavailable, "cancelled")
                          : error(Errc::timeout, "no HTTP/2 response in time");
      break;
    }
  }
  if (cancel) cancel->on_cancel_ = nullptr;
  if (p.err) co_return fail(std::move(*p.err));
  co_return std::move(p.res);
}

void H2Connection::Impl::finish(Pending& p, std::optional<Error> err) {
  p.err = std::move(err);
  p.done = true;
  pending_.erase(p.id);
  p.timer.cancel();
}

void H2Connection::Impl::onClose() {
  state_ = state_ == State::connecting ? State::failed : state_;
  ready_.cancel();
  auto pending = std::move(pending_);
  pending_.clear();
  // The server's SETTINGS come first on the connection (RFC 9113 3.4), before
  // it reads any request: without them it processed nothing (with TLS 1.3 a
  // refused client certificate shows only now), and a retry is safe.
  Error lost = settings_seen_
                   ? error(Errc::io_error, "HTTP/2 connection to the backend lost")
                   : error(Errc::unavailable, "HTTP/2 connection closed before the server's "
                                              "SETTINGS (client certificate refused?)");
  for (auto& [id, p] : pending) {
    p->err = lost;
    p->done = true;
    p->timer.cancel();
  }
}

int H2Connection::Impl::onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame,
                                       void* user_data) {
  if (Pending* p = of(user_data).find(frame->hd.stream_id)) p->interim = false;
  return 0;
}

int H2Connection::Impl::onHeader(nghttp2_session* session, const nghttp2_frame* frame,
                                 const std::uint8_t* name, std::size_t namelen,
                                 const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
                                 void* user_data) {
  auto& c = of(user_data);
  Pending* p = c.find(frame->hd.stream_id);
  // Trailers (NGHTTP2_HCAT_HEADERS) carry nothing we use.
  if (!p || frame->headers.cat != NGHTTP2_HCAT_RESPONSE) return 0;
  p->header_bytes += namelen + valuelen + 32;  // as 6.5.2 counts
  if (p->header_bytes > c.opt_.header_limit) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, p->id, NGHTTP2_CANCEL);
    c.finish(*p, error(Errc::limit_exceeded, "HTTP/2 response header list too large"));
    return 0;
  }
  beast::string_view n(reinterpret_cast<const char*>(name), namelen);
  beast::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (n == ":status") {
    // nghttp2 checked it is three digits (8.3.2).
    unsigned code = 0;
    std::from_chars(v.data(), v.data() + v.size(), code);
    p->interim = code / 100 == 1;
    if (!p->interim) p->res.result(code);
  } else if (!p->interim && !n.starts_with(':')) {
    p->res.insert(n, v);
  }
  return 0;
}

int H2Connection::Impl::onData(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                               const std::uint8_t* data, std::size_t len, void* user_data) {
  auto& c = of(user_data);
  Pending* p = c.find(stream_id);
  if (!p) return 0;
  if (p->res.body().size() + len > c.opt_.body_limit) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
    c.finish(*p, error(Errc::limit_exceeded, "HTTP/2 response body too large"));
    return 0;
  }
  p->res.body().append(reinterpret_cast<const char*>(data), len);
  return 0;
}

int H2Connection::Impl::onFrameRecv(nghttp2_session* session, const nghttp2_frame* frame,
                                    void* user_data) {
  auto& c = of(user_data);
  if (frame->hd.type == NGHTTP2_SETTINGS) c.settings_seen_ = true;
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    // 6.8: streams above last_stream_id are closed by nghttp2 with
    // REFUSED_STREAM (retryable); the others may still finish.
    c.goaway_ = true;
    return 0;
  }
  if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
      !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    return 0;
  }
  Pending* p = c.find(frame->hd.stream_id);
  if (!p) return 0;
  // The response is complete. If our body is still going, the server does
  // not want it (8.1): stop sending.
  if (nghttp2_session_get_stream_local_close(session, p->id) == 0) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, p->id, NGHTTP2_CANCEL);
  }
  c.finish(*p, std::nullopt);
  return 0;
}

int H2Connection::Impl::onFrameNotSend(nghttp2_session*, const nghttp2_frame* frame,
                                       int lib_error, void* user_data) {
  auto& c = of(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  // The request never left (e.g. after GOAWAY): the server has not seen it.
  if (Pending* p = c.find(frame->hd.stream_id)) {
    c.finish(*p, error(Errc::unavailable, std::string("HTTP/2 request not sent: ") +
                                              nghttp2_strerror(lib_error)));
  }
  return 0;
}

int H2Connection::Impl::onStreamClose(nghttp2_session*, std::int32_t stream_id,
                                      std::uint32_t error_code, void* user_data) {
  auto& c = of(user_data);
  Pending* p = c.find(stream_id);
  if (!p) return 0;  // finished already
  if (error_code == NGHTTP2_REFUSED_STREAM) {
    c.finish(*p, error(Errc::unavailable, "HTTP/2 stream refused (not processed, RFC 9113 8.7)"));
  } else {
    c.finish(*p, error(Errc::io_error, std::string("HTTP/2 stream reset: ") +
                                           nghttp2_http2_strerror(error_code)));
  }
  return 0;
}

ssize_t H2Connection::Impl::readBody(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf,
                                     std::size_t length, std::uint32_t* flags,
                                     nghttp2_data_source*, void* user_data) {
  Pending* p = of(user_data).find(stream_id);
  if (!p) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // abandoned: reset the stream
  const std::string& body = p->req->body();
  std::size_t n = std::min(length, body.size() - p->sent);
  std::memcpy(buf, body.data() + p->sent, n);
  p->sent += n;
  if (p->sent == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

std::shared_ptr<H2Connection> H2Connection::open(asio::any_io_executor executor,
                                                 net::tcp::endpoint endpoint,
                                                 H2ClientOptions options) {
  auto impl = std::make_shared<Impl>(executor, endpoint, std::move(options));
  co_spawn(executor, impl->connect(impl), asio::detached);
  return std::shared_ptr<H2Connection>(new H2Connection(impl));
}

H2Connection::~H2Connection() {
  if (impl_) impl_->drain();
}

Task<Result<Response>> H2Connection::request(Request& req, std::chrono::milliseconds timeout,
                                             std::shared_ptr<CancelSignal> cancel) {
  return impl_->request(req, timeout, cancel);
}

bool H2Connection::usable() const { return impl_->usable(); }
std::size_t H2Connection::inFlight() const { return impl_->inFlight(); }
std::size_t H2Connection::streamLimit() const { return impl_->streamLimit(); }
void H2Connection::drain() { impl_->drain(); }

H2Client::H2Client(asio::any_io_executor executor, net::tcp::endpoint endpoint,
                   H2ClientOptions options)
    : executor_(executor), endpoint_(endpoint), options_(std::move(options)) {}

H2Client::~H2Client() = default;  // each H2Connection drains as it goes

std::shared_ptr<H2Connection> H2Client::pick() {
  std::erase_if(connections_, [](const auto& c) { return !c->usable(); });
  for (const auto& c : connections_) {
    if (c->inFlight() < c->streamLimit()) return c;
  }
  if (connections_.size() < std::max<std::size_t>(options_.max_connections, 1)) {
    connections_.push_back(H2Connection::open(executor_, endpoint_, options_));
    return connections_.back();
  }
  // All full: nghttp2 queues requests beyond the server's limit.
  return *std::min_element(connections_.begin(), connections_.end(), [](const auto& a, const auto& b) {
    return a->inFlight() < b->inFlight();
  });
}

Task<Result<Response>> H2Client::request(Request req, std::chrono::milliseconds timeout,
                                         std::shared_ptr<CancelSignal> cancel) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int attempt = 0;; ++attempt) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) co_return fail(Errc::timeout, "no HTTP/2 response in time");
    std::shared_ptr<H2Connection> conn = pick();
    Result<Response> res = co_await conn->request(req, left, cancel);
    bool retry = !res && res.error().is(Errc::unavailable) && !(cancel && cancel->cancelled());
    if (!retry || attempt >= 1) co_return res;
  }
}

}  // namespace rampart::http
