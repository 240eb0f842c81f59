#include "codec/eas/cert_requests.h"

#include <charconv>
#include <string_view>
#include <utility>

#include "codec/eas/item_requests.h"
#include "core/base64.h"

namespace rampart::eas {

namespace {

using wbxml::Element;

// MS-ASWBXML 2.1.2.1.11 and 2.1.2.1.12.
constexpr std::uint8_t kResolvePage = 10;
constexpr std::uint8_t kValidatePage = 11;

bool is(const Element& e, std::uint8_t page, std::string_view name) {
  return e.page == page && e.name == name;
}

tl::unexpected<Error> invalid(std::string detail) {
  return fail(Errc::invalid_argument, std::move(detail));
}

Result<std::uint32_t> leafNumber(const Element& e, std::uint32_t lo, std::uint32_t hi) {
  if (!e.children.empty()) return invalid(std::string(e.name) + " must be a number");
  std::string_view s = e.text;
  std::uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || v < lo || v > hi) {
    return invalid(std::string(e.name) + " must be a number from " + std::to_string(lo) + " to " +
                   std::to_string(hi));
  }
  return v;
}

Status setNumber(std::optional<std::uint32_t>& slot, const Element& e, std::uint32_t lo,
                 std::uint32_t hi) {
  if (slot) return invalid(std::string(e.name) + " given twice");
  auto v = leafNumber(e, lo, hi);
  if (!v) return fail(v.error());
  slot = *v;
  return {};
}

Result<AvailabilityRequest> readAvailability(const Element& e) {
  std::optional<std::int64_t> start, end;
  for (const Element& c : e.children) {
    if (is(c, kResolvePage, "StartTime") || is(c, kResolvePage, "EndTime")) {
      auto& slot = c.name == "StartTime" ? start : end;
      if (slot) return invalid(std::string(c.name) + " given twice");
      slot = parseDateTime(c.text);
      if (!slot) return invalid(std::string(c.name) + " is not a dateTime");
    }
  }
  // MS-ASCMD 2.2.3.16: Availability MUST carry a valid StartTime.
  if (!start) return invalid("Availability without StartTime");
  if (end && *end <= *start) return invalid("EndTime is not after StartTime");
  return AvailabilityRequest{*start, end};
}

Result<PictureRequest> readPicture(const Element& e) {
  PictureRequest p;
  for (const Element& c : e.children) {
    if (is(c, kResolvePage, "MaxSize")) {
      if (auto st = setNumber(p.max_size, c, 0, UINT32_MAX); !st) return fail(st.error());
    } else if (is(c, kResolvePage, "MaxPictures")) {
      if (auto st = setNumber(p.max_pictures, c, 0, 9999); !st) return fail(st.error());
    }
  }
  return p;
}

Status readOptions(ResolveRecipientsRequest& r, const Element& options) {
  std::optional<std::uint32_t> retrieval;
  for (const Element& c : options.children) {
    if (c.page != kResolvePage) continue;
    if (c.name == "CertificateRetrieval") {
      if (auto st = setNumber(retrieval, c, 1, 3); !st) return st;
      r.certificate_retrieval = static_cast<CertificateRetrieval>(*retrieval);
    } else if (c.name == "MaxCertificates") {
      if (auto st = setNumber(r.max_certificates, c, 0, 9999); !st) return st;  // 2.2.3.101
    } else if (c.name == "MaxAmbiguousRecipients") {
      if (auto st = setNumber(r.max_ambiguous_recipients, c, 0, 9999); !st) return st;  // 2.2.3.102
    } else if (c.name == "Availability") {
      if (r.availability) return invalid("Availability given twice");
      auto a = readAvailability(c);
      if (!a) return fail(a.error());
      r.availability = *a;
    } else if (c.name == "Picture") {
      if (r.picture) return invalid("Picture given twice");
      auto p = readPicture(c);
      if (!p) return fail(p.error());
      r.picture = *p;
    }
  }
  return {};
}

Status readCertificates(std::vector<std::string>& out, const Element& parent, std::size_t max_count,
                        const CertRequestLimits& limits) {
  for (const Element& c : parent.children) {
    if (!is(c, kValidatePage, "Certificate")) continue;
    if (out.size() == max_count) {
      return fail(Errc::limit_exceeded, "more than " + std::to_string(max_count) + " certificates");
    }
    if (!c.opaque.empty()) {
      if (c.opaque.size() > limits.max_certificate_bytes)
        return fail(Errc::limit_exceeded, "certificate too large");
      out.emplace_back(c.opaque.begin(), c.opaque.end());
      continue;
    }
    auto der = decodeBase64(c.text, limits.max_certificate_bytes);
    if (!der || der->empty())
      return invalid("Certificate is not base64 of at most " +
                     std::to_string(limits.max_certificate_bytes) + " bytes");
    out.push_back(std::move(*der));
  }
  if (out.empty()) return invalid(std::string(parent.name) + " without Certificate");
  return {};
}

}  // namespace

std::optional<std::string> decodeBase64(std::string_view text, std::size_t max_decoded) {
  auto bytes = base64Decode(text, {.require_padding = true, .max_out = max_decoded});
  if (!bytes) return std::nullopt;
  return std::move(*bytes);
}

Result<ResolveRecipientsRequest> decodeResolveRecipientsRequest(const wbxml::Document& doc,
                                                                const CertRequestLimits& limits) {
  const Element& root = doc.root;
  if (!is(root, kResolvePage, "ResolveRecipients")) return invalid("root is not ResolveRecipients");
  ResolveRecipientsRequest r;
  bool have_options = false;
  for (const Element& c : root.children) {
    if (c.page != kResolvePage) continue;
    if (c.name == "To") {
      if (r.to.size() == limits.max_recipients) {
        return fail(Errc::limit_exceeded,
                    "more than " + std::to_string(limits.max_recipients) + " To elements");
      }
      if (c.text.empty() || c.text.size() > limits.max_to_length || !c.children.empty()) {
        return invalid("To must hold 1 to " + std::to_string(limits.max_to_length) + " characters");
      }
      r.to.push_back(c.text);
    } else if (c.name == "Options") {
      if (have_options) return invalid("Options given twice");
      have_options = true;
      if (auto st = readOptions(r, c); !st) return fail(st.error());
    }
  }
  if (r.to.empty()) return invalid("ResolveRecipients without To");
  return r;
}

Result<ValidateCertRequest> decodeValidateCertRequest(const wbxml::Document& doc,
                                                      const CertRequestLimits& limits) {
  const Element& root = doc.root;
  if (!is(root, kValidatePage, "ValidateCert")) return invalid("root is not ValidateCert");
  ValidateCertRequest r;
  bool have_certs = false, have_chain = false, have_crl = false;
  for (const Element& c : root.children) {
    if (c.page != kValidatePage) continue;
    if (c.name == "Certificates") {
      if (have_certs) return invalid("Certificates given twice");
      have_certs = true;
      if (auto st = readCertificates(r.certificates, c, limits.max_certificates, limits); !st)
        return fail(st.error());
    } else if (c.name == "CertificateChain") {
      if (have_chain) return invalid("CertificateChain given twice");
      have_chain = true;
      if (auto st = readCertificates(r.chain, c, limits.max_chain, limits); !st)
        return fail(st.error());
    } else if (c.name == "CheckCRL") {
      if (have_crl) return invalid("CheckCRL given twice");
      have_crl = true;
      // MS-ASCMD 2.2.3.26: 0 or 1 (clients also send an empty element for 0).
      if (c.text.empty()) continue;
      auto v = leafNumber(c, 0, 1);
      if (!v) return fail(v.error());
      r.check_crl = *v == 1;
    }
  }
  if (!have_certs) return invalid("ValidateCert without Certificates");
  return r;
}

}  // namespace rampart::eas
