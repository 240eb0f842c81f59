// tls_park: user-space memory per parked TLS connection in http::Server.
//
//   tls_park [--connections N] [--warmup W] [--no-session-cache]
//
// The EAS Ping command parks a request for up to an hour on an otherwise idle
// TLS connection; thousands of devices do so at once. This opens W warm-up
// connections, then N more, each sending one request that the handler parks
// (a timer that never fires), and prints what the N cost the server process:
// RSS, the heap (mallinfo2), the part of it OpenSSL allocated
// (CRYPTO_set_mem_functions) and the part C++ `new` allocated, plus the
// allocation sizes that grew by about one (or more) per connection.
//
// The clients run in a forked child (blocking OpenSSL), so their memory is not
// counted. Kernel socket buffers are not user-space memory and are not counted.
#include <dlfcn.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"
#include "tls/context.h"
#include "tls/dev_pki.h"

namespace {

// ---- allocation accounting -------------------------------------------------

constexpr std::size_t kMaxTracked = 1 << 17;  // sizes above land in the last slot
std::array<std::atomic<long>, kMaxTracked + 1> g_new_by_size{};
std::array<std::atomic<long>, kMaxTracked + 1> g_ssl_by_size{};
std::atomic<long> g_new_bytes{0};
std::atomic<long> g_ssl_bytes{0};
std::array<std::atomic<void*>, kMaxTracked + 1> g_new_caller{};  // last caller per size
std::atomic<long> g_live_allocs{0};  // both kinds: their headers are not the program's

std::size_t slot(std::size_t n) { return n < kMaxTracked ? n : kMaxTracked; }

// OpenSSL's allocations carry a 16-byte header holding the requested size.
void* sslMalloc(std::size_t n, const char*, int) {
  auto* p = static_cast<std::size_t*>(std::malloc(n + 16));
  if (!p) return nullptr;
  *p = n;
  g_ssl_bytes += static_cast<long>(n);
  ++g_ssl_by_size[slot(n)];
  ++g_live_allocs;
  return reinterpret_cast<char*>(p) + 16;
}
void sslFree(void* ptr, const char*, int) {
  if (!ptr) return;
  auto* p = reinterpret_cast<std::size_t*>(static_cast<char*>(ptr) - 16);
  g_ssl_bytes -= static_cast<long>(*p);
  --g_ssl_by_size[slot(*p)];
  --g_live_allocs;
  std::free(p);
}
void* sslRealloc(void* ptr, std::size_t n, const char* f, int l) {
  if (!ptr) return sslMalloc(n, f, l);
  if (n == 0) {
    sslFree(ptr, f, l);
    return nullptr;
  }
  auto* old = reinterpret_cast<std::size_t*>(static_cast<char*>(ptr) - 16);
  std::size_t old_n = *old;
  auto* p = static_cast<std::size_t*>(std::realloc(old, n + 16));
  if (!p) return nullptr;
  *p = n;
  g_ssl_bytes += static_cast<long>(n) - static_cast<long>(old_n);
  --g_ssl_by_size[slot(old_n)];
  ++g_ssl_by_size[slot(n)];
  return reinterpret_cast<char*>(p) + 16;
}

// ---- the parked handler ----------------------------------------------------

std::atomic<long> g_parked{0};

rampart::net::Task<rampart::http::Response> park(rampart::http::Request& req) {
  namespace asio = boost::asio;
  ++g_parked;
  asio::steady_timer never(co_await asio::this_coro::executor,
                           std::chrono::steady_clock::time_point::max());
  boost::system::error_code ec;
  co_await never.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return rampart::http::textResponse(req, rampart::http::Status::ok, "late\n");
}

// ---- the clients (child process) -------------------------------------------

[[noreturn]] void runClients(int port, int warmup, int n, int ready_fd, int go_fd) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  std::vector<SSL*> conns;
  const char req[] = "POST /Microsoft-Server-ActiveSync?Cmd=Ping HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  auto open = [&](int count) {
    for (int i = 0; i < count; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port));
      ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::perror("connect");
        std::_Exit(2);
      }
      SSL* ssl = SSL_new(ctx);
      SSL_set_fd(ssl, fd);
      if (SSL_connect(ssl) != 1 || SSL_write(ssl, req, sizeof req - 1) <= 0) {
        std::fprintf(stderr, "client %d: TLS failed\n", i);
        std::_Exit(2);
      }
      conns.push_back(ssl);
    }
  };
  char c = 'r';
  open(warmup);
  if (::write(ready_fd, &c, 1) != 1) std::_Exit(2);
  if (::read(go_fd, &c, 1) != 1) std::_Exit(2);
  open(n);
  if (::write(ready_fd, &c, 1) != 1) std::_Exit(2);
  // Hold the connections until the parent is done measuring (it closes the pipe).
  (void)::read(go_fd, &c, 1);
  std::_Exit(0);
}

// ---- measuring -------------------------------------------------------------

struct Snapshot {
  long rss_kb = 0;
  long heap = 0;
  long ssl = 0;
  long cxx = 0;
  long allocs = 0;
  std::vector<long> ssl_sizes, new_sizes;
};

// Fills `s` in place: its tables are allocated (and touched) beforehand, so
// that they do not count as memory of the connections.
void snap(Snapshot& s) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::atol(line.c_str() + 6);
  }
  s.heap = static_cast<long>(mallinfo2().uordblks);
  s.ssl = g_ssl_bytes.load();
  s.cxx = g_new_bytes.load();
  s.allocs = g_live_allocs.load();
  for (std::size_t i = 0; i <= kMaxTracked; ++i) {
    s.ssl_sizes[i] = g_ssl_by_size[i].load();
    s.new_sizes[i] = g_new_by_size[i].load();
  }
}

void waitParked(long target) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (g_parked.load() < target) {
    if (std::chrono::steady_clock::now() > end) {
      std::fprintf(stderr, "only %ld of %ld requests parked\n", g_parked.load(), target);
      std::_Exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Let the last handshakes and reads settle (their composed operations end).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

// Where a C++ allocation of this size last came from, as "binary+offset" for
// addr2line -f -C -e <binary> <offset> (coroutine frames name their coroutine).
std::string callerOf(std::size_t size) {
  void* addr = g_new_caller[size].load();
  Dl_info info{};
  if (!addr || ::dladdr(addr, &info) == 0 || !info.dli_fname) return "?";
  char buf[64];
  std::snprintf(buf, sizeof buf, "+0x%zx",
                static_cast<std::size_t>(static_cast<char*>(addr) - static_cast<char*>(info.dli_fbase)));
  std::string name = info.dli_fname;
  return name.substr(name.rfind('/') + 1) + buf;
}

void printCallers(const std::vector<long>& before, const std::vector<long>& after, int n) {
  std::printf("  C++ allocation sites (size: binary+offset):\n");
  for (std::size_t i = 0; i < kMaxTracked; ++i) {
    long d = after[i] - before[i];
    if (d * 10 >= n * 9) std::printf("    %zu: %s\n", i, callerOf(i).c_str());
  }
}

void printSizes(const char* what, const std::vector<long>& before, const std::vector<long>& after,
                int n) {
  long total = 0;
  std::printf("  %s allocations live per connection (size x count):", what);
  for (std::size_t i = 0; i <= kMaxTracked; ++i) {
    long d = after[i] - before[i];
    if (d * 10 >= n * 9 || d * 10 <= -n * 9) {  // at least ~0.9 per connection
      double per = static_cast<double>(d) / n;
      std::printf(" %zu%sx%.2f", i, i == kMaxTracked ? "+" : "", per);
      total += static_cast<long>(static_cast<double>(i) * per);
    }
  }
  std::printf("  (= %ld B)\n", total);
}

}  // namespace

// C++ allocations, counted like OpenSSL's: a 16-byte header holds the size.
void* operator new(std::size_t n) {
  auto* p = static_cast<std::size_t*>(std::malloc(n + 16));
  if (!p) throw std::bad_alloc();
  *p = n;
  g_new_bytes += static_cast<long>(n);
  ++g_new_by_size[slot(n)];
  g_new_caller[slot(n)].store(__builtin_return_address(0), std::memory_order_relaxed);
  ++g_live_allocs;
  return reinterpret_cast<char*>(p) + 16;
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* ptr) noexcept {
  if (!ptr) return;
  auto* p = reinterpret_cast<std::size_t*>(static_cast<char*>(ptr) - 16);
  g_new_bytes -= static_cast<long>(*p);
  --g_new_by_size[slot(*p)];
  --g_live_allocs;
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { ::operator delete(p); }
void operator delete[](void* p) noexcept { ::operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { ::operator delete(p); }

int main(int argc, char** argv) {
  int n = 2000, warmup = 100;
  bool session_cache = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--connections" && i + 1 < argc) n = std::atoi(argv[++i]);
    else if (a == "--warmup" && i + 1 < argc) warmup = std::atoi(argv[++i]);
    else if (a == "--no-session-cache") session_cache = false;
    else {
      std::fprintf(stderr, "usage: tls_park [--connections N] [--warmup W] [--no-session-cache]\n");
      return 2;
    }
  }
  CRYPTO_set_mem_functions(sslMalloc, sslRealloc, sslFree);

  char dir_template[] = "/tmp/tls_park.XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (!dir) return 1;
  auto pki = rampart::tls::ensureDevPki(dir, {"localhost", "127.0.0.1"});
  if (!pki) {
    std::fprintf(stderr, "dev pki: %s\n", pki.error().message().c_str());
    return 1;
  }
  rampart::tls::ServerOptions so;
  so.cert_file = pki->server_cert;
  so.key_file = pki->server_key;
  auto tls = rampart::tls::ReloadableContext::create(so);
  if (!tls) return 1;
  if (!session_cache) {
    SSL_CTX* raw = (*tls)->current()->native_handle();
    SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(raw, 0);
  }

  boost::asio::io_context io(1);
  rampart::http::ServerOptions opt;
  opt.max_connections = static_cast<std::size_t>(n + warmup + 10);
  opt.header_timeout = std::chrono::hours(1);
  auto server = rampart::http::Server::bind(
      io.get_executor(), rampart::net::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0),
      opt, park, *tls);
  if (!server) {
    std::fprintf(stderr, "bind: %s\n", server.error().message().c_str());
    return 1;
  }
  int port = (*server)->localEndpoint().port();

  int ready[2], go[2];
  if (::pipe(ready) != 0 || ::pipe(go) != 0) return 1;
  pid_t child = ::fork();
  if (child == 0) {
    ::close(ready[0]);
    ::close(go[1]);
    runClients(port, warmup, n, ready[1], go[0]);
  }
  ::close(ready[1]);
  ::close(go[0]);

  (*server)->start();
  std::thread runner([&io] { io.run(); });
  char c;
  if (::read(ready[0], &c, 1) != 1) return 1;
  Snapshot before, after;
  for (Snapshot* s : {&before, &after}) {
    s->ssl_sizes.assign(kMaxTracked + 1, 0);
    s->new_sizes.assign(kMaxTracked + 1, 0);
  }
  waitParked(warmup);
  malloc_trim(0);
  snap(before);
  if (::write(go[1], "g", 1) != 1) return 1;
  if (::read(ready[0], &c, 1) != 1) return 1;
  waitParked(warmup + n);
  malloc_trim(0);
  snap(after);

  auto per = [n](long a, long b) { return static_cast<double>(a - b) / n; };
  std::printf("tls_park connections=%d session_cache=%s\n", n, session_cache ? "on" : "off");
  // The accounting headers (16 B per allocation) are taken out of the heap figure.
  double allocs = per(after.allocs, before.allocs);
  std::printf("  rss_per_conn=%.0f B  heap_per_conn=%.0f B  openssl_per_conn=%.0f B  "
              "cxx_new_per_conn=%.0f B  allocations_per_conn=%.1f\n",
              per(after.rss_kb * 1024, before.rss_kb * 1024),
              per(after.heap, before.heap) - 16 * allocs, per(after.ssl, before.ssl),
              per(after.cxx, before.cxx), allocs);
  printSizes("OpenSSL", before.ssl_sizes, after.ssl_sizes, n);
  printSizes("C++ new", before.new_sizes, after.new_sizes, n);
  if (std::getenv("TLS_PARK_SITES")) {
    printCallers(before.new_sizes, after.new_sizes, n);
    // Sizes seen less than once per connection that still add up (containers
    // that grow with the number of connections).
    std::printf("  other C++ sizes adding >= 16 B per connection:");
    for (std::size_t i = 0; i <= kMaxTracked; ++i) {
      long d = after.new_sizes[i] - before.new_sizes[i];
      if (d * 10 < n * 9 && d * static_cast<long>(i) >= 16L * n) {
        std::printf(" %zux%ld (%s)", i, d, callerOf(i).c_str());
      }
    }
    std::printf("\n");
  }
  std::fflush(stdout);

  ::close(go[1]);
  ::kill(child, SIGTERM);
  ::waitpid(child, nullptr, 0);
  std::string rm = std::string("rm -rf ") + dir;
  if (std::system(rm.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir);
  std::_Exit(0);
}
