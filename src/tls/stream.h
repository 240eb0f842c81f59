// A lean TLS stream: an OpenSSL SSL object reading and writing the socket's
// file descriptor itself (a BIO doing recv/send(MSG_NOSIGNAL) on the
// non-blocking socket), waiting for readiness with socket.async_wait when
// OpenSSL says WANT_READ/WANT_WRITE.
//
// Why not asio::ssl::stream: it keeps two 17 KiB buffers per connection in
// Asio plus a BIO pair with 17 KiB each in OpenSSL, for the connection's whole
// life. The EAS server parks thousands of Ping requests on idle connections;
// here, with SSL_MODE_RELEASE_BUFFERS on the context (tls/context.cc), an idle
// connection keeps only OpenSSL's connection state, the socket and a timer.
//
// Models Asio's AsyncReadStream and AsyncWriteStream, so Beast's
// http::async_read/async_write take it. At most one read and one write may be
// outstanding at a time (they may overlap), plus nothing else during a
// handshake or shutdown. All operations and the deadline run on the socket's
// executor: with a multi-threaded io_context, use a strand (as for Beast's
// tcp_stream).
//
// Deadline: expiresAfter/expiresAt set one absolute deadline for every
// operation that starts or is running (like beast::tcp_stream). When it
// passes, running operations complete with beast::error::timeout, and so does
// every later one: the stream is done for, the owner closes it. The timer is
// armed only while an operation waits on the socket, never while idle.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>

#include "net/asio.h"
#include "tls/context.h"

namespace rampart::tls {

namespace detail {

struct StreamState;

// What one attempt of an SSL call asks for next.
enum class Want : unsigned char { done, read, write };
struct Step {
  Want want = Want::done;
  std::size_t bytes = 0;
  boost::system::error_code ec;
};

Step tryHandshake(StreamState& st);
Step tryRead(StreamState& st, boost::asio::mutable_buffer buffer);
Step tryWrite(StreamState& st, boost::asio::const_buffer buffer);
Step tryShutdown(StreamState& st);

// Deadline bookkeeping around an operation (stream.cc).
boost::system::error_code startOp(StreamState& st);  // timeout if already past/done for
void beforeWait(StreamState& st, bool& holds_timer);  // arms the timer for the first waiter
boost::system::error_code afterWait(StreamState& st, boost::system::error_code ec);
void finishOp(StreamState& st, bool holds_timer);     // disarms it after the last
net::tcp::socket& socketOf(StreamState& st);

// One operation: try the SSL call, wait for what it wants, try again. Never
// completes inside the initiating call (a result ready at once is posted).
// Holds the state alive: a stream destroyed while an operation waits cancels
// it (operation_aborted), and the operation must not touch freed memory then.
template <class Attempt>
struct Op {
  std::shared_ptr<StreamState> st;
  Attempt attempt;
  bool holds_timer = false;
  enum class Phase : unsigned char { start, wait, post } phase = Phase::start;
  Step result{};

  template <class Self>
  void operator()(Self& self, boost::system::error_code ec = {}) {
    namespace asio = boost::asio;
    switch (phase) {
      case Phase::post:
        return finish(self);
      case Phase::start:
        if ((result.ec = startOp(*st))) {
          phase = Phase::post;
          return asio::post(socketOf(*st).get_executor(), std::move(self));
        }
        break;
      case Phase::wait:
        if (ec) {
          result = Step{Want::done, 0, afterWait(*st, ec)};
          return finish(self);
        }
        break;
    }
    result = attempt(*st);
    if (result.want != Want::done) {
      beforeWait(*st, holds_timer);
      phase = Phase::wait;
      return socketOf(*st).async_wait(result.want == Want::read ? net::tcp::socket::wait_read
                                                                : net::tcp::socket::wait_write,
                                      std::move(self));
    }
    if (phase == Phase::start) {
      phase = Phase::post;
      return asio::post(socketOf(*st).get_executor(), std::move(self));
    }
    finish(self);
  }

  template <class Self>
  void finish(Self& self) {
    finishOp(*st, holds_timer);
    holds_timer = false;
    self.complete(result.ec, result.bytes);
  }
};

struct ReadAttempt {
  boost::asio::mutable_buffer buffer;
  Step operator()(StreamState& st) const { return tryRead(st, buffer); }
};

// Beast hands over many small buffers (each header line is one); one TLS
// record per buffer would waste bytes and syscalls, so small leading buffers
// are copied into one record's worth. The copy lives as long as the operation:
// after WANT_WRITE, OpenSSL must be given the same bytes again.
struct WriteAttempt {
  static constexpr std::size_t kRecord = 16 * 1024;
  boost::asio::const_buffer buffer;
  std::unique_ptr<char[]> copy;
  Step operator()(StreamState& st) const { return tryWrite(st, buffer); }

  template <class ConstBufferSequence>
  static WriteAttempt make(const ConstBufferSequence& buffers) {
    namespace asio = boost::asio;
    WriteAttempt w;
    auto it = asio::buffer_sequence_begin(buffers);
    auto end = asio::buffer_sequence_end(buffers);
    while (it != end && asio::const_buffer(*it).size() == 0) ++it;
    if (it == end) return w;
    w.buffer = asio::const_buffer(*it);
    if (w.buffer.size() >= kRecord) return w;
    std::size_t total = std::min(asio::buffer_size(buffers), kRecord);
    if (total == w.buffer.size()) return w;
    w.copy.reset(new char[total]);
    asio::buffer_copy(asio::mutable_buffer(w.copy.get(), total), buffers);
    w.buffer = asio::const_buffer(w.copy.get(), total);
    return w;
  }
};

struct HandshakeAttempt {
  Step operator()(StreamState& st) const { return tryHandshake(st); }
};
struct ShutdownAttempt {
  Step operator()(StreamState& st) const { return tryShutdown(st); }
};

}  // namespace detail

class Stream {
 public:
  using executor_type = net::tcp::socket::executor_type;
  using clock = std::chrono::steady_clock;
  enum class Role : unsigned char { client, server };

  // Takes over `socket` (made non-blocking) and makes a new SSL object from
  // `ctx`; the context may go away before the stream (OpenSSL counts its
  // references). If OpenSSL cannot make the object, the handshake fails.
  // Destroying the stream cancels what is outstanding (operation_aborted).
  Stream(net::tcp::socket socket, ssl::context& ctx);
  ~Stream();
  Stream(Stream&&) noexcept = default;
  Stream& operator=(Stream&&) noexcept = default;

  executor_type get_executor() noexcept;
  net::tcp::socket& socket() noexcept;
  SSL* native_handle() noexcept;  // null if SSL_new failed

  // The client's name for the server (SNI and certificate name check). Call
  // before a client handshake; false if OpenSSL refused it.
  bool setServerName(const std::string& name);

  void expiresAfter(clock::duration d) { expiresAt(clock::now() + d); }
  void expiresAt(clock::time_point t);
  void expiresNever();

  // Completion: void(error_code). Errors: asio::ssl::error category for TLS
  // failures, beast::error::timeout, system errors from the socket.
  template <class Token>
  auto async_handshake(Role role, Token&& token) {
    setRole(role);
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        detail::Op<detail::HandshakeAttempt>{st_, {}}, token, socket());
  }

  // Completion: void(error_code, std::size_t). Reads into the first non-empty
  // buffer. asio::error::eof once the peer sent close_notify;
  // asio::ssl::error::stream_truncated when it closed TCP without one.
  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    boost::asio::mutable_buffer first;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      if (boost::asio::mutable_buffer(*it).size() != 0) {
        first = *it;
        break;
      }
    }
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        detail::Op<detail::ReadAttempt>{st_, {first}}, token, socket());
  }

  // Completion: void(error_code, std::size_t): bytes of `buffers` sent, at
  // least one TLS record's worth unless the whole sequence was shorter.
  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        detail::Op<detail::WriteAttempt>{st_, detail::WriteAttempt::make(buffers)}, token,
        socket());
  }

  // Sends close_notify and waits for the peer's (a peer that just closes TCP
  // afterwards is fine too). Completion: void(error_code, std::size_t).
  template <class Token>
  auto async_shutdown(Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        detail::Op<detail::ShutdownAttempt>{st_, {}}, token, socket());
  }

 private:
  void setRole(Role role);
  // On the heap so that the deadline timer's handler, which may run after the
  // stream is gone, can tell (it holds a weak_ptr).
  std::shared_ptr<detail::StreamState> st_;
};

}  // namespace rampart::tls
