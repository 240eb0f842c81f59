// https_load: the HTTP(S) client of bench/gateway_bench.sh. One thread, epoll,
// non-blocking OpenSSL (or plain TCP) connections, HTTP/1.1 without
// pipelining; the same client for Rampart's gateway and its peers.
//
//   https_load --port P [--host 127.0.0.1] [--sni localhost] [--path /]
//              [--auth "Basic ..."] [--connections N] [--duration S]
//              [--warmup S] [--rate R] [--new-conn 1] [--plain 1]
//              [--pids PID,PID...] [--body-file F --content-type T]
//
//   closed loop (no --rate): every connection sends its next request as soon
//     as the answer to the last one is read: the maximum rate.
//   open loop (--rate R): requests are due every 1/R s whatever the answers
//     do; a due request goes to an idle connection (or waits for one), and
//     its latency is counted from when it was due, so a stall is not hidden
//     (no coordinated omission).
//   --new-conn 1: each request on a fresh connection (full handshake: no
//     session is ever offered for resumption, tickets refused) with
//     "Connection: close"; the client closes once the answer is read.
//   --body-file F: POST the contents of F with --content-type T (EST
//     enrollment, OCSP requests) instead of GET.
//   --body-lines F: POST each line of F in turn (one body per line, e.g.
//     distinct base64 CSRs, so that no request repeats another).
//   --pids: CPU (utime+stime from /proc/PID/stat, all threads) of those
//     processes over the measured window, divided by the requests answered.
//
// Prints one line: RESULT requests=... seconds=... rate=... p50_us=...
// p90_us=... p99_us=... p999_us=... max_us=... errors=... cpu_us_per_req=...
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "https_load: %s\n", what.c_str());
  std::exit(2);
}

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string sni = "localhost";
  std::string path = "/";
  std::string auth;
  int connections = 16;
  double duration = 5;
  double warmup = 1;
  double rate = 0;  // 0: closed loop
  bool new_conn = false;
  bool plain = false;
  std::vector<int> pids;
  std::vector<std::string> bodies;  // non-empty: POST them, in turn
  std::string content_type = "application/octet-stream";
};

Options parseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--port") o.port = std::atoi(v.c_str());
    else if (k == "--host") o.host = v;
    else if (k == "--sni") o.sni = v;
    else if (k == "--path") o.path = v;
    else if (k == "--auth") o.auth = v;
    else if (k == "--connections") o.connections = std::atoi(v.c_str());
    else if (k == "--duration") o.duration = std::atof(v.c_str());
    else if (k == "--warmup") o.warmup = std::atof(v.c_str());
    else if (k == "--rate") o.rate = std::atof(v.c_str());
    else if (k == "--new-conn") o.new_conn = v == "1";
    else if (k == "--plain") o.plain = v == "1";
    else if (k == "--content-type") o.content_type = v;
    else if (k == "--body-file") {
      std::ifstream in(v, std::ios::binary);
      if (!in) die("cannot read " + v);
      o.bodies.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (o.bodies.back().empty()) die(v + " is empty");
    } else if (k == "--body-lines") {
      std::ifstream in(v, std::ios::binary);
      if (!in) die("cannot read " + v);
      for (std::string line; std::getline(in, line);) {
        if (!line.empty()) o.bodies.push_back(line);
      }
      if (o.bodies.empty()) die(v + " has no lines");
    }
    else if (k == "--pids") {
      std::stringstream s(v);
      std::string p;
      while (std::getline(s, p, ',')) {
        if (!p.empty()) o.pids.push_back(std::atoi(p.c_str()));
      }
    } else die("unknown option " + k + " (see bench/https_load.cc)");
  }
  if (o.port <= 0 || o.connections <= 0 || o.duration <= 0) die("need --port, --connections > 0, --duration > 0");
  return o;
}

// utime + stime of a process (every thread), in microseconds.
double cpuMicros(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) die("cannot read /proc/" + std::to_string(pid) + "/stat");
  std::istringstream s(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // Fields after the name start at 3 (state); utime is 14, stime 15.
  for (int i = 3; i <= 15 && s >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double cpuOf(const std::vector<int>& pids) {
  double sum = 0;
  for (int pid : pids) sum += cpuMicros(pid);
  return sum;
}

// ---- connections -------------------------------------------------------------

enum class State { connecting, handshake, idle, writing, reading, closed };

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  State state = State::closed;
  std::string out;
  std::size_t out_done = 0;
  std::string in;
  Clock::time_point due;  // when its current request was due (latency's start)
};

struct Stats {
  std::vector<double> latencies_us;
  long requests = 0;
  long errors = 0;
};

class Load {
 public:
  explicit Load(const Options& o) : o_(o) {
    ep_ = ::epoll_create1(0);
    if (!o_.plain) {
      ctx_ = SSL_CTX_new(TLS_client_method());
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
      SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
      SSL_CTX_set_options(ctx_, SSL_OP_NO_TICKET);
    }
    std::string head = (o_.bodies.empty() ? "GET " : "POST ") + o_.path + " HTTP/1.1\r\nHost: " + o_.sni +
                       "\r\nUser-Agent: https_load\r\n";
    if (!o_.auth.empty()) head += "Authorization: " + o_.auth + "\r\n";
    if (o_.new_conn) head += "Connection: close\r\n";
    if (o_.bodies.empty()) requests_.push_back(head + "\r\n");
    for (const std::string& body : o_.bodies) {
      requests_.push_back(head + "Content-Type: " + o_.content_type + "\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(o_.port));
    if (::inet_pton(AF_INET, o_.host.c_str(), &a.sin_addr) != 1) die("bad --host " + o_.host);
    addr_ = a;
    conns_.resize(static_cast<std::size_t>(o_.connections));
  }

  void run() {
    auto start = Clock::now();
    auto measure_from = start + toDuration(o_.warmup);
    auto end = measure_from + toDuration(o_.duration);
    for (std::size_t i = 0; i < conns_.size(); ++i) open(i);
    bool measuring = false;
    double cpu0 = 0;
    Clock::time_point t0;
    next_due_ = start;
    const auto interval = o_.rate > 0 ? toDuration(1.0 / o_.rate) : Clock::duration::zero();
    std::vector<epoll_event> events(1024);
    for (;;) {
      auto now = Clock::now();
      if (!measuring && now >= measure_from) {
        measuring = true;
        measuring_ = true;
        cpu0 = cpuOf(o_.pids);
        t0 = now;
        // Open loop: what was due during the warm-up is not counted.
        pending_.clear();
        if (o_.rate > 0) next_due_ = now;
      }
      if (now >= end) break;
      if (o_.rate > 0) {
        while (next_due_ <= now) {
          pending_.push_back(next_due_);
          next_due_ += interval;
        }
        dispatch();
      }
      timespec timeout{};
      auto wait_until = std::min(end, o_.rate > 0 ? next_due_ : end);
      if (!measuring) wait_until = std::min(wait_until, measure_from);
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait_until - now).count();
      if (ns < 0) ns = 0;
      timeout.tv_sec = ns / 1'000'000'000;
      timeout.tv_nsec = ns % 1'000'000'000;
      int n = ::epoll_pwait2(ep_, events.data(), static_cast<int>(events.size()), &timeout, nullptr);
      if (n < 0 && errno != EINTR) die(std::string("epoll_pwait2: ") + std::strerror(errno));
      for (int i = 0; i < n; ++i) drive(events[static_cast<std::size_t>(i)].data.u32);
      std::vector<std::size_t> again;
      again.swap(reopen_);
      for (std::size_t i : again) open(i);
    }
    double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    double cpu = cpuOf(o_.pids) - cpu0;
    auto& l = stats_.latencies_us;
    std::sort(l.begin(), l.end());
    auto pct = [&](double p) {
      if (l.empty()) return 0.0;
      return l[std::min(l.size() - 1, static_cast<std::size_t>(p * static_cast<double>(l.size())))];
    };
    if (!version_.empty()) std::printf("negotiated: %s\n", version_.c_str());
    std::printf(
        "RESULT requests=%ld seconds=%.2f rate=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f "
        "errors=%ld backlog=%zu cpu_us_per_req=%.2f\n",
        stats_.requests, seconds, static_cast<double>(stats_.requests) / seconds, pct(0.5), pct(0.9), pct(0.99),
        pct(0.999), l.empty() ? 0.0 : l.back(), stats_.errors, pending_.size(),
        stats_.requests > 0 && !o_.pids.empty() ? cpu / static_cast<double>(stats_.requests) : 0.0);
  }

 private:
  static Clock::duration toDuration(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  }

  void open(std::size_t i) {
    Conn& c = conns_[i];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) die(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
    if (rc < 0 && errno != EINPROGRESS) die(std::string("connect: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    if (!o_.plain) {
      c.ssl = SSL_new(ctx_);
      SSL_set_fd(c.ssl, c.fd);
      SSL_set_tlsext_host_name(c.ssl, o_.sni.c_str());
      SSL_set_connect_state(c.ssl);
    }
    c.state = State::connecting;
    c.in.clear();
    // Closed loop and one-request-per-connection: the request is due now.
    if (o_.rate == 0 || o_.new_conn) c.due = Clock::now();
    drive(static_cast<std::uint32_t>(i));
  }

  void closeConn(std::size_t i, bool error) {
    Conn& c = conns_[i];
    if (c.ssl) {
      if (!error) SSL_shutdown(c.ssl);  // close_notify, not waited for
      SSL_free(c.ssl);
      c.ssl = nullptr;
    }
    ::close(c.fd);
    c.fd = -1;
    c.state = State::closed;
    if (error && measuring_) ++stats_.errors;
  }

  // Open loop: due requests to idle connections, oldest first.
  void dispatch() {
    for (std::size_t i = 0; i < conns_.size() && !pending_.empty(); ++i) {
      if (conns_[i].state != State::idle) continue;
      conns_[i].due = pending_.front();
      pending_.pop_front();
      startRequest(i);
    }
  }

  void startRequest(std::size_t i) {
    Conn& c = conns_[i];
    c.out = nextRequest();
    c.out_done = 0;
    c.in.clear();
    c.state = State::writing;
    drive(static_cast<std::uint32_t>(i));
  }

  // Runs the connection's state machine until it must wait for the socket.
  void drive(std::uint32_t index) {
    std::size_t i = index;
    Conn& c = conns_[i];
    for (;;) {
      switch (c.state) {
        case State::closed:
          return;
        case State::connecting: {
          int err = 0;
          socklen_t len = sizeof err;
          ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err == EINPROGRESS || err == EALREADY) return;
          if (err != 0) return fail(i, std::string("connect: ") + std::strerror(err));
          // Still in progress when nothing is writable yet: poll says so.
          sockaddr_in peer{};
          socklen_t plen = sizeof peer;
          if (::getpeername(c.fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) return;
          c.state = o_.plain ? State::idle : State::handshake;
          break;
        }
        case State::handshake: {
          int rc = SSL_do_handshake(c.ssl);
          if (rc != 1) {
            int e = SSL_get_error(c.ssl, rc);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
            return fail(i, "handshake failed");
          }
          if (version_.empty()) {
            version_ = std::string(SSL_get_version(c.ssl)) + " " + SSL_get_cipher_name(c.ssl);
            int group = static_cast<int>(SSL_get_negotiated_group(c.ssl));
            if (group != 0) version_ += std::string(" ") + OBJ_nid2sn(group & ~TLSEXT_nid_unknown);
          }
          c.state = State::idle;
          break;
        }
        case State::idle:
          if (o_.rate == 0 || o_.new_conn) {
            if (o_.rate > 0 && o_.new_conn) die("--rate with --new-conn is not supported");
            c.out = nextRequest();
            c.out_done = 0;
            c.in.clear();
            c.state = State::writing;
            break;
          }
          if (!pending_.empty()) {
            c.due = pending_.front();
            pending_.pop_front();
            c.out = nextRequest();
            c.out_done = 0;
            c.in.clear();
            c.state = State::writing;
            break;
          }
          return;
        case State::writing: {
          const char* p = c.out.data() + c.out_done;
          int len = static_cast<int>(c.out.size() - c.out_done);
          long n;
          if (c.ssl) {
            n = SSL_write(c.ssl, p, len);
            if (n <= 0) {
              int e = SSL_get_error(c.ssl, static_cast<int>(n));
              if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
              return fail(i, "write failed");
            }
          } else {
            n = ::send(c.fd, p, static_cast<std::size_t>(len), MSG_NOSIGNAL);
            if (n < 0) {
              if (errno == EAGAIN) return;
              return fail(i, std::string("send: ") + std::strerror(errno));
            }
          }
          c.out_done += static_cast<std::size_t>(n);
          if (c.out_done == c.out.size()) c.state = State::reading;
          break;
        }
        case State::reading: {
          char buf[16384];
          long n;
          if (c.ssl) {
            n = SSL_read(c.ssl, buf, sizeof buf);
            if (n <= 0) {
              int e = SSL_get_error(c.ssl, static_cast<int>(n));
              if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
              return fail(i, "connection closed before the answer");
            }
          } else {
            n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n < 0 && errno == EAGAIN) return;
            if (n <= 0) return fail(i, "connection closed before the answer");
          }
          c.in.append(buf, static_cast<std::size_t>(n));
          int done = complete(c.in);
          if (done < 0) return fail(i, "bad answer: " + c.in.substr(0, 200));
          if (done == 0) break;
          failures_in_a_row_ = 0;
          if (measuring_) {
            ++stats_.requests;
            stats_.latencies_us.push_back(
                std::chrono::duration<double, std::micro>(Clock::now() - c.due).count());
            if (status_ != 200) ++stats_.errors;
          }
          if (status_ != 200 && !warned_) {
            warned_ = true;
            std::fprintf(stderr, "https_load: answer %d: %s\n", status_, c.in.substr(0, 300).c_str());
          }
          if (o_.new_conn) {
            closeConn(i, false);
            return open(i);
          }
          c.in.clear();
          c.state = State::idle;
          if (o_.rate == 0) c.due = Clock::now();
          break;
        }
      }
    }
  }

  // The connection is opened again from the main loop (not from here: a
  // refused connect would recurse).
  void fail(std::size_t i, const std::string& why) {
    if (errors_printed_++ < 5) std::fprintf(stderr, "https_load: %s\n", why.c_str());
    if (++failures_in_a_row_ > 1000) die("1000 failures in a row, the last: " + why);
    closeConn(i, true);
    reopen_.push_back(i);
  }

  // 1: a whole answer (status in status_), 0: more to read, -1: not HTTP.
  int complete(const std::string& in) {
    auto end = in.find("\r\n\r\n");
    if (end == std::string::npos) return in.size() > 65536 ? -1 : 0;
    if (in.compare(0, 9, "HTTP/1.1 ") != 0 && in.compare(0, 9, "HTTP/1.0 ") != 0) return -1;
    status_ = std::atoi(in.c_str() + 9);
    std::size_t body = end + 4;
    std::string head = in.substr(0, body);
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char ch) { return std::tolower(ch); });
    auto cl = head.find("\r\ncontent-length:");
    if (cl != std::string::npos) {
      std::size_t len = std::strtoul(head.c_str() + cl + 17, nullptr, 10);
      return in.size() >= body + len ? 1 : 0;
    }
    if (head.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
      std::size_t pos = body;
      for (;;) {
        auto eol = in.find("\r\n", pos);
        if (eol == std::string::npos) return 0;
        std::size_t size = std::strtoul(in.c_str() + pos, nullptr, 16);
        if (size == 0) return in.find("\r\n\r\n", eol) != std::string::npos ? 1 : 0;
        pos = eol + 2 + size + 2;
        if (pos > in.size()) return 0;
      }
    }
    return 1;  // no body (204/304 or a HEAD-like answer)
  }

  const Options& o_;
  int ep_ = -1;
  SSL_CTX* ctx_ = nullptr;
  sockaddr_in addr_{};
  const std::string& nextRequest() { return requests_[next_request_++ % requests_.size()]; }
  std::vector<std::string> requests_;
  std::size_t next_request_ = 0;
  std::vector<Conn> conns_;
  std::deque<Clock::time_point> pending_;
  Clock::time_point next_due_;
  Stats stats_;
  bool measuring_ = false;
  int status_ = 0;
  bool warned_ = false;
  int errors_printed_ = 0;
  int failures_in_a_row_ = 0;
  std::vector<std::size_t> reopen_;
  std::string version_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o = parseOptions(argc, argv);
  std::signal(SIGPIPE, SIG_IGN);
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  Load load(o);
  load.run();
  return 0;
}
