// What the HTTP/2 server and client connections share: an nghttp2 session
// driven by reads and writes on a tls::Stream, and the timers that keep a
// connection honest (RFC 9113 section 9.1: connection management).
//
// Three coroutines per connection, all on the stream's executor (nothing
// here is thread-safe): the reader feeds bytes to nghttp2_session_mem_recv;
// the writer drains nghttp2_session_mem_send whenever kick()ed; the watchdog
// ticks and enforces
//   write_progress  a write that does not finish in time kills the connection
//   idle            no open streams for this long: GOAWAY and close
//   ping_interval   streams open (parked requests) but the peer silent this
//                   long: PING (6.7); silent for twice as long: dead
//   drain           after drain() (GOAWAY, 6.8), open streams get this long.
// An idle connection holds the session, the socket and nothing else: the
// read buffer lives in the reader's frame (one per connection, a handful of
// connections on the bridged link), the write buffer is freed between bursts.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include <nghttp2/nghttp2.h>

#include "net/asio.h"
#include "tls/stream.h"

namespace rampart::http::detail {

struct H2Timing {
  std::chrono::milliseconds idle{60'000};
  std::chrono::milliseconds ping_interval{30'000};
  std::chrono::milliseconds write_progress{30'000};
  std::chrono::milliseconds drain{30'000};
};

// Windows large enough for bodies of a few MB to flow in one round trip
// (6.9.2: SETTINGS_INITIAL_WINDOW_SIZE; 6.9: the connection window only
// grows by WINDOW_UPDATE). They are promises, not buffers: what arrives is
// still bounded by the body limits.
inline constexpr std::int32_t kStreamWindow = 8 * 1024 * 1024;
inline constexpr std::int32_t kConnectionWindow = 64 * 1024 * 1024;

class H2Transport : public std::enable_shared_from_this<H2Transport> {
 public:
  H2Transport(net::asio::any_io_executor executor, H2Timing timing);
  virtual ~H2Transport();
  H2Transport(const H2Transport&) = delete;
  H2Transport& operator=(const H2Transport&) = delete;

  bool closed() const { return closed_; }
  bool draining() const { return draining_; }

  // Graceful end (6.8): GOAWAY with NO_ERROR and the last stream we took; open
  // streams may finish within timing.drain, then the connection closes.
  void drain();
  // Ends the connection now: outstanding I/O completes, onClose() runs once.
  void close();

 protected:
  // Takes over a connected, handshaken stream. Call before run().
  void attach(tls::Stream stream);
  // Runs the connection until it is closed. The caller holds a shared_ptr.
  net::Task<void> run();
  // Something was submitted to the session: wake the writer.
  void kick();

  // Streams this side still cares about (for the idle and ping policy).
  virtual std::size_t openStreams() const = 0;
  // After each batch of received bytes has gone through nghttp2 (so that
  // work is started outside nghttp2's callbacks).
  virtual void afterRecv() {}
  virtual void onClose() {}

  net::asio::any_io_executor executor_;
  nghttp2_session* session_ = nullptr;  // made by the subclass, freed here
  H2Timing timing_;

  using Clock = std::chrono::steady_clock;

 private:
  net::Task<void> writeLoop(std::shared_ptr<H2Transport> self);
  net::Task<void> watchdog(std::shared_ptr<H2Transport> self);
  void checkTimers();

  std::optional<tls::Stream> stream_;
  net::asio::steady_timer wake_;      // the writer waits on it; kick() cancels it
  net::asio::steady_timer tick_;      // the watchdog's
  net::asio::steady_timer finished_;  // run() waits on it after the reader ends
  bool closed_ = false;
  bool draining_ = false;
  bool writing_ = false;
  Clock::time_point write_started_{};
  Clock::time_point last_recv_ = Clock::now();
  Clock::time_point last_busy_ = Clock::now();  // when streams were last open
  Clock::time_point drain_started_{};
  Clock::time_point ping_sent_{};
};

}  // namespace rampart::http::detail
