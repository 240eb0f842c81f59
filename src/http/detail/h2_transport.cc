#include "http/detail/h2_transport.h"

#include <algorithm>
#include <array>
#include <string>

#include <boost/asio/write.hpp>

#include "core/log.h"

namespace rampart::http::detail {

namespace asio = boost::asio;
using net::Task;

namespace {
// Bytes gathered from nghttp2 before one write: a few frames per syscall.
constexpr std::size_t kWriteBatch = 64 * 1024;
}  // namespace

H2Transport::H2Transport(asio::any_io_executor executor, H2Timing timing)
    : executor_(executor), timing_(timing), wake_(executor), tick_(executor), finished_(executor) {}

H2Transport::~H2Transport() {
  if (session_) nghttp2_session_del(session_);
}

void H2Transport::attach(tls::Stream stream) {
  stream_.emplace(std::move(stream));
  stream_->expiresNever();  // deadlines are the watchdog's business
}

void H2Transport::kick() { wake_.cancel(); }

void H2Transport::drain() {
  if (closed_ || draining_ || !session_) return;
  draining_ = true;
  drain_started_ = Clock::now();
  // One GOAWAY naming the last stream we took; streams the peer opened after
  // it are refused and safe to retry elsewhere (6.8).
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  kick();
}

void H2Transport::close() {
  if (closed_) return;
  closed_ = true;
  if (stream_) {
    // A deadline in the past completes waiting operations and fails later
    // ones (tls/stream.h); the FIN tells the peer at once.
    stream_->expiresAt(tls::Stream::clock::now());
    boost::system::error_code ignored;
    stream_->socket().shutdown(net::tcp::socket::shutdown_both, ignored);
  }
  wake_.cancel();
  tick_.cancel();
  finished_.cancel();
  onClose();
}

Task<void> H2Transport::run() {
  auto self = shared_from_this();
  co_spawn(executor_, writeLoop(self), asio::detached);
  co_spawn(executor_, watchdog(self), asio::detached);
  std::array<std::uint8_t, 16 * 1024> buffer;
  boost::system::error_code ec;
  while (!closed_ && nghttp2_session_want_read(session_)) {
    std::size_t n = co_await stream_->async_read_some(
        asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec || closed_) break;
    last_recv_ = Clock::now();
    // Protocol errors make nghttp2 queue GOAWAY and stop wanting to read; a
    // negative result is fatal (bad client magic, flooding: 10.5).
    ssize_t rv = nghttp2_session_mem_recv(session_, buffer.data(), n);
    if (rv < 0) {
      log::get("http")->info("HTTP/2 session error: {}", nghttp2_strerror(static_cast<int>(rv)));
      // GOAWAY if nghttp2 has not queued one; the writer closes once it is out.
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
      kick();
      break;
    }
    afterRecv();
    kick();
  }
  if (ec || !nghttp2_session_want_write(session_)) close();
  // The writer may still be flushing a GOAWAY; it closes when done (or the
  // watchdog does, after write_progress).
  if (!closed_) {
    finished_.expires_at(Clock::time_point::max());
    co_await finished_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

Task<void> H2Transport::writeLoop([[maybe_unused]] std::shared_ptr<H2Transport> self) {
  std::string out;
  boost::system::error_code ec;
  while (!closed_) {
    while (out.size() < kWriteBatch) {
      const std::uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        log::get("http")->info("HTTP/2 send error: {}", nghttp2_strerror(static_cast<int>(n)));
        close();
        co_return;
      }
      if (n == 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (out.empty()) {
      if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
        close();  // GOAWAY exchanged and no stream left: done
        co_return;
      }
      std::string().swap(out);  // an idle connection keeps no write buffer
      wake_.expires_at(Clock::time_point::max());
      co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    writing_ = true;
    write_started_ = Clock::now();
    co_await asio::async_write(*stream_, asio::buffer(out),
                               asio::redirect_error(asio::use_awaitable, ec));
    writing_ = false;
    if (ec) {
      close();
      co_return;
    }
    out.clear();
  }
}

Task<void> H2Transport::watchdog([[maybe_unused]] std::shared_ptr<H2Transport> self) {
  auto shortest = std::min({timing_.idle, timing_.ping_interval, timing_.write_progress,
                            timing_.drain});
  auto period = std::max<Clock::duration>(shortest / 4, std::chrono::milliseconds(5));
  boost::system::error_code ec;
  while (!closed_) {
    tick_.expires_after(period);
    co_await tick_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) break;
    checkTimers();
  }
}

void H2Transport::checkTimers() {
  auto now = Clock::now();
  if (writing_ && now - write_started_ > timing_.write_progress) {
    log::get("http")->info("HTTP/2 peer stopped reading; closing");
    return close();
  }
  if (draining_ && now - drain_started_ > timing_.drain) return close();
  if (openStreams() > 0) {
    last_busy_ = now;
    // Parked requests may keep a connection silent for half an hour; a peer
    // that vanished without a FIN is found by PING (6.7), not by TCP.
    auto silent = now - last_recv_;
    if (silent > 2 * timing_.ping_interval) {
      log::get("http")->info("HTTP/2 peer silent past its PING; closing");
      return close();
    }
    if (silent > timing_.ping_interval && ping_sent_ < last_recv_) {
      nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
      ping_sent_ = now;
      kick();
    }
    return;
  }
  if (!draining_ && now - last_busy_ > timing_.idle && now - last_recv_ > timing_.idle) {
    // Idle (9.1): GOAWAY, then the writer closes once it is out.
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    kick();
    draining_ = true;  // and the drain bound closes it if the GOAWAY cannot leave
    drain_started_ = now;
  }
}

}  // namespace rampart::http::detail
