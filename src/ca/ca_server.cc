#include "ca/ca_server.h"

#include <openssl/asn1.h>
#include <openssl/ocsp.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>
#include <thread>

#include <boost/asio/post.hpp>

#include "ca/est_service.h"
#include "core/ascii.h"
#include "core/log.h"
#include "crypto/identity_assertion.h"
#include "crypto/x509/csr.h"
#include "http/server.h"
#include "net/listener.h"
#include "store/sqlite/sqlite_ca_store.h"

namespace rampart::ca {

namespace asio = net::asio;
namespace x509 = crypto::x509;

namespace {

constexpr std::size_t kMaxOcspRequest = 64 * 1024;
// However long the CRL is valid, a cache keeps it at most this long, so that
// a re-issued CRL (after a revocation) reaches relying parties soon.
constexpr std::int64_t kMaxCrlCacheSeconds = 300;

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 2.1 percent-decoding of a path segment ('+' stays '+': in a path
// it is not a space, and base64's '+' often arrives unencoded).
std::optional<std::string> percentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    int hi = hexDigit(in[i + 1]);
    int lo = hexDigit(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// Seconds from `now` until `t`; nullopt when `t` cannot be read.
std::optional<std::int64_t> secondsUntil(const ASN1_TIME* t, std::int64_t now) {
  if (t == nullptr) return std::nullopt;
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm)) - now;
}

// RFC 5019 6.2: an OCSP answer may be cached until its nextUpdate; one that
// echoes a nonce is for one requester only.
std::string ocspCacheControl(std::string_view der, std::int64_t now) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OCSP_RESPONSE* response = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size()));
  if (response == nullptr) return "no-store";
  std::string result = "no-store";
  if (OCSP_response_status(response) == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    if (OCSP_BASICRESP* basic = OCSP_response_get1_basic(response)) {
      const bool has_nonce = OCSP_BASICRESP_get_ext_by_NID(basic, NID_id_pkix_OCSP_Nonce, -1) >= 0;
      std::optional<std::int64_t> max_age;
      for (int i = 0; i < OCSP_resp_count(basic); ++i) {
        ASN1_GENERALIZEDTIME* next = nullptr;
        OCSP_single_get0_status(OCSP_resp_get0(basic, i), nullptr, nullptr, nullptr, &next);
        auto left = secondsUntil(next, now);
        if (!left) {
          max_age.reset();
          break;
        }
        max_age = max_age ? std::min(*max_age, *left) : *left;
      }
      if (!has_nonce && max_age && *max_age > 0) result = "public, max-age=" + std::to_string(*max_age);
      OCSP_BASICRESP_free(basic);
    }
  }
  OCSP_RESPONSE_free(response);
  return result;
}

// The plain-HTTP face for relying parties: CRL, OCSP, the chain, health.
class PkiService {
 public:
  PkiService(std::shared_ptr<Authority> authority, const Clock& clock)
      : authority_(std::move(authority)), clock_(clock) {}

  http::Response serve(const http::Request& req) {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    auto only = [&req](http::Verb verb, std::string_view allow) -> std::optional<http::Response> {
      if (req.method() == verb) return std::nullopt;
      http::Response res = http::textResponse(req, http::Status::method_not_allowed, "method not allowed\n");
      res.set(http::Field::allow, allow);
      return res;
    };
    if (path == "/healthz") {
      if (auto res = only(http::Verb::get, "GET")) return *res;
      auto probe = authority_->store().listTemplates();
      if (!probe) {
        return http::textResponse(req, http::Status::service_unavailable, "store: " + probe.error().message() + "\n");
      }
      return http::textResponse(req, http::Status::ok, "ok\n");
    }
    if (path == "/ca/chain.pem") {
      if (auto res = only(http::Verb::get, "GET")) return *res;
      std::string pem;
      for (X509* cert : authority_->chain()) pem += x509::certificatePem(cert);
      // RFC 8555 9.1's media type for a PEM chain.
      return http::textResponse(req, http::Status::ok, std::move(pem), "application/pem-certificate-chain");
    }
    if (path == "/crl/issuing.crl") {
      if (auto res = only(http::Verb::get, "GET")) return *res;
      return crl(req);
    }
    if (path == "/ocsp" || path == "/ocsp/") {
      // RFC 6960 A.1: POST with the DER request as the body.
      if (auto res = only(http::Verb::post, "POST")) return *res;
      auto type = req.find(http::Field::content_type);
      if (type == req.end() ||
          !equalsIgnoreCase(type->value().substr(0, type->value().find(';')), "application/ocsp-request")) {
        return http::textResponse(req, http::Status::unsupported_media_type,
                                  "expected Content-Type: application/ocsp-request\n");
      }
      if (req.body().size() > kMaxOcspRequest) {
        return http::textResponse(req, http::Status::payload_too_large, "request too large\n");
      }
      return ocsp(req, req.body(), false);
    }
    if (path.starts_with("/ocsp/")) {
      // RFC 6960 A.1: GET {url}/{url-encoding of base64 of the DER request}.
      if (auto res = only(http::Verb::get, "GET, POST")) return *res;
      std::string der;
      if (auto decoded = percentDecode(path.substr(6))) {
        if (auto raw = x509::base64DecodeLenient(*decoded, kMaxOcspRequest)) der = std::move(*raw);
      }
      // An undecodable request still gets an OCSP answer: malformedRequest (RFC 6960 2.3).
      return ocsp(req, der, true);
    }
    return http::textResponse(req, http::Status::not_found, "not found\n");
  }

 private:
  std::int64_t now() const { return unixSeconds(clock_.now()); }

  http::Response crl(const http::Request& req) {
    auto der = authority_->crlDer();
    if (!der) {
      log::get("ca")->error("CRL: {}", der.error().message());
      return http::textResponse(req, http::Status::service_unavailable, "CRL unavailable\n");
    }
    std::int64_t max_age = 0;
    if (auto parsed = x509::parseCrl(*der)) {
      if (auto left = secondsUntil(X509_CRL_get0_nextUpdate(parsed->get()), now())) {
        max_age = std::clamp<std::int64_t>(*left, 0, kMaxCrlCacheSeconds);
      }
    }
    http::Response res = http::textResponse(req, http::Status::ok, std::move(*der), "application/pkix-crl");
    res.set(http::Field::cache_control, "public, max-age=" + std::to_string(max_age));
    return res;
  }

  http::Response ocsp(const http::Request& req, std::string_view der, bool cacheable) {
    std::string answer = authority_->ocspRespond(der);
    std::string cache = cacheable ? ocspCacheControl(answer, now()) : std::string("no-store");
    http::Response res = http::textResponse(req, http::Status::ok, std::move(answer), "application/ocsp-response");
    res.set(http::Field::cache_control, cache);
    return res;
  }

  std::shared_ptr<Authority> authority_;
  const Clock& clock_;
};

// Calls Authority::refresh() every interval, on the blocking pool; the timer
// lives on a strand so that stop() may come from any thread.
struct Refresher : std::enable_shared_from_this<Refresher> {
  Refresher(asio::any_io_executor io, asio::any_io_executor pool_in, std::shared_ptr<Authority> authority_in,
            std::chrono::milliseconds interval_in)
      : strand(asio::make_strand(io)),
        timer(strand),
        pool(std::move(pool_in)),
        authority(std::move(authority_in)),
        interval(interval_in) {}

  void arm() {
    if (stopped) return;
    timer.expires_after(interval);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->stopped) return;
      asio::post(self->pool, [self] {
        if (!self->stopped) {
          if (auto st = self->authority->refresh(); !st) {
            log::get("ca")->warn("refresh: {}", st.error().message());
          }
        }
        asio::post(self->strand, [self] { self->arm(); });
      });
    });
  }

  void stop() {
    stopped = true;
    asio::post(strand, [self = shared_from_this()] { self->timer.cancel(); });
  }

  asio::strand<asio::any_io_executor> strand;
  asio::steady_timer timer;
  asio::any_io_executor pool;
  std::shared_ptr<Authority> authority;
  std::chrono::milliseconds interval;
  std::atomic<bool> stopped{false};
};

std::string endpointText(const net::tcp::endpoint& e) {
  if (e.address().is_v6()) return "[" + e.address().to_string() + "]:" + std::to_string(e.port());
  return e.address().to_string() + ":" + std::to_string(e.port());
}

}  // namespace

struct CaServer::Impl {
  CaConfig config;
  asio::any_io_executor executor;
  // Declared first: destroyed (joined) last, after everything that posts to it.
  std::unique_ptr<asio::thread_pool> pool;
  std::shared_ptr<store::CaStore> store;
  std::shared_ptr<directory::BuiltinDirectory> directory;
  std::shared_ptr<Authority> authority;
  std::shared_ptr<EstService> est;
  std::shared_ptr<PkiService> pki;
  std::unique_ptr<http::Server> est_http;
  std::unique_ptr<http::Server> pki_http;
  std::shared_ptr<Refresher> refresher;
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
};

CaServer::CaServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CaServer::~CaServer() {
  stop();
  // Let pool work finish (it may post back to the io executor) before the
  // Authority and the stores go.
  if (impl_->pool) impl_->pool->join();
}

Result<std::unique_ptr<CaServer>> CaServer::create(CaConfig config, asio::any_io_executor executor,
                                                   const directory::BuiltinDirectoryOptions& directory_options,
                                                   const Clock& clock) {
  applyCaDefaults(config);
  auto impl = std::make_unique<Impl>();
  impl->executor = executor;
  // Signing (OCSP answers with a nonce, certificates, CRLs) is CPU work: one
  // thread per core, at least two so that a store commit never stalls OCSP.
  impl->pool = std::make_unique<asio::thread_pool>(std::max(2u, std::thread::hardware_concurrency()));

  std::error_code ec;
  if (!std::filesystem::exists(config.data_dir, ec)) {
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) return fail(Errc::io_error, "create " + config.data_dir + ": " + ec.message());
    if (::chmod(config.data_dir.c_str(), 0700) != 0) {
      return fail(Errc::io_error, "chmod " + config.data_dir + ": " + std::strerror(errno));
    }
  }

  // The PKI listener first: with port 0 its real port goes into the URLs of
  // every certificate the Authority issues.
  // Filled in once the Authority is open; nothing is accepted before start().
  auto pki_holder = std::make_shared<http::Handler>();
  if (!config.pki.listen.empty()) {
    auto endpoint = net::parseEndpoint(config.pki.listen);
    if (!endpoint) return fail(Errc::config_error, "pki.listen: " + endpoint.error().message());
    http::ServerOptions options;
    options.body_limit = kMaxOcspRequest;
    options.header_timeout = std::chrono::seconds(10);
    options.max_connections = static_cast<std::size_t>(config.pki.max_connections);
    auto server = http::Server::bind(executor, *endpoint, options,
                                     [pki_holder](http::Request& req) { return (*pki_holder)(req); });
    if (!server) return fail(server.error());
    impl->pki_http = std::move(*server);
    const std::string derived = "http://" + config.pki.listen;
    if (endpoint->port() == 0 && config.pki.public_url == derived) {
      config.pki.public_url = "http://" + endpointText(impl->pki_http->localEndpoint());
      config.authority.crl_url = config.pki.public_url + "/crl/issuing.crl";
      config.authority.ocsp_url = config.pki.public_url + "/ocsp";
    }
  }

  auto store = store::sqlite::SqliteCaStore::open(config.database);
  if (!store) return fail(store.error());
  impl->store = std::move(*store);
  auto directory = directory::BuiltinDirectory::open(config.database, directory_options);
  if (!directory) return fail(directory.error());
  impl->directory = std::shared_ptr<directory::BuiltinDirectory>(std::move(*directory));
  auto authority = Authority::open(config.authority, impl->store, impl->directory, impl->directory, clock);
  if (!authority) return fail(authority.error());
  impl->authority = std::move(*authority);

  impl->pki = std::make_shared<PkiService>(impl->authority, clock);
  *pki_holder = http::onBlockingPool([pki = impl->pki](const http::Request& req) { return pki->serve(req); },
                                     impl->pool->get_executor());

  if (!config.est.listen.empty()) {
    auto verifier = crypto::loadAssertionVerifier(config.est.delegation_key_file, "est.delegation_key_file");
    if (!verifier) return fail(verifier.error());
    EstOptions est_options;
    est_options.default_template = config.est.default_template;
    est_options.body_limit = config.est.body_limit.bytes;
    impl->est = std::make_shared<EstService>(impl->authority, std::move(*verifier), est_options, clock);
    auto est_handler = http::onBlockingPool(
        [est = impl->est](const http::Request& req) { return est->serve(req); }, impl->pool->get_executor());
    http::ServerOptions options;
    options.handshake_timeout = config.est.handshake_timeout;
    options.header_timeout = config.est.header_timeout;
    options.keepalive_idle = config.est.keepalive_idle;
    options.body_limit = config.est.body_limit.bytes;
    options.max_connections = static_cast<std::size_t>(config.est.max_connections);
    auto server = http::bindLink(executor,
                                 {config.est.listen, "est.listen", config.est.cert_file, config.est.key_file,
                                  config.est.gateway_ca_file},
                                 options, std::move(est_handler));
    if (!server) return fail(server.error());
    impl->est_http = std::move(*server);
  }

  impl->refresher = std::make_shared<Refresher>(executor, impl->pool->get_executor(), impl->authority,
                                                config.pki.refresh_interval);
  impl->config = std::move(config);
  return std::unique_ptr<CaServer>(new CaServer(std::move(impl)));
}

void CaServer::start() {
  if (impl_->started.exchange(true)) return;
  auto logger = log::get("ca");
  if (impl_->pki_http) {
    impl_->pki_http->start();
    logger->info("pki listening on http://{} (CRL, OCSP; public URL {})",
                 endpointText(impl_->pki_http->localEndpoint()), impl_->config.pki.public_url);
  }
  if (impl_->est_http) {
    impl_->est_http->start();
    logger->info("est link listening on https://{} (mTLS + identity assertion)",
                 endpointText(impl_->est_http->localEndpoint()));
  }
  asio::post(impl_->refresher->strand, [r = impl_->refresher] { r->arm(); });
}

void CaServer::stop() {
  if (impl_->stopped.exchange(true)) return;
  if (impl_->refresher) impl_->refresher->stop();
  if (impl_->est_http) impl_->est_http->stop();
  if (impl_->pki_http) impl_->pki_http->stop();
}

net::tcp::endpoint CaServer::estEndpoint() const {
  return impl_->est_http ? impl_->est_http->localEndpoint() : net::tcp::endpoint();
}

net::tcp::endpoint CaServer::pkiEndpoint() const {
  return impl_->pki_http ? impl_->pki_http->localEndpoint() : net::tcp::endpoint();
}

const CaConfig& CaServer::config() const { return impl_->config; }

const std::shared_ptr<Authority>& CaServer::authority() const { return impl_->authority; }

}  // namespace rampart::ca
