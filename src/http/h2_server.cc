#include "http/h2_server.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/log.h"
#include "http/detail/h2_transport.h"

namespace rampart::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using net::Task;

namespace {

// One request stream, shared by the connection (while nghttp2 keeps the
// stream) and the handler's coroutine (while it runs).
struct Exchange {
  std::int32_t id = 0;
  Request req;
  Response res;
  std::size_t sent = 0;  // response body bytes handed to nghttp2
  std::size_t header_bytes = 0;
  std::size_t counted = 0;  // body bytes counted in the connection's buffered_
  Status refusal = Status::unknown;  // answered without the handler (431, 413)
  bool request_done = false;         // END_STREAM received
  bool dispatched = false;
  bool handler_running = false;
  bool closed = false;  // nghttp2 closed the stream: nobody wants a response
};

beast::string_view bytes(const std::uint8_t* p, std::size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

// Fields that never travel in HTTP/2 (RFC 9113 8.2.2); content-length is set
// from the body here.
bool dropped(std::string_view lower) {
  return lower == "connection" || lower == "keep-alive" || lower == "proxy-connection" ||
         lower == "transfer-encoding" || lower == "upgrade" || lower == "content-length";
}

}  // namespace

class H2ServerConnection final : public detail::H2Transport {
 public:
  H2ServerConnection(asio::any_io_executor executor, const ServerOptions& options,
                     std::shared_ptr<const Handler> handler)
      : H2Transport(executor, detail::H2Timing{options.keepalive_idle, options.h2_ping_interval,
                                               options.write_progress, options.h2_drain_timeout}),
        opt_(options),
        handler_(std::move(handler)) {}

  // Takes over the stream and queues our SETTINGS (3.4: the server preface).
  bool start(tls::Stream& stream);
  Task<void> serve() { return run(); }

 private:
  std::size_t openStreams() const override { return exchanges_.size() + orphans_; }
  void afterRecv() override;
  void respond(Exchange& ex, Response res);
  void release(Exchange& ex) {
    buffered_ -= ex.counted;
    ex.counted = 0;
    ex.req = Request{};
  }
  static Task<void> runHandler(std::weak_ptr<H2ServerConnection> weak,
                               std::shared_ptr<const Handler> handler,
                               std::shared_ptr<Exchange> ex);

  Exchange* find(std::int32_t id) {
    auto it = exchanges_.find(id);
    return it == exchanges_.end() ? nullptr : it->second.get();
  }
  static H2ServerConnection& of(void* user_data) {
    return *static_cast<H2ServerConnection*>(user_data);
  }
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame*, void*);
  static int onHeader(nghttp2_session*, const nghttp2_frame*, const std::uint8_t*, std::size_t,
                      const std::uint8_t*, std::size_t, std::uint8_t, void*);
  static int onData(nghttp2_session*, std::uint8_t, std::int32_t, const std::uint8_t*,
                    std::size_t, void*);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame*, void*);
  static int onFrameSend(nghttp2_session*, const nghttp2_frame*, void*);
  static int onStreamClose(nghttp2_session*, std::int32_t, std::uint32_t, void*);
  static ssize_t readBody(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t,
                          std::uint32_t*, nghttp2_data_source*, void*);

  ServerOptions opt_;  // a copy: handlers may finish after the server is gone
  std::shared_ptr<const Handler> handler_;
  std::unordered_map<std::int32_t, std::shared_ptr<Exchange>> exchanges_;  // open streams
  std::vector<std::int32_t> ready_;  // to answer or dispatch after mem_recv returns
  std::size_t orphans_ = 0;          // handlers still running for closed streams
  std::uint64_t buffered_ = 0;       // request body bytes held, all streams
};

bool H2ServerConnection::start(tls::Stream& stream) {
  attach(std::move(stream));
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, onHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, onData);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, onFrameRecv);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, onFrameSend);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, onStreamClose);
  nghttp2_option* option = nullptr;
  int rv = nghttp2_option_new(&option);
  if (rv == 0) {
    // RST_STREAM token bucket (CVE-2023-44487; Debian's 1.52.0-1+deb12u1
    // backports it): nghttp2's defaults, spelled out so they are ours.
    nghttp2_option_set_stream_reset_rate_limit(option, 1000, 33);
    rv = nghttp2_session_server_new2(&session_, cbs, this, option);
    nghttp2_option_del(option);
  }
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) return false;
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, opt_.h2_max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(detail::kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(opt_.header_limit)},
  };
  return nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) == 0 &&
         nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                               detail::kConnectionWindow) == 0;
}

int H2ServerConnection::onBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame,
                                       void* user_data) {
  auto& c = of(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  // nghttp2 enforces SETTINGS_MAX_CONCURRENT_STREAMS on open streams; handlers
  // of streams the peer reset still run and count as well (5.1.2, 8.7).
  if (c.openStreams() >= c.opt_.h2_max_concurrent_streams) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                              NGHTTP2_REFUSED_STREAM);
    return 0;
  }
  auto ex = std::make_shared<Exchange>();
  ex->id = frame->hd.stream_id;
  ex->req.version(20);  // Beast treats it like 1.1: keep-alive
  c.exchanges_.emplace(ex->id, std::move(ex));
  return 0;
}

// nghttp2 has checked the field (8.2.1: lower case, no connection-specific
// fields; 8.3.1: the pseudo-headers a request needs, none twice).
int H2ServerConnection::onHeader(nghttp2_session*, const nghttp2_frame* frame,
                                 const std::uint8_t* name, std::size_t namelen,
                                 const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
                                 void* user_data) {
  auto& c = of(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  Exchange* ex = c.find(frame->hd.stream_id);
  if (!ex || ex->refusal != Status::unknown) return 0;
  // Counted as SETTINGS_MAX_HEADER_LIST_SIZE counts (6.5.2).
  ex->header_bytes += namelen + valuelen + 32;
  if (ex->header_bytes > c.opt_.header_limit) {
    ex->refusal = Status::request_header_fields_too_large;
    c.release(*ex);
    return 0;
  }
  auto n = bytes(name, namelen);
  auto v = bytes(value, valuelen);
  if (n == ":method") ex->req.method_string(v);
  else if (n == ":path") ex->req.target(v);
  else if (n == ":authority") ex->req.set(Field::host, v);  // 8.3.1: it wins over host
  else if (n.starts_with(':')) return 0;                    // :scheme (TLS, known), :protocol
  else if (n == "host") {
    if (ex->req.find(Field::host) == ex->req.end()) ex->req.set(Field::host, v);
  } else if (auto cookie = ex->req.find(Field::cookie); n == "cookie" && cookie != ex->req.end()) {
    // 8.2.3: cookie crumbs are rejoined into one field for HTTP/1.1 code.
    ex->req.set(Field::cookie, std::string(cookie->value()) + "; " + std::string(v));
  } else {
    ex->req.insert(n, v);
  }
  return 0;
}

int H2ServerConnection::onData(nghttp2_session*, std::uint8_t, std::int32_t stream_id,
                               const std::uint8_t* data, std::size_t len, void* user_data) {
  auto& c = of(user_data);
  Exchange* ex = c.find(stream_id);
  if (!ex || ex->refusal != Status::unknown) return 0;
  if (ex->req.body().size() + len > c.opt_.body_limit) {
    ex->refusal = Status::payload_too_large;
    c.release(*ex);
    c.ready_.push_back(stream_id);  // answer now, not after the whole body
    return 0;
  }
  if (c.buffered_ + len > c.opt_.h2_connection_body_limit) {
    // Many streams each under body_limit must not add up without bound.
    ex->refusal = Status::service_unavailable;
    c.release(*ex);
    c.ready_.push_back(stream_id);
    return 0;
  }
  ex->req.body().append(reinterpret_cast<const char*>(data), len);
  ex->counted += len;
  c.buffered_ += len;
  return 0;
}

int H2ServerConnection::onFrameRecv(nghttp2_session*, const nghttp2_frame* frame,
                                    void* user_data) {
  auto& c = of(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
  Exchange* ex = c.find(frame->hd.stream_id);
  if (!ex) return 0;
  if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) ex->request_done = true;
  if (ex->request_done || ex->refusal != Status::unknown) c.ready_.push_back(ex->id);
  return 0;
}

int H2ServerConnection::onFrameSend(nghttp2_session* session, const nghttp2_frame* frame,
                                    void* user_data) {
  auto& c = of(user_data);
  if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
      !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    return 0;
  }
  // A complete response sent before the whole request arrived (a refusal):
  // ask the client to stop sending, without error (8.1).
  Exchange* ex = c.find(frame->hd.stream_id);
  if (ex && !ex->request_done) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, ex->id, NGHTTP2_NO_ERROR);
  }
  return 0;
}

int H2ServerConnection::onStreamClose(nghttp2_session*, std::int32_t stream_id, std::uint32_t,
                                      void* user_data) {
  auto& c = of(user_data);
  auto it = c.exchanges_.find(stream_id);
  if (it == c.exchanges_.end()) return 0;
  it->second->closed = true;
  if (it->second->handler_running) ++c.orphans_;  // its request is in use until it ends
  else c.release(*it->second);
  c.exchanges_.erase(it);
  return 0;
}

ssize_t H2ServerConnection::readBody(nghttp2_session*, std::int32_t, std::uint8_t* buf,
                                     std::size_t length, std::uint32_t* flags,
                                     nghttp2_data_source* source, void*) {
  // The stream is open while nghttp2 asks, so the exchange is alive.
  auto* ex = static_cast<Exchange*>(source->ptr);
  const std::string& body = ex->res.body();
  std::size_t n = std::min(length, body.size() - ex->sent);
  std::memcpy(buf, body.data() + ex->sent, n);
  ex->sent += n;
  if (ex->sent == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

void H2ServerConnection::afterRecv() {
  std::vector<std::int32_t> ready;
  ready.swap(ready_);
  for (std::int32_t id : ready) {
    auto it = exchanges_.find(id);
    if (it == exchanges_.end() || it->second->dispatched) continue;
    std::shared_ptr<Exchange> ex = it->second;
    if (ex->refusal != Status::unknown) {
      ex->dispatched = true;
      Response res{ex->refusal, 20};
      res.set(Field::content_type, "text/plain; charset=utf-8");
      res.body() = std::string(bhttp::obsolete_reason(ex->refusal)) + "\n";
      respond(*ex, std::move(res));
      continue;
    }
    if (!ex->request_done) continue;
    ex->dispatched = true;
    ex->handler_running = true;
    std::weak_ptr<H2ServerConnection> weak =
        std::static_pointer_cast<H2ServerConnection>(shared_from_this());
    co_spawn(executor_, runHandler(weak, handler_, ex), asio::detached);
  }
}

Task<void> H2ServerConnection::runHandler(std::weak_ptr<H2ServerConnection> weak,
                                          std::shared_ptr<const Handler> handler,
                                          std::shared_ptr<Exchange> ex) {
  Response res;
  try {
    res = co_await (*handler)(ex->req);
  } catch (const std::exception& e) {
    // Handlers report failures as responses; this is the last line of defence.
    log::get("http")->error("handler for {} threw: {}", std::string(ex->req.target()), e.what());
    res = textResponse(ex->req, Status::internal_server_error, "internal error\n");
  }
  ex->handler_running = false;
  auto self = weak.lock();
  if (!self) co_return;
  if (ex->closed) {
    --self->orphans_;  // reset while parked: the response has nowhere to go
    self->release(*ex);
    co_return;
  }
  if (!self->closed()) self->respond(*ex, std::move(res));
}

void H2ServerConnection::respond(Exchange& ex, Response res) {
  bool head = ex.req.method() == Verb::head;
  release(ex);  // a parked request's memory goes now, not with the stream
  res.set(Field::server, opt_.server_name);
  unsigned code = res.result_int();
  bool bodiless = code / 100 == 1 || code == 204 || code == 304;
  if (bodiless) res.body().clear();
  // Names in lower case (8.2.1); strings first, then the views nghttp2 copies.
  std::vector<std::pair<std::string, std::string>> fields;
  fields.emplace_back(":status", std::to_string(code));
  for (const auto& f : res) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (dropped(name)) continue;
    fields.emplace_back(std::move(name), std::string(f.value()));
  }
  if (!bodiless) {
    auto declared = res.find(Field::content_length);
    fields.emplace_back("content-length",
                        head && declared != res.end() ? std::string(declared->value())
                                                      : std::to_string(res.body().size()));
  }
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size());
  for (auto& [name, value] : fields) {
    nva.push_back({reinterpret_cast<std::uint8_t*>(name.data()),
                   reinterpret_cast<std::uint8_t*>(value.data()), name.size(), value.size(),
                   NGHTTP2_NV_FLAG_NONE});
  }
  if (head) res.body().clear();
  ex.res = std::move(res);
  ex.sent = 0;
  nghttp2_data_provider provider{};
  provider.source.ptr = &ex;
  provider.read_callback = readBody;
  int rv = nghttp2_submit_response(session_, ex.id, nva.data(), nva.size(),
                                   ex.res.body().empty() ? nullptr : &provider);
  if (rv != 0) {
    log::get("http")->warn("HTTP/2 response on stream {}: {}", ex.id, nghttp2_strerror(rv));
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, ex.id, NGHTTP2_INTERNAL_ERROR);
  }
  kick();
}

void H2Connections::drainAll() {
  for (const auto& weak : live_) {
    if (auto c = weak.lock()) c->drain();
  }
}

Task<void> serveH2(tls::Stream& stream, const ServerOptions& options,
                   std::shared_ptr<const Handler> handler, H2Connections& live) {
  auto conn = std::make_shared<H2ServerConnection>(stream.get_executor(), options, handler);
  if (!conn->start(stream)) {
    log::get("http")->error("HTTP/2 session setup failed");
    co_return;
  }
  std::erase_if(live.live_, [](const auto& weak) { return weak.expired(); });
  live.live_.push_back(conn);
  co_await conn->serve();
}

}  // namespace rampart::http
