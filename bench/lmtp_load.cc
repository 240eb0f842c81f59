// lmtp_load: an LMTP load generator, the one client used against every server
// the benchmark compares (Rampart, Dovecot), so that only the server differs.
//
//   lmtp_load --port P --rcpt user@domain [--rcpt ...] --messages N
//             --concurrency C --size BYTES [--host 127.0.0.1]
//
// Each of C connections sends LHLO once, then repeats: MAIL, RCPT..., DATA
// pipelined (RFC 2920, both servers advertise PIPELINING), the message, and
// waits for one reply per recipient (RFC 2033 4.2). Prints one line of
// key=value figures; exits non-zero if any delivery was not answered 250.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::vector<std::string> rcpts;
  long messages = 1000;
  int concurrency = 8;
  std::size_t size = 4096;
};

class Conn {
 public:
  explicit Conn(const Options& o) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(o.port));
    ::inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::perror("connect");
      std::exit(2);
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Conn() { ::close(fd_); }

  void send(const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::write(fd_, s.data() + off, s.size() - off);
      if (n <= 0) {
        std::perror("write");
        std::exit(2);
      }
      off += static_cast<std::size_t>(n);
    }
  }

  // Reads one complete (possibly multi-line) reply and returns its code.
  int reply() {
    while (true) {
      std::size_t pos;
      while ((pos = buf_.find("\r\n")) != std::string::npos) {
        std::string line = buf_.substr(0, pos);
        buf_.erase(0, pos + 2);
        if (line.size() >= 4 && line[3] == '-') continue;  // continuation line
        return line.size() >= 3 ? std::atoi(line.substr(0, 3).c_str()) : 0;
      }
      char tmp[4096];
      ssize_t n = ::read(fd_, tmp, sizeof tmp);
      if (n <= 0) {
        std::fprintf(stderr, "connection closed by server\n");
        std::exit(2);
      }
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  std::string buf_;
};

std::string makeMessage(std::size_t size, long n) {
  std::string m =
      "From: Load <load@bench.test>\r\nTo: Bench <bench@bench.test>\r\n"
      "Subject: benchmark message " + std::to_string(n) +
      "\r\nMessage-ID: <bench-" + std::to_string(n) + "@bench.test>\r\n"
      "Date: Tue, 24 Nov 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
  const std::string line = "The quick brown fox jumps over the lazy dog 0123456789 abcdefghij\r\n";
  while (m.size() + line.size() < size) m += line;
  return m + ".\r\n";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--host") o.host = v;
    else if (k == "--port") o.port = std::atoi(v.c_str());
    else if (k == "--rcpt") o.rcpts.push_back(v);
    else if (k == "--messages") o.messages = std::atol(v.c_str());
    else if (k == "--concurrency") o.concurrency = std::atoi(v.c_str());
    else if (k == "--size") o.size = static_cast<std::size_t>(std::atol(v.c_str()));
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.port == 0 || o.rcpts.empty()) {
    std::fprintf(stderr, "usage: lmtp_load --port P --rcpt ADDR [--messages N --concurrency C --size B]\n");
    return 2;
  }
  std::atomic<long> next{0}, ok{0}, bad{0};
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(o.concurrency));
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < o.concurrency; ++t) {
    threads.emplace_back([&, t] {
      Conn c(o);
      if (c.reply() != 220) std::exit(3);
      c.send("LHLO bench.test\r\n");
      if (c.reply() != 250) std::exit(3);
      std::string envelope = "MAIL FROM:<load@bench.test>\r\n";
      for (const auto& r : o.rcpts) envelope += "RCPT TO:<" + r + ">\r\n";
      envelope += "DATA\r\n";
      long n;
      while ((n = next.fetch_add(1)) < o.messages) {
        auto t0 = std::chrono::steady_clock::now();
        c.send(envelope);
        bool accepted = c.reply() == 250;
        for (std::size_t i = 0; i < o.rcpts.size(); ++i) accepted = (c.reply() == 250) && accepted;
        if (c.reply() != 354 || !accepted) {
          bad.fetch_add(1);
          c.send("RSET\r\n");
          c.reply();
          continue;
        }
        c.send(makeMessage(o.size, n));
        bool all = true;
        for (std::size_t i = 0; i < o.rcpts.size(); ++i) all = (c.reply() == 250) && all;
        (all ? ok : bad).fetch_add(1);
        latencies[static_cast<std::size_t>(t)].push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      c.send("QUIT\r\n");
    });
  }
  for (auto& th : threads) th.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[static_cast<std::size_t>(p * (all.size() - 1))]; };
  std::printf("delivered=%ld failed=%ld seconds=%.3f per_second=%.1f p50_ms=%.2f p99_ms=%.2f\n",
              ok.load(), bad.load(), secs, static_cast<double>(ok.load()) / secs, pct(0.5), pct(0.99));
  return bad.load() == 0 ? 0 : 1;
}
