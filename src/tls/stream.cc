#include "tls/stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>

namespace rampart::tls {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// The socket BIO, but with send(MSG_NOSIGNAL): OpenSSL's own calls write(),
// and a peer that reset the connection would kill the process with SIGPIPE.
int fdOf(BIO* b) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b))); }

int bioWrite(BIO* b, const char* data, std::size_t len, std::size_t* written) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::send(fdOf(b), data, len, MSG_NOSIGNAL);
  if (n >= 0) {
    *written = static_cast<std::size_t>(n);
    return 1;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(b);
  return 0;
}

int bioRead(BIO* b, char* data, std::size_t len, std::size_t* read) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::recv(fdOf(b), data, len, 0);
  if (n > 0) {
    *read = static_cast<std::size_t>(n);
    return 1;
  }
  if (n == 0) {
    BIO_set_flags(b, BIO_FLAGS_IN_EOF);  // OpenSSL tells truncation from this
  } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    BIO_set_retry_read(b);
  }
  return 0;
}

long bioCtrl(BIO* b, int cmd, long, void* ptr) {
  switch (cmd) {
    case BIO_C_GET_FD:
      if (ptr) *static_cast<int*>(ptr) = fdOf(b);
      return fdOf(b);
    case BIO_CTRL_EOF:
      return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

BIO_METHOD* socketMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "rampart socket");
    if (m && (BIO_meth_set_write_ex(m, bioWrite) != 1 || BIO_meth_set_read_ex(m, bioRead) != 1 ||
              BIO_meth_set_ctrl(m, bioCtrl) != 1)) {
      BIO_meth_free(m);
      m = nullptr;
    }
    return m;
  }();
  return method;
}

// A BIO on `fd` that does not own it; null if OpenSSL could not make one.
BIO* socketBio(int fd) {
  BIO_METHOD* m = socketMethod();
  BIO* b = m ? BIO_new(m) : nullptr;
  if (!b) return nullptr;
  BIO_set_data(b, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
  BIO_set_init(b, 1);
  return b;
}

}  // namespace

namespace detail {

struct StreamState : std::enable_shared_from_this<StreamState> {
  StreamState(net::tcp::socket s, SSL* ssl_object)
      : socket(std::move(s)), timer(socket.get_executor()), ssl(ssl_object) {}
  ~StreamState() {
    if (ssl) SSL_free(ssl);  // the BIO does not own the descriptor
  }
  StreamState(const StreamState&) = delete;
  StreamState& operator=(const StreamState&) = delete;

  net::tcp::socket socket;
  asio::steady_timer timer;
  SSL* ssl;
  Stream::clock::time_point deadline = Stream::clock::time_point::max();
  unsigned tick = 0;     // which arming a timer completion belongs to
  unsigned waiters = 0;  // operations waiting on the socket under the deadline
  bool armed = false;
  bool timed_out = false;
  bool broken = false;   // a fatal TLS or socket error: no close_notify after it
};

namespace {

void arm(const std::shared_ptr<StreamState>& st) {
  st->armed = true;
  unsigned tick = ++st->tick;
  st->timer.expires_at(st->deadline);
  st->timer.async_wait([weak = std::weak_ptr<StreamState>(st), tick](error_code ec) {
    auto s = weak.lock();
    if (!s || ec || s->tick != tick) return;
    s->armed = false;
    s->timed_out = true;
    error_code ignored;
    s->socket.cancel(ignored);  // waiting operations complete with operation_aborted
  });
}

void disarm(StreamState& st) {
  if (!st.armed) return;
  st.armed = false;
  ++st.tick;
  st.timer.cancel();
}

// Turns the outcome of an SSL_* call into a step. Clears the thread's error
// queue as it goes, so one connection's errors never show on another.
Step classify(StreamState& st, int ret) {
  int err = SSL_get_error(st.ssl, ret);
  switch (err) {
    case SSL_ERROR_NONE:
      return Step{Want::done, ret > 0 ? static_cast<std::size_t>(ret) : 0, {}};
    case SSL_ERROR_WANT_READ:
      return Step{Want::read, 0, {}};
    case SSL_ERROR_WANT_WRITE:
      return Step{Want::write, 0, {}};
    case SSL_ERROR_ZERO_RETURN:
      return Step{Want::done, 0, asio::error::eof};
    case SSL_ERROR_SYSCALL: {
      int e = errno;
      ERR_clear_error();
      st.broken = true;
      if (e == 0) return Step{Want::done, 0, asio::ssl::error::stream_truncated};
      return Step{Want::done, 0, error_code(e, boost::system::system_category())};
    }
    default: {
      unsigned long e = ERR_peek_last_error();
      ERR_clear_error();
      st.broken = true;
      if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        return Step{Want::done, 0, asio::ssl::error::stream_truncated};
      }
      if (e == 0) return Step{Want::done, 0, asio::ssl::error::unspecified_system_error};
      return Step{Want::done, 0, error_code(static_cast<int>(e), asio::error::get_ssl_category())};
    }
  }
}

Step noSsl() { return Step{Want::done, 0, asio::error::no_memory}; }

}  // namespace

Step tryHandshake(StreamState& st) {
  if (!st.ssl) return noSsl();
  ERR_clear_error();
  int ret = SSL_do_handshake(st.ssl);
  if (ret == 1) return Step{};
  return classify(st, ret);
}

Step tryRead(StreamState& st, asio::mutable_buffer buffer) {
  if (!st.ssl) return noSsl();
  if (buffer.size() == 0) return Step{};
  ERR_clear_error();
  std::size_t n = 0;
  int ret = SSL_read_ex(st.ssl, buffer.data(), buffer.size(), &n);
  if (ret == 1) return Step{Want::done, n, {}};
  return classify(st, ret);
}

Step tryWrite(StreamState& st, asio::const_buffer buffer) {
  if (!st.ssl) return noSsl();
  if (buffer.size() == 0) return Step{};
  ERR_clear_error();
  std::size_t n = 0;
  int ret = SSL_write_ex(st.ssl, buffer.data(), buffer.size(), &n);
  if (ret == 1) return Step{Want::done, n, {}};
  return classify(st, ret);
}

Step tryShutdown(StreamState& st) {
  if (!st.ssl) return noSsl();
  if (st.broken) return Step{Want::done, 0, asio::error::not_connected};
  ERR_clear_error();
  int ret = SSL_shutdown(st.ssl);
  if (ret == 1) return Step{};  // both close_notify alerts are through
  if (ret == 0) {
    // Ours is sent; the next call reads the peer's.
    ERR_clear_error();
    ret = SSL_shutdown(st.ssl);
    if (ret == 1) return Step{};
  }
  Step step = classify(st, ret);
  // The peer closing TCP instead of answering close_notify ends the shutdown just as well.
  if (step.ec == asio::error::eof || step.ec == asio::ssl::error::stream_truncated) step.ec = {};
  return step;
}

error_code startOp(StreamState& st) {
  if (st.timed_out) return boost::beast::error::timeout;
  if (st.deadline != Stream::clock::time_point::max() && Stream::clock::now() >= st.deadline) {
    st.timed_out = true;
    return boost::beast::error::timeout;
  }
  return {};
}

void beforeWait(StreamState& st, bool& holds_timer) {
  if (!holds_timer) {
    holds_timer = true;
    ++st.waiters;
  }
  if (!st.armed && st.deadline != Stream::clock::time_point::max()) arm(st.shared_from_this());
}

error_code afterWait(StreamState& st, error_code ec) {
  if (st.timed_out) return boost::beast::error::timeout;
  return ec;
}

void finishOp(StreamState& st, bool holds_timer) {
  if (!holds_timer) return;
  if (--st.waiters == 0) disarm(st);
}

net::tcp::socket& socketOf(StreamState& st) { return st.socket; }

}  // namespace detail

Stream::Stream(net::tcp::socket socket, ssl::context& ctx) {
  SSL* ssl = SSL_new(ctx.native_handle());
  error_code ec;
  socket.non_blocking(true, ec);
  BIO* bio = ssl && !ec ? socketBio(static_cast<int>(socket.native_handle())) : nullptr;
  if (bio) {
    SSL_set_bio(ssl, bio, bio);  // one reference, for both directions
  } else if (ssl) {
    SSL_free(ssl);
    ssl = nullptr;
  }
  if (ssl) {
    // Partial writes: write_some semantics. Moving buffer: a retry may come
    // from a different copy of the same bytes. Release buffers: an idle
    // connection keeps no record buffers (the context sets it too; a client
    // context from elsewhere may not).
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                          SSL_MODE_RELEASE_BUFFERS);
  }
  ERR_clear_error();
  st_ = std::make_shared<detail::StreamState>(std::move(socket), ssl);
}

Stream::~Stream() {
  if (!st_) return;  // moved from
  error_code ignored;
  st_->socket.cancel(ignored);
  detail::disarm(*st_);
}

Stream::executor_type Stream::get_executor() noexcept { return st_->socket.get_executor(); }

net::tcp::socket& Stream::socket() noexcept { return st_->socket; }

SSL* Stream::native_handle() noexcept { return st_->ssl; }

bool Stream::setServerName(const std::string& name) {
  if (!st_->ssl) return false;
  bool ok = SSL_set_tlsext_host_name(st_->ssl, name.c_str()) == 1 &&
            SSL_set1_host(st_->ssl, name.c_str()) == 1;
  ERR_clear_error();
  return ok;
}

void Stream::setRole(Role role) {
  if (!st_->ssl) return;
  if (role == Role::server) SSL_set_accept_state(st_->ssl);
  else SSL_set_connect_state(st_->ssl);
}

void Stream::expiresAt(clock::time_point t) {
  st_->deadline = t;
  detail::disarm(*st_);
  if (st_->waiters > 0) detail::arm(st_);
}

void Stream::expiresNever() {
  st_->deadline = clock::time_point::max();
  detail::disarm(*st_);
}

}  // namespace rampart::tls
