// eas_load: an EAS load client for the Rampart server's own benchmarks
// (bench/eas_push.sh, bench/eas_initial_sync.sh). One thread, epoll, one
// non-blocking OpenSSL connection per device; request bodies are built and
// answers parsed with the device library (src/device/protocol.h) and the
// Provision codec, so the client speaks the same EAS a phone does.
//
//   eas_load setup --port P --ca FILE --users FILE --devices N --state FILE
//                  [--concurrency C]
//     Each device (DeviceId benchdev<i>, user i mod U from FILE's "name password"
//     lines) on its own TLS connection: Provision phase 1 and 2 (the key sent
//     as X-MS-PolicyKey from then on), FolderSync 0, Sync 0 of Inbox, Sync
//     until current. Writes "i policy_key inbox_id sync_key" per device.
//
//   eas_load park --port P --ca FILE --users FILE --state FILE --server-pid PID
//                 --warmup W [--concurrency C] [--lmtp-port L --domain D
//                 --deliveries K --gap-ms G]
//     Parks W Pings (warm-up), measures the server, parks the other devices'
//     Pings (each its own TLS connection, HeartbeatInterval 3000, Inbox), and
//     measures again: the difference per parked Ping. Then, with every Ping
//     parked, K LMTP deliveries, one user at a time (user k mod U): for each,
//     the time from the LMTP 250 to every woken Ping's answer at the client.
//     A woken device Syncs and Pings again on its connection, as a phone does.
//
//   eas_load sync --port P --ca FILE --user NAME --password PW --server-pid PID
//                 [--window 512]
//     A fresh device's initial sync of Inbox: Sync 0, then Sync while
//     MoreAvailable; prints items, seconds, items/s and the server's RSS
//     (sampled every 20 ms) and VmHWM before and after.
//
//   eas_load floor --db FILE --folder ID
//     The floor for the same work: one scan of the rows Sync reads for every
//     item of the folder (its change log, the item rows, the stored summary
//     and the message bytes the body preview is cut from), from the SQLite file.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sqlite3.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "codec/eas/provision.h"
#include "codec/wbxml/reader.h"
#include "device/protocol.h"
#include "device/transport.h"

namespace {

namespace dev = rampart::device;
namespace eas = rampart::eas;
using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "eas_load: %s\n", what.c_str());
  std::exit(2);
}

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// ---- options -----------------------------------------------------------------

struct Options {
  std::string mode;
  int port = 0;
  std::string ca;
  std::string users_file;
  std::string state_file;
  int devices = 0;
  int concurrency = 100;
  int server_pid = 0;
  int warmup = 500;
  int lmtp_port = 0;
  std::string domain = "example.test";
  int deliveries = 0;
  int gap_ms = 100;
  std::string user, password;
  int window = 512;
  int truncation = 256;
  bool no_bytes = false;
  std::string db;
  long folder = 0;
};

Options parseOptions(int argc, char** argv) {
  if (argc < 2) die("usage: eas_load setup|park|sync|floor [options] (see bench/eas_load.cc)");
  Options o;
  o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--port") o.port = std::atoi(v.c_str());
    else if (k == "--ca") o.ca = v;
    else if (k == "--users") o.users_file = v;
    else if (k == "--state") o.state_file = v;
    else if (k == "--devices") o.devices = std::atoi(v.c_str());
    else if (k == "--concurrency") o.concurrency = std::atoi(v.c_str());
    else if (k == "--server-pid") o.server_pid = std::atoi(v.c_str());
    else if (k == "--warmup") o.warmup = std::atoi(v.c_str());
    else if (k == "--lmtp-port") o.lmtp_port = std::atoi(v.c_str());
    else if (k == "--domain") o.domain = v;
    else if (k == "--deliveries") o.deliveries = std::atoi(v.c_str());
    else if (k == "--gap-ms") o.gap_ms = std::atoi(v.c_str());
    else if (k == "--user") o.user = v;
    else if (k == "--password") o.password = v;
    else if (k == "--window") o.window = std::atoi(v.c_str());
    else if (k == "--truncation") o.truncation = std::atoi(v.c_str());
    else if (k == "--no-bytes") o.no_bytes = v == "1";
    else if (k == "--db") o.db = v;
    else if (k == "--folder") o.folder = std::atol(v.c_str());
    else die("unknown option " + k);
  }
  return o;
}

void raiseFileLimit() {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
}

// ---- the server's memory -----------------------------------------------------

struct Mem {
  long rss_kb = 0, anon_kb = 0, hwm_kb = 0, private_dirty_kb = 0, anonymous_kb = 0;
};

long field(const std::string& path, const char* name) {
  std::ifstream in(path);
  std::string line;
  std::size_t n = std::strlen(name);
  while (std::getline(in, line)) {
    if (line.compare(0, n, name) == 0) return std::atol(line.c_str() + n);
  }
  return -1;
}

Mem serverMem(int pid) {
  std::string base = "/proc/" + std::to_string(pid);
  Mem m;
  m.rss_kb = field(base + "/status", "VmRSS:");
  m.anon_kb = field(base + "/status", "RssAnon:");
  m.hwm_kb = field(base + "/status", "VmHWM:");
  m.private_dirty_kb = field(base + "/smaps_rollup", "Private_Dirty:");
  m.anonymous_kb = field(base + "/smaps_rollup", "Anonymous:");
  return m;
}

// ---- devices -----------------------------------------------------------------

struct User {
  std::string name, auth;  // auth: the Authorization header value
};

std::vector<User> readUsers(const std::string& path) {
  std::ifstream in(path);
  std::vector<User> users;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    std::string name, pw;
    s >> name >> pw;
    if (!pw.empty()) users.push_back({name, dev::basicAuth(name, pw)});
  }
  if (users.empty()) die("no users in " + path);
  return users;
}

enum class Step { prov1, prov2, folder_sync, sync0, sync, ping, wake_sync, done };

struct Conn;

struct Device {
  int index = 0;
  const User* user = nullptr;
  std::string id;
  std::string policy_key;  // empty: none sent
  std::string inbox;
  std::string sync_key;
  Step step = Step::prov1;
  Conn* conn = nullptr;
  // sync mode
  long items = 0;
};

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  bool connected = false;
  bool want_write = false;
  std::string out;
  std::size_t out_off = 0;
  std::string in;
  Device* dev = nullptr;
  bool request_sent = false;
};

std::string commandRequest(const Device& d, std::string_view cmd, const dev::Bytes& body) {
  std::string r = "POST /Microsoft-Server-ActiveSync?Cmd=";
  r += cmd;
  r += "&User=" + d.user->name + "&DeviceId=" + d.id + "&DeviceType=BenchPhone HTTP/1.1\r\n";
  r += "Host: localhost\r\nAuthorization: " + d.user->auth + "\r\n";
  r += "Content-Type: application/vnd.ms-sync.wbxml\r\nMS-ASProtocolVersion: 16.1\r\n";
  r += "User-Agent: rampart-eas-load\r\n";
  if (!d.policy_key.empty()) r += "X-MS-PolicyKey: " + d.policy_key + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  r.append(body.begin(), body.end());
  return r;
}

template <class T>
T must(rampart::Result<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().message());
  return std::move(*r);
}

dev::Bytes provisionBody(std::optional<std::uint32_t> ack_key) {
  eas::ProvisionRequest req;
  if (ack_key) {
    req.policy = eas::PolicyRequest{std::string(eas::kEasPolicyType), *ack_key,
                                    static_cast<std::uint8_t>(eas::PolicyAckStatus::success)};
  } else {
    eas::DeviceInformation info;
    info.model = "Bench Phone";
    info.user_agent = "rampart-eas-load";
    req.device_information = info;
    req.policy = eas::PolicyRequest{std::string(eas::kEasPolicyType), std::nullopt, std::nullopt};
  }
  return must(eas::encodeProvisionRequest(req, "16.1"), "Provision request");
}

std::uint32_t g_truncation = 256;  // BodyPreference TruncationSize (plain text)

dev::Bytes syncBody(const Device& d, std::uint32_t window) {
  dev::SyncRequest s;
  s.truncation = g_truncation;
  s.collection_id = d.inbox;
  s.sync_key = d.sync_key;
  s.window_size = window;
  s.with_options = d.sync_key != "0";
  return must(dev::buildSync(s), "Sync request");
}

dev::Bytes pingBody(const Device& d) {
  return must(dev::buildPing(3000, {dev::PingFolder{d.inbox, "Email"}}), "Ping request");
}

// ---- the event loop ----------------------------------------------------------

struct Response {
  int status = 0;
  std::string body;
};

// One complete HTTP/1.1 response at the front of `in` (Content-Length framed,
// as the server's responses are), removed from it; nullopt when incomplete.
std::optional<Response> takeResponse(std::string& in) {
  std::size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  Response r;
  if (in.compare(0, 9, "HTTP/1.1 ") != 0) die("bad response line: " + in.substr(0, 40));
  r.status = std::atoi(in.c_str() + 9);
  std::size_t length = 0;
  std::size_t pos = in.find("\r\n") + 2;
  while (pos < end) {
    std::size_t eol = in.find("\r\n", pos);
    std::string_view line(in.data() + pos, eol - pos);
    if (line.size() > 15 && strncasecmp(line.data(), "content-length:", 15) == 0) {
      length = static_cast<std::size_t>(std::atol(std::string(line.substr(15)).c_str()));
    }
    pos = eol + 2;
  }
  if (in.size() < end + 4 + length) return std::nullopt;
  r.body = in.substr(end + 4, length);
  in.erase(0, end + 4 + length);
  return r;
}

class Loop {
 public:
  explicit Loop(const Options& o) : o_(o) {
    ep_ = ::epoll_create1(0);
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!o.ca.empty()) {
      if (SSL_CTX_load_verify_locations(ctx_, o.ca.c_str(), nullptr) != 1) die("cannot load " + o.ca);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    }
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);  // every phone its own handshake
  }

  // Called on every complete response; return the next request's bytes, or
  // empty to leave the connection idle (parked, or done: see close()).
  std::function<std::string(Device&, Response&)> on_response;
  std::function<void(Device&)> on_request_sent;

  int open(Device& d, std::string first_request) {
    auto* c = new Conn;
    c->dev = &d;
    d.conn = c;
    c->fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) die(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(o_.port));
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (::connect(c->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
      die(std::string("connect: ") + std::strerror(errno));
    }
    c->ssl = SSL_new(ctx_);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    SSL_set1_host(c->ssl, "localhost");
    SSL_set_connect_state(c->ssl);
    c->out = std::move(first_request);
    c->want_write = true;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = c;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, c->fd, &ev);
    ++open_;
    ++unsent_;
    return c->fd;
  }

  void close(Device& d) {
    Conn* c = d.conn;
    if (!c) return;
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, c->fd, nullptr);
    SSL_free(c->ssl);
    ::close(c->fd);
    if (!c->request_sent) --unsent_;
    delete c;
    d.conn = nullptr;
    --open_;
  }

  void send(Device& d, std::string bytes) {
    Conn* c = d.conn;
    c->out = std::move(bytes);
    c->out_off = 0;
    c->request_sent = false;
    ++unsent_;
    drive(c);
  }

  // Runs events for `ms` milliseconds; with 0, one wait of at most 20 ms
  // that returns as soon as something happened (no busy loop: the server
  // shares the machine's cores with this client).
  void run(int ms) {
    auto until = Clock::now() + std::chrono::milliseconds(ms);
    do {
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count());
      epoll_event evs[256];
      int n = ::epoll_wait(ep_, evs, 256, std::clamp(left, 1, 20));
      for (int i = 0; i < n; ++i) drive(static_cast<Conn*>(evs[i].data.ptr));
      if (tick) tick();
    } while (Clock::now() < until);
  }

  int open_count() const { return open_; }
  int unsent() const { return unsent_; }
  std::function<void()> tick;

 private:
  void setWrite(Conn* c, bool w) {
    if (c->want_write == w) return;
    c->want_write = w;
    epoll_event ev{};
    ev.events = EPOLLIN | (w ? EPOLLOUT : 0u);
    ev.data.ptr = c;
    ::epoll_ctl(ep_, EPOLL_CTL_MOD, c->fd, &ev);
  }

  bool handle(Conn* c, int r, const char* what) {  // false: stop driving now
    int err = SSL_get_error(c->ssl, r);
    if (err == SSL_ERROR_WANT_READ) {
      setWrite(c, false);
      return false;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
      setWrite(c, true);
      return false;
    }
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    die(std::string(what) + " failed on device " + c->dev->id + ": " + buf + " (ssl error " +
        std::to_string(err) + ", errno " + std::strerror(errno) + ")");
  }

  void drive(Conn* c) {
    if (!c->connected) {
      int r = SSL_do_handshake(c->ssl);
      if (r != 1) {
        handle(c, r, "TLS handshake");
        return;
      }
      c->connected = true;
      setWrite(c, true);
    }
    while (true) {
      while (c->out_off < c->out.size()) {
        int r = SSL_write(c->ssl, c->out.data() + c->out_off, static_cast<int>(c->out.size() - c->out_off));
        if (r <= 0) {
          if (!handle(c, r, "write")) return;
        } else {
          c->out_off += static_cast<std::size_t>(r);
        }
      }
      if (!c->out.empty()) {
        c->out.clear();
        c->out_off = 0;
        c->request_sent = true;
        --unsent_;
        setWrite(c, false);
        if (on_request_sent) on_request_sent(*c->dev);
      }
      char buf[16384];
      int r = SSL_read(c->ssl, buf, sizeof buf);
      if (r <= 0) {
        int err = SSL_get_error(c->ssl, r);
        if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
          die("server closed the connection of device " + c->dev->id);
        }
        handle(c, r, "read");
        return;
      }
      c->in.append(buf, static_cast<std::size_t>(r));
      while (auto resp = takeResponse(c->in)) {
        Device& d = *c->dev;
        std::string next = on_response(d, *resp);
        if (!d.conn) return;  // closed by the handler
        if (!next.empty()) {
          c->out = std::move(next);
          c->out_off = 0;
          c->request_sent = false;
          ++unsent_;
        }
      }
    }
  }

  const Options& o_;
  int ep_ = -1;
  SSL_CTX* ctx_ = nullptr;
  int open_ = 0;
  int unsent_ = 0;
};

rampart::wbxml::Document decodeBody(const Device& d, const Response& r, const char* what) {
  if (r.status != 200) {
    die(std::string(what) + " of device " + d.id + ": HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200));
  }
  auto doc = rampart::wbxml::decode(
      std::span(reinterpret_cast<const std::uint8_t*>(r.body.data()), r.body.size()));
  if (!doc) die(std::string(what) + " of device " + d.id + ": " + doc.error().message());
  return std::move(*doc);
}

// The setup steps every device goes through (Provision .. Sync current).
// Returns the next request, or empty once the device is current.
std::string setupStep(Device& d, Response& r, std::uint32_t window) {
  switch (d.step) {
    case Step::prov1:
    case Step::prov2: {
      auto doc = decodeBody(d, r, "Provision");
      auto res = must(eas::decodeProvisionResponse(doc), "Provision response");
      if (res.status != 1 || !res.policy || res.policy->status != 1 || !res.policy->policy_key) {
        die("Provision of " + d.id + ": unexpected status");
      }
      if (d.step == Step::prov1) {
        d.step = Step::prov2;
        return commandRequest(d, "Provision", provisionBody(*res.policy->policy_key));
      }
      d.policy_key = std::to_string(*res.policy->policy_key);
      d.step = Step::folder_sync;
      return commandRequest(d, "FolderSync", must(dev::buildFolderSync("0"), "FolderSync"));
    }
    case Step::folder_sync: {
      auto doc = decodeBody(d, r, "FolderSync");
      auto fs = must(dev::parseFolderSync(doc), "FolderSync response");
      if (fs.status != 1) die("FolderSync of " + d.id + ": Status " + std::to_string(fs.status));
      for (const auto& f : fs.adds) {
        if (f.type == 2) d.inbox = f.server_id;
      }
      if (d.inbox.empty()) die("no Inbox for " + d.id);
      d.step = Step::sync0;
      d.sync_key = "0";
      return commandRequest(d, "Sync", syncBody(d, window));
    }
    case Step::sync0:
    case Step::sync:
    case Step::wake_sync: {
      // An empty 200 answer: nothing changed, the sync key stays (MS-ASCMD 2.2.1.21).
      if (r.status == 200 && r.body.empty() && d.step != Step::sync0) return {};
      auto doc = decodeBody(d, r, "Sync");
      auto s = must(dev::parseSync(doc), "Sync response");
      if (s.empty) return {};  // nothing changed
      if (s.status != 1) die("Sync of " + d.id + ": Status " + std::to_string(s.status));
      d.sync_key = s.sync_key;
      d.items += static_cast<long>(s.items.size());
      if (d.step == Step::sync0 || s.more_available) {
        if (d.step == Step::sync0) d.step = Step::sync;
        return commandRequest(d, "Sync", syncBody(d, window));
      }
      return {};
    }
    default:
      die("unexpected response in setup");
  }
}

// ---- setup -------------------------------------------------------------------

int runSetup(const Options& o) {
  auto users = readUsers(o.users_file);
  std::vector<Device> devices(static_cast<std::size_t>(o.devices));
  Loop loop(o);
  int next = 0, done = 0;
  auto start = Clock::now();
  loop.on_response = [&](Device& d, Response& r) -> std::string {
    std::string req = setupStep(d, r, 512);
    if (req.empty()) {
      d.step = Step::done;
      loop.close(d);
      ++done;
    }
    return req;
  };
  for (int i = 0; i < o.devices; ++i) {
    devices[i].index = i;
    devices[i].user = &users[static_cast<std::size_t>(i) % users.size()];
    devices[i].id = "benchdev" + std::to_string(i);
  }
  while (done < o.devices) {
    while (next < o.devices && loop.open_count() < o.concurrency) {
      Device& d = devices[static_cast<std::size_t>(next++)];
      loop.open(d, commandRequest(d, "Provision", provisionBody(std::nullopt)));
    }
    loop.run(0);
  }
  double secs = secondsSince(start);
  std::ofstream out(o.state_file, std::ios::trunc);
  for (const Device& d : devices) out << d.index << ' ' << d.policy_key << ' ' << d.inbox << ' ' << d.sync_key << '\n';
  std::printf("setup: devices=%d users=%zu seconds=%.1f requests_per_second=%.0f\n", o.devices, users.size(), secs,
              o.devices * 6 / secs);
  return 0;
}

// ---- park + push latency -------------------------------------------------------

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

class Lmtp {
 public:
  explicit Lmtp(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("LMTP connect");
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    expect(220);
    send("LHLO bench.test\r\n");
    expect(250);
  }
  // Delivers one message to `rcpt`; returns when the 250 for it has arrived.
  // `sent` is when the message's final "." went out (before the server's commit).
  void deliver(const std::string& rcpt, int n, Clock::time_point& sent) {
    send("MAIL FROM:<push@bench.test>\r\nRCPT TO:<" + rcpt + ">\r\nDATA\r\n");
    expect(250);
    expect(250);
    expect(354);
    std::string m = "From: Push <push@bench.test>\r\nTo: <" + rcpt + ">\r\nSubject: push " + std::to_string(n) +
                    "\r\nMessage-ID: <push-" + std::to_string(n) + "-" + std::to_string(::getpid()) +
                    "@bench.test>\r\nDate: Tue, 24 Nov 2026 12:00:00 +0000\r\n\r\n";
    for (int i = 0; i < 30; ++i) m += "The quick brown fox jumps over the lazy dog 0123456789\r\n";
    send(m + ".\r\n");
    sent = Clock::now();
    expect(250);
  }

 private:
  void send(const std::string& s) {
    if (::write(fd_, s.data(), s.size()) != static_cast<ssize_t>(s.size())) die("LMTP write");
  }
  void expect(int code) {
    while (true) {
      std::size_t pos = buf_.find("\r\n");
      if (pos != std::string::npos) {
        std::string line = buf_.substr(0, pos);
        buf_.erase(0, pos + 2);
        if (line.size() >= 4 && line[3] == '-') continue;
        if (std::atoi(line.c_str()) != code) die("LMTP: expected " + std::to_string(code) + ", got " + line);
        return;
      }
      char tmp[4096];
      ssize_t n = ::read(fd_, tmp, sizeof tmp);
      if (n <= 0) die("LMTP closed");
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }
  int fd_ = -1;
  std::string buf_;
};

// CPU ticks (user + system) the process has used.
long cpuTicks(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream s(stat.substr(stat.rfind(')') + 2));
  std::string f;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && (s >> f); ++i) {
    if (i == 14) utime = std::atol(f.c_str());
    if (i == 15) stime = std::atol(f.c_str());
  }
  return utime + stime;
}

void printMem(const char* label, const Mem& m) {
  std::printf("%s: VmRSS=%ld kB RssAnon=%ld kB Private_Dirty=%ld kB Anonymous=%ld kB\n", label, m.rss_kb, m.anon_kb,
              m.private_dirty_kb, m.anonymous_kb);
}

int runPark(const Options& o) {
  auto users = readUsers(o.users_file);
  std::vector<Device> devices;
  {
    std::ifstream in(o.state_file);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream s(line);
      Device d;
      s >> d.index >> d.policy_key >> d.inbox >> d.sync_key;
      d.user = &users[static_cast<std::size_t>(d.index) % users.size()];
      d.id = "benchdev" + std::to_string(d.index);
      devices.push_back(d);
    }
  }
  const int total = static_cast<int>(devices.size());
  if (o.warmup >= total) die("--warmup must be below the number of devices");
  Loop loop(o);
  // Answers while parking are errors (a parked Ping answers nothing); during
  // the push phase a Ping answer is a wake.
  bool pushing = false;
  int early_answers = 0;
  std::vector<double> latencies;     // ms, all wakes
  Clock::time_point t250{}, tsent{};
  std::vector<double> from_sent;  // ms from the message's end, an upper bound
  std::vector<double> commits;    // ms from the message's end to the 250
  int wakes_this = 0, reparked = 0;
  std::vector<int> wakes_per_delivery;
  loop.on_response = [&](Device& d, Response& r) -> std::string {
    if (d.step == Step::ping) {
      auto doc = decodeBody(d, r, "Ping");
      auto p = must(dev::parsePing(doc), "Ping response");
      if (!pushing) {
        ++early_answers;
        std::fprintf(stderr, "Ping of %s answered while parking: Status %d\n", d.id.c_str(), p.status);
        d.step = Step::done;
        return {};
      }
      if (p.status != 2) die("Ping of " + d.id + " woke with Status " + std::to_string(p.status));
      auto now = Clock::now();
      latencies.push_back(std::chrono::duration<double, std::milli>(now - t250).count());
      from_sent.push_back(std::chrono::duration<double, std::milli>(now - tsent).count());
      ++wakes_this;
      d.step = Step::wake_sync;
      return commandRequest(d, "Sync", syncBody(d, 512));
    }
    if (d.step == Step::wake_sync) {
      std::string more = setupStep(d, r, 512);
      if (!more.empty()) return more;
      d.step = Step::ping;
      ++reparked;
      return commandRequest(d, "Ping", pingBody(d));
    }
    die("unexpected response for " + d.id);
  };
  // Until the server has been idle (under 2 ticks of CPU in half a second).
  auto waitIdle = [&] {
    for (int i = 0; i < 240; ++i) {
      long t = cpuTicks(o.server_pid);
      loop.run(500);
      if (cpuTicks(o.server_pid) - t < 2) return;
    }
  };
  auto parkRange = [&](int from, int to) {
    int next = from;
    while (next < to || loop.unsent() > 0) {
      while (next < to && loop.unsent() < o.concurrency) {
        Device& d = devices[static_cast<std::size_t>(next++)];
        d.step = Step::ping;
        loop.open(d, commandRequest(d, "Ping", pingBody(d)));
      }
      loop.run(0);
    }
    loop.run(1000);  // let the server finish reading and parking them
    waitIdle();
  };
  auto start = Clock::now();
  // Each user's first request costs the server an Argon2id hash (64 MiB);
  // the credential cache does not merge concurrent misses of one user, so
  // the first request of every user goes alone (a Sync at the current key)
  // before any Ping, and those hashes are not counted as parked Pings.
  bool warming = true;
  int warm_answers = 0;
  auto parkResponse = std::move(loop.on_response);
  loop.on_response = [&](Device& d, Response& r) -> std::string {
    if (!warming) return parkResponse(d, r);
    if (!setupStep(d, r, 512).empty()) die("device " + d.id + " was not current after setup");
    ++warm_answers;
    return {};
  };
  for (std::size_t u = 0; u < users.size() && u < devices.size(); ++u) {
    Device& d = devices[u];
    d.step = Step::wake_sync;
    loop.open(d, commandRequest(d, "Sync", syncBody(d, 512)));
    while (warm_answers <= static_cast<int>(u)) loop.run(0);
    loop.close(d);
  }
  warming = false;
  std::printf("authenticated %zu users one at a time in %.1f s\n", users.size(), secondsSince(start));
  start = Clock::now();
  parkRange(0, o.warmup);
  Mem before = serverMem(o.server_pid);
  parkRange(o.warmup, total);
  Mem after = serverMem(o.server_pid);
  int n = total - o.warmup;
  std::printf("parked: %d Pings (%d warm-up + %d measured), each its own TLS connection, in %.1f s\n", total - early_answers,
              o.warmup, n, secondsSince(start));
  printMem("server before", before);
  printMem("server after ", after);
  auto per = [&](long a, long b) { return static_cast<double>(b - a) * 1024.0 / n; };
  std::printf("per parked Ping: VmRSS=%.0f B RssAnon=%.0f B Private_Dirty=%.0f B Anonymous=%.0f B\n",
              per(before.rss_kb, after.rss_kb), per(before.anon_kb, after.anon_kb),
              per(before.private_dirty_kb, after.private_dirty_kb), per(before.anonymous_kb, after.anonymous_kb));
  std::printf("RESULT per_ping_rss=%.0f per_ping_private_dirty=%.0f early_answers=%d\n", per(before.rss_kb, after.rss_kb),
              per(before.private_dirty_kb, after.private_dirty_kb), early_answers);
  std::fflush(stdout);
  if (early_answers > 0) die("some Pings were answered instead of parked");

  if (o.deliveries <= 0 || o.lmtp_port == 0) return 0;
  // ---- push latency ----
  std::vector<int> per_user(users.size(), 0);
  for (const Device& d : devices) ++per_user[static_cast<std::size_t>(d.index) % users.size()];
  Lmtp lmtp(o.lmtp_port);
  pushing = true;
  for (int k = 0; k < o.deliveries; ++k) {
    std::size_t u = static_cast<std::size_t>(k) % users.size();
    wakes_this = 0;
    reparked = 0;
    lmtp.deliver(users[u].name + "@" + o.domain, k, tsent);
    t250 = Clock::now();
    commits.push_back(std::chrono::duration<double, std::milli>(t250 - tsent).count());
    auto limit = t250 + std::chrono::seconds(10);
    while ((wakes_this < per_user[u] || reparked < per_user[u] || loop.unsent() > 0) && Clock::now() < limit) {
      loop.run(0);
    }
    if (wakes_this < per_user[u]) {
      std::fprintf(stderr, "delivery %d to %s woke %d of %d Pings in 10 s\n", k, users[u].name.c_str(), wakes_this,
                   per_user[u]);
    }
    wakes_per_delivery.push_back(wakes_this);
    loop.run(o.gap_ms);  // the re-issued Pings park
  }
  int lo = *std::min_element(wakes_per_delivery.begin(), wakes_per_delivery.end());
  int hi = *std::max_element(wakes_per_delivery.begin(), wakes_per_delivery.end());
  std::printf("push: %d deliveries, one user each, woke %d..%d Pings each (%zu wakes) with %d parked\n", o.deliveries,
              lo, hi, latencies.size(), total);
  std::printf("push latency LMTP 250 -> Ping answer at the client: p50=%.2f ms p99=%.2f ms max=%.2f ms\n",
              percentile(latencies, 0.5), percentile(latencies, 0.99), percentile(latencies, 1.0));
  std::printf("  from the message's end (includes the LMTP commit, 250 took p50=%.2f p99=%.2f ms): p50=%.2f ms p99=%.2f ms max=%.2f ms\n",
              percentile(commits, 0.5), percentile(commits, 0.99), percentile(from_sent, 0.5),
              percentile(from_sent, 0.99), percentile(from_sent, 1.0));
  std::printf("RESULT push_p50_ms=%.2f push_p99_ms=%.2f push_max_ms=%.2f wakes=%zu\n", percentile(latencies, 0.5),
              percentile(latencies, 0.99), percentile(latencies, 1.0), latencies.size());
  return 0;
}

// ---- initial sync ---------------------------------------------------------------

int runSync(const Options& o) {
  User user{o.user, dev::basicAuth(o.user, o.password)};
  Device d;
  d.user = &user;
  d.id = "syncdev" + std::to_string(::getpid());
  Loop loop(o);
  bool finished = false;
  Clock::time_point sync_start{};
  int requests = 0;
  Mem before{};
  long peak_rss = 0;
  loop.on_response = [&](Device& dv, Response& r) -> std::string {
    if (dv.step == Step::folder_sync) {
      // Provisioned and authenticated (the first login's Argon2id hash takes
      // 64 MiB for a moment): reset the server's VmHWM (proc(5) clear_refs
      // "5") and start measuring here.
      std::ofstream("/proc/" + std::to_string(o.server_pid) + "/clear_refs") << "5";
      before = serverMem(o.server_pid);
      peak_rss = before.rss_kb;
      sync_start = Clock::now();
    }
    if (dv.step == Step::sync0 || dv.step == Step::sync) ++requests;
    std::string next = setupStep(dv, r, static_cast<std::uint32_t>(o.window));
    if (next.empty()) finished = true;
    return next;
  };
  Mem at_start = serverMem(o.server_pid);
  Clock::time_point sampled{};
  loop.tick = [&] {
    if (Clock::now() - sampled < std::chrono::milliseconds(20)) return;
    sampled = Clock::now();
    peak_rss = std::max(peak_rss, serverMem(o.server_pid).rss_kb);
  };
  loop.open(d, commandRequest(d, "Provision", provisionBody(std::nullopt)));
  while (!finished) loop.run(0);
  double secs = secondsSince(sync_start);
  Mem after = serverMem(o.server_pid);
  std::printf("initial sync: folder=%s items=%ld requests=%d window=%d truncation=%d seconds=%.2f items_per_second=%.0f\n",
              d.inbox.c_str(), d.items, requests, o.window, o.truncation, secs, d.items / secs);
  std::printf("server at start: VmRSS=%ld kB VmHWM=%ld kB (before the first login)\n", at_start.rss_kb, at_start.hwm_kb);
  std::printf("server RSS: before=%ld kB sampled_peak=%ld kB after=%ld kB; VmHWM reset at the start, after=%ld kB (+%ld kB)\n",
              before.rss_kb, peak_rss, after.rss_kb, after.hwm_kb, after.hwm_kb - before.rss_kb);
  std::printf("RESULT folder=%s items=%ld truncation=%d sync_seconds=%.3f sync_per_second=%.0f rss_before_kb=%ld hwm_after_kb=%ld\n",
              d.inbox.c_str(), d.items, o.truncation, secs, d.items / secs, before.rss_kb, after.hwm_kb);
  return 0;
}

int runFloor(const Options& o) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(o.db.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) die("open " + o.db);
  // What Sync reads per item: the folder's change log in order (computeDelta),
  // the item row and its stored summary (getItem), and the message bytes the
  // plain-text body is cut from (writeBody).
  const char* sql = o.no_bytes ?
      "SELECT c.seq, c.kind, i.id, i.folder, i.received_at, i.read, i.flag, m.size, m.summary, NULL"
      " FROM changes c JOIN items i ON i.id = c.item JOIN messages m ON m.id = i.message"
      " WHERE c.folder = ?1 ORDER BY c.seq" :
      "SELECT c.seq, c.kind, i.id, i.folder, i.received_at, i.read, i.flag, m.size, m.summary, m.bytes"
      " FROM changes c JOIN items i ON i.id = c.item JOIN messages m ON m.id = i.message"
      " WHERE c.folder = ?1 ORDER BY c.seq";
  for (int pass = 0; pass < 2; ++pass) {  // the first warms the page cache like the sync did
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) die(sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, o.folder);
    auto start = Clock::now();
    long rows = 0, bytes = 0, sum = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
      ++rows;
      for (int c = 0; c < 8; ++c) sum += sqlite3_column_int64(st, c);
      bytes += sqlite3_column_bytes(st, 8);
      const void* b = sqlite3_column_blob(st, 9);
      int nb = sqlite3_column_bytes(st, 9);
      if (b && nb > 0) sum += static_cast<const unsigned char*>(b)[nb - 1];
      bytes += nb;
    }
    double secs = secondsSince(start);
    sqlite3_finalize(st);
    if (pass == 1) {
      std::printf("floor scan (%s): rows=%ld bytes=%ld seconds=%.3f rows_per_second=%.0f (checksum %ld)\n",
                  o.no_bytes ? "summaries only" : "summaries and message bytes", rows, bytes,
                  secs, rows / secs, sum);
      std::printf("RESULT floor_rows=%ld floor_seconds=%.3f floor_per_second=%.0f\n", rows, secs, rows / secs);
    }
  }
  sqlite3_close(db);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parseOptions(argc, argv);
  raiseFileLimit();
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (o.mode == "setup") return runSetup(o);
  if (o.mode == "park") return runPark(o);
  g_truncation = static_cast<std::uint32_t>(o.truncation);
  if (o.mode == "sync") return runSync(o);
  if (o.mode == "floor") return runFloor(o);
  die("unknown mode " + o.mode);
}
