#include "server/eas/validate_cert_command.h"

#include <utility>

#include "codec/eas/cert_requests.h"
#include "codec/wbxml/writer.h"
#include "core/log.h"
#include "http/client.h"

namespace rampart::server::eas {
namespace {

namespace codec = rampart::eas;
namespace x509 = crypto::x509;

constexpr std::string_view kNs = "ValidateCert";

void status(wbxml::Writer& w, ValidateCertStatus s) {
  w.start(kNs, "Status");
  w.content(std::to_string(static_cast<int>(s)));
  w.end();
}

Result<std::vector<std::uint8_t>> statusOnly(ValidateCertStatus s) {
  wbxml::Writer w;
  w.start(kNs, "ValidateCert");
  status(w, s);
  w.end();
  return std::move(w).finish();
}

}  // namespace

ValidateCertStatus validateCertStatus(x509::ChainStatus status) {
  using S = x509::ChainStatus;
  switch (status) {
    case S::ok:
      return ValidateCertStatus::success;
    case S::malformed:
      return ValidateCertStatus::bad_chain;  // "invalid, incorrectly formatted certificate"
    case S::bad_signature:
      return ValidateCertStatus::bad_signature;
    case S::untrusted_root:
      return ValidateCertStatus::untrusted;
    case S::incomplete_chain:
      return ValidateCertStatus::bad_chain;
    case S::wrong_purpose:
      return ValidateCertStatus::not_for_email;
    case S::leaf_is_ca:
      return ValidateCertStatus::misused;
    case S::bad_extension:
      return ValidateCertStatus::bad_information;
    case S::ca_misuse:
      return ValidateCertStatus::chain_misuse;
    case S::expired:
      return ValidateCertStatus::expired;
    case S::bad_time_nesting:
      return ValidateCertStatus::time_nesting;
    case S::no_revocation_info:
      return ValidateCertStatus::revocation_unknown;
    case S::revoked:
      return ValidateCertStatus::revoked;
    case S::revocation_unknown:
      return ValidateCertStatus::revocation_offline;
  }
  return ValidateCertStatus::server_error;
}

Result<std::shared_ptr<const ValidateCertSetup>> makeValidateCertSetup(
    const std::string& trust_file, x509::RevocationMode revocation,
    std::chrono::milliseconds timeout) {
  auto setup = std::make_shared<ValidateCertSetup>();
  setup->revocation = revocation;
  http::RevocationFetch how;
  how.deadline = timeout;  // names are not resolved: the URLs come from certificates a device sent
  setup->fetch = [how](std::string_view url, std::string_view body) {
    return http::fetchRevocationInfo(url, body, how);
  };
  if (!trust_file.empty()) {
    auto text = x509::readFile(trust_file);
    if (!text) return fail(text.error().code, trust_file + ": " + text.error().detail);
    auto certs = x509::parseCertificates(*text);
    if (!certs) return fail(certs.error().code, trust_file + ": " + certs.error().detail);
    setup->anchors = std::move(*certs);
  }
  return std::shared_ptr<const ValidateCertSetup>(std::move(setup));
}

Result<std::vector<std::uint8_t>> runValidateCert(CommandContext& ctx, const wbxml::Document& body,
                                                  const ValidateCertSetup& setup) {
  auto request = codec::decodeValidateCertRequest(body);
  if (!request) {
    log::get("eas")->info("ValidateCert from {}/{}: {}", ctx.user, ctx.device_id,
                          request.error().message());
    return statusOnly(ValidateCertStatus::protocol_error);
  }
  // Every certificate sent may help build another's path.
  std::vector<x509::CertPtr> parsed(request->certificates.size());
  std::vector<x509::CertPtr> helpers;
  for (std::size_t i = 0; i < request->certificates.size(); ++i) {
    auto c = x509::parseCertificate(request->certificates[i]);
    if (c) {
      parsed[i] = std::move(*c);
      helpers.push_back(x509::duplicate(parsed[i].get()));
    }
  }
  for (const std::string& der : request->chain) {
    if (auto c = x509::parseCertificate(der)) helpers.push_back(std::move(*c));
  }

  std::vector<ValidateCertStatus> statuses;
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    if (!parsed[i]) {
      statuses.push_back(ValidateCertStatus::bad_chain);
      continue;
    }
    if (setup.anchors.empty()) {
      statuses.push_back(ValidateCertStatus::untrusted);
      continue;
    }
    x509::VerifyOptions options;
    for (const auto& a : setup.anchors) options.anchors.push_back(x509::duplicate(a.get()));
    for (const auto& h : helpers) {
      if (h.get() != parsed[i].get()) options.intermediates.push_back(x509::duplicate(h.get()));
    }
    options.at = ctx.now;
    // MS-ASCMD 2.2.3.26 CheckCRL: revocation only when the device asks.
    options.revocation = request->check_crl ? setup.revocation : x509::RevocationMode::none;
    if (options.revocation != x509::RevocationMode::none) options.fetch = setup.fetch;
    // Signing first (ValidateCert's usual subject is a signer), then
    // encryption: a certificate fit for either is a good S/MIME certificate.
    options.purpose = x509::Purpose::smime_signing;
    auto v = x509::verifyChain(parsed[i].get(), options);
    if (v && v->status == x509::ChainStatus::wrong_purpose) {
      options.purpose = x509::Purpose::smime_encryption;
      v = x509::verifyChain(parsed[i].get(), options);
    }
    if (!v) {
      log::get("eas")->error("ValidateCert for {}: {}", ctx.user, v.error().message());
      statuses.push_back(ValidateCertStatus::server_error);
      continue;
    }
    log::get("eas")->info("ValidateCert for {}/{}: {} -> {} ({})", ctx.user, ctx.device_id,
                          v->subject, x509::chainStatusName(v->status), v->detail);
    // 15: "a digital ID in the chain has been revoked" (not the one sent).
    if (v->status == x509::ChainStatus::revoked && v->depth > 0) {
      statuses.push_back(ValidateCertStatus::chain_revoked);
      continue;
    }
    statuses.push_back(validateCertStatus(v->status));
  }

  wbxml::Writer w;
  w.start(kNs, "ValidateCert");
  status(w, ValidateCertStatus::success);
  for (ValidateCertStatus s : statuses) {
    w.start(kNs, "Certificate");
    status(w, s);
    w.end();
  }
  w.end();
  return std::move(w).finish();
}

}  // namespace rampart::server::eas
