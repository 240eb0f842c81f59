#include "ca/est_service.h"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>
#include <vector>

#include "ca/template.h"
#include "core/ascii.h"
#include "core/log.h"
#include "crypto/x509/csr.h"
#include "crypto/x509/pkcs7.h"

namespace rampart::ca {

namespace x509 = crypto::x509;

namespace {

enum class Op { cacerts, simpleenroll, simplereenroll, csrattrs };

std::optional<Op> parseOp(std::string_view name) {
  // RFC 7030 3.2.2: operation path segments are case-sensitive.
  if (name == "cacerts") return Op::cacerts;
  if (name == "simpleenroll") return Op::simpleenroll;
  if (name == "simplereenroll") return Op::simplereenroll;
  if (name == "csrattrs") return Op::csrattrs;
  return std::nullopt;  // fullcmc and serverkeygen (4.3, 4.4) are not offered
}

// The media type of a Content-Type value, without parameters or spaces.
std::string_view mediaType(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  return value;
}

// --- A little DER, for the CsrAttrs answer (RFC 7030 4.5.2). ---

void appendLength(std::string& out, std::size_t n) {
  if (n < 0x80) {
    out.push_back(static_cast<char>(n));
    return;
  }
  std::string bytes;
  while (n > 0) {
    bytes.insert(bytes.begin(), static_cast<char>(n & 0xff));
    n >>= 8;
  }
  out.push_back(static_cast<char>(0x80 | bytes.size()));
  out += bytes;
}

std::string tlv(unsigned char tag, std::string_view content) {
  std::string out(1, static_cast<char>(tag));
  appendLength(out, content.size());
  out += content;
  return out;
}

// X.690 8.19: the first two arcs as 40 * a + b, every arc base 128.
// Only called with the constant OIDs below.
std::string oid(std::string_view dotted) {
  std::vector<std::uint64_t> arcs;
  std::uint64_t value = 0;
  for (char c : dotted) {
    if (c == '.') {
      arcs.push_back(value);
      value = 0;
    } else {
      value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
  }
  arcs.push_back(value);
  std::string content;
  auto base128 = [&content](std::uint64_t v) {
    std::string bytes(1, static_cast<char>(v & 0x7f));
    while ((v >>= 7) > 0) bytes.insert(bytes.begin(), static_cast<char>(0x80 | (v & 0x7f)));
    content += bytes;
  };
  base128(arcs[0] * 40 + (arcs.size() > 1 ? arcs[1] : 0));
  for (std::size_t i = 2; i < arcs.size(); ++i) base128(arcs[i]);
  return tlv(0x06, content);
}

constexpr std::string_view kEcPublicKey = "1.2.840.10045.2.1";         // RFC 5480 2.1.1
constexpr std::string_view kPrime256v1 = "1.2.840.10045.3.1.7";        // RFC 5480 2.1.1.1
constexpr std::string_view kSecp384r1 = "1.3.132.0.34";
constexpr std::string_view kEcdsaSha256 = "1.2.840.10045.4.3.2";       // RFC 5758 3.2
constexpr std::string_view kEcdsaSha384 = "1.2.840.10045.4.3.3";
constexpr std::string_view kRsaEncryption = "1.2.840.113549.1.1.1";    // RFC 8017 A.1
constexpr std::string_view kSha256WithRsa = "1.2.840.113549.1.1.11";

// CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID (RFC 7030 4.5.2). As in
// that section's example, the wanted curves are an Attribute of type
// id-ecPublicKey whose values are the curve OIDs; RSA and the signature
// algorithms are bare OIDs. Empty when the template allows nothing.
std::string csrAttrsDer(const CertTemplate& t) {
  std::string curves;
  std::vector<std::string_view> oids;
  auto add = [&oids](std::string_view o) {
    if (std::find(oids.begin(), oids.end(), o) == oids.end()) oids.push_back(o);
  };
  for (x509::KeyType type : t.key_types) {
    switch (type) {
      case x509::KeyType::ec_p256:
        curves += oid(kPrime256v1);
        add(kEcdsaSha256);
        break;
      case x509::KeyType::ec_p384:
        curves += oid(kSecp384r1);
        add(kEcdsaSha384);
        break;
      case x509::KeyType::rsa2048:
      case x509::KeyType::rsa3072:
      case x509::KeyType::rsa4096:
        add(kRsaEncryption);
        add(kSha256WithRsa);
        break;
    }
  }
  std::string items;
  if (!curves.empty()) items += tlv(0x30, oid(kEcPublicKey) + tlv(0x31, curves));  // Attribute
  for (std::string_view o : oids) items += oid(o);
  if (items.empty()) return {};
  return tlv(0x30, items);
}

// As http::textResponse, kept here so that EstService needs no part of the
// HTTP server (the fuzz target builds it alone).
http::Response textAnswer(const http::Request& req, http::Status status, std::string body,
                          std::string_view content_type = "text/plain; charset=utf-8") {
  http::Response res{status, req.version()};
  res.set(http::Field::content_type, content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

http::Response base64Response(const http::Request& req, std::string_view content_type, std::string_view der) {
  http::Response res = textAnswer(req, http::Status::ok, x509::base64Lines(der), content_type);
  // RFC 7030 4.1.3, 4.2.3, 4.5.2: the body is base64 of the DER.
  res.set("Content-Transfer-Encoding", "base64");
  res.prepare_payload();
  return res;
}

}  // namespace

struct EstService::Outcome {
  std::string user = "-";
  std::string template_name = "-";
  std::string op = "-";
  std::string result;
  std::string serial = "-";
};

EstService::EstService(std::shared_ptr<Authority> authority, std::unique_ptr<crypto::AssertionVerifier> verifier,
                       EstOptions options, const Clock& clock)
    : authority_(std::move(authority)), verifier_(std::move(verifier)), options_(std::move(options)), clock_(clock) {}

EstService::~EstService() = default;

http::Response EstService::serve(const http::Request& req) {
  Outcome outcome;
  http::Response res = answer(req, outcome);
  auto logger = log::get("est");
  const int code = res.result_int();
  const auto level = code >= 500 ? spdlog::level::err : (code >= 400 ? spdlog::level::warn : spdlog::level::info);
  logger->log(level, "user={} template={} op={} result={} {} serial={}", outcome.user, outcome.template_name,
              outcome.op, code, outcome.result, outcome.serial);
  return res;
}

http::Response EstService::answer(const http::Request& req, Outcome& o) {
  auto text = [&req, &o](http::Status status, std::string result, std::string body) {
    o.result = std::move(result);
    return textAnswer(req, status, std::move(body));
  };

  // --- Route: /.well-known/est/[<label>/]<op> (RFC 7030 3.2.2). ---
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  if (!path.starts_with(kEstPrefix)) return text(http::Status::not_found, "no such path", "not found\n");
  std::string_view rest = path.substr(kEstPrefix.size());
  std::string_view label;
  std::string_view op_name = rest;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    label = rest.substr(0, slash);
    op_name = rest.substr(slash + 1);
  }
  std::optional<Op> op = parseOp(op_name);
  if (!op) return text(http::Status::not_found, "unknown operation", "unknown EST operation\n");
  o.op = std::string(op_name);
  if (!label.empty() || rest.find('/') != std::string_view::npos) {
    if (!isValidTemplateName(label)) {
      return text(http::Status::not_found, "unknown template", "unknown certificate type\n");
    }
  }
  const std::string template_name = label.empty() ? options_.default_template : std::string(label);
  o.template_name = template_name;

  const bool is_post = *op == Op::simpleenroll || *op == Op::simplereenroll;
  const http::Verb wanted = is_post ? http::Verb::post : http::Verb::get;
  if (req.method() != wanted) {
    http::Response res = text(http::Status::method_not_allowed, "wrong method", "method not allowed\n");
    res.set(http::Field::allow, is_post ? "POST" : "GET");
    return res;
  }
  if (req.body().size() > options_.body_limit) {
    return text(http::Status::payload_too_large, "body too large", "request too large\n");
  }

  // --- Who: the gateway's assertion, bound to this very request. ---
  std::optional<crypto::Identity> identity;
  if (*op != Op::cacerts) {
    // GET cacerts is the one operation published without authentication
    // (RFC 7030 4.1.1); it still arrives only over the mTLS link.
    auto header = req.find(kIdentityHeader);
    if (!verifier_ || header == req.end()) {
      return text(http::Status::forbidden, "no identity assertion", "identity assertion refused\n");
    }
    auto host = req.find(http::Field::host);
    crypto::RequestBinding binding{std::string(req.method_string()),
                                   host == req.end() ? std::string() : std::string(host->value()),
                                   std::string(req.target()), crypto::RequestBinding::sha256Hex(req.body())};
    const auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch()).count();
    auto verified = verifier_->verify(header->value(), binding, now_ms);
    if (!verified) {
      return text(http::Status::forbidden, "assertion refused: " + verified.error().detail,
                  "identity assertion refused\n");
    }
    identity = std::move(*verified);
    o.user = identity->user;
  }

  // --- Which certificate type. ---
  auto tmpl = authority_->findTemplate(template_name);
  if (!tmpl) {
    if (tmpl.error().is(Errc::not_found)) {
      return text(http::Status::not_found, "unknown template", "unknown certificate type\n");
    }
    return text(http::Status::internal_server_error, "template: " + tmpl.error().message(),
                "internal error\n");
  }
  if (!tmpl->enabled) return text(http::Status::not_found, "template disabled", "unknown certificate type\n");

  switch (*op) {
    case Op::cacerts: {
      // RFC 7030 4.1.3: the current issuing CA and the root, certs-only.
      auto der = x509::certsOnly(authority_->chain());
      if (!der) return text(http::Status::internal_server_error, "cacerts: " + der.error().message(), "internal error\n");
      o.result = "ok";
      return base64Response(req, "application/pkcs7-mime", *der);
    }
    case Op::csrattrs: {
      std::string der = csrAttrsDer(*tmpl);
      if (der.empty()) {
        o.result = "none";
        http::Response res{http::Status::no_content, req.version()};
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        return res;
      }
      o.result = "ok";
      return base64Response(req, "application/csrattrs", der);
    }
    case Op::simpleenroll:
    case Op::simplereenroll:
      break;
  }

  // --- simpleenroll / simplereenroll (RFC 7030 4.2). ---
  auto content_type = req.find(http::Field::content_type);
  if (content_type == req.end() || !equalsIgnoreCase(mediaType(content_type->value()), "application/pkcs10")) {
    return text(http::Status::unsupported_media_type, "wrong content type",
                "expected Content-Type: application/pkcs10\n");
  }
  EnrollRequest request;
  request.template_name = template_name;
  request.user = identity->user;
  request.requester = identity->user + " (" + identity->method + ")";
  if (*op == Op::simplereenroll) {
    // RFC 7030 4.2.2: re-enrollment authenticates with the certificate being
    // renewed; the gateway says so in the method and forwards the leaf.
    auto cert_header = req.find(kClientCertHeader);
    if (!identity->method.starts_with("certificate") || cert_header == req.end()) {
      return text(http::Status::forbidden, "re-enrollment without a certificate login",
                  "re-enrollment needs a TLS client certificate login\n");
    }
    auto der = x509::base64DecodeLenient(cert_header->value(), 16 * 1024);
    Result<x509::CertPtr> cert = fail(Errc::parse_error, "no certificate");
    if (der) cert = x509::parseCertificate(*der);
    if (!cert) {
      return text(http::Status::forbidden, "unreadable client certificate",
                  "re-enrollment needs a TLS client certificate login\n");
    }
    request.requester = identity->user + " (" + identity->method + " " + x509::serialHex(cert->get()) + ")";
    request.current = std::move(*cert);
  }

  auto csr = x509::parseEstCsr(req.body());
  if (!csr) {
    if (csr.error().is(Errc::limit_exceeded)) {
      return text(http::Status::payload_too_large, "csr too large", "certification request too large\n");
    }
    if (csr.error().is(Errc::unauthenticated)) {
      return text(http::Status::bad_request, "csr signature fails",
                  "the certification request's signature does not verify\n");
    }
    std::string detail = csr.error().detail.substr(0, 200);
    return text(http::Status::bad_request, "bad csr: " + detail, "malformed certification request\n");
  }

  auto result = authority_->enroll(request, *csr);
  if (!result) {
    return text(http::Status::internal_server_error, "enroll: " + result.error().message(), "internal error\n");
  }
  switch (result->kind) {
    case EnrollResult::Kind::issued: {
      o.serial = result->serial;
      auto der = x509::certsOnly({result->cert.get()});
      if (!der) return text(http::Status::internal_server_error, "certs-only: " + der.error().message(), "internal error\n");
      o.result = "issued";
      // RFC 7030 4.2.3.
      return base64Response(req, "application/pkcs7-mime; smime-type=certs-only", *der);
    }
    case EnrollResult::Kind::pending: {
      // RFC 7030 4.2.3: 202 with Retry-After; the client sends the same CSR again.
      http::Response res = text(http::Status::accepted, "pending", "pending approval\n");
      const auto after = std::max<std::int64_t>(1, result->retry_after.count());
      res.set(http::Field::retry_after, std::to_string(after));
      return res;
    }
    case EnrollResult::Kind::rejected:
      break;
  }
  std::string reason = result->reason.empty() ? std::string("not allowed") : result->reason;
  return text(http::Status::forbidden, "rejected: " + reason, reason + "\n");
}

}  // namespace rampart::ca
