#include "server/eas/resolve_recipients_command.h"

#include <openssl/evp.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "codec/eas/cert_requests.h"
#include "codec/wbxml/writer.h"
#include "core/ascii.h"
#include "core/log.h"
#include "crypto/x509/x509.h"

namespace rampart::server::eas {
namespace {

namespace codec = rampart::eas;

constexpr std::string_view kNs = "ResolveRecipients";
// MS-ASCMD 2.2.3.186.5 Type: 1 = a recipient from the global address list.
constexpr std::string_view kTypeGal = "1";

void text(wbxml::Writer& w, std::string_view name, std::string_view value) {
  w.start(kNs, name);
  w.content(value);
  w.end();
}

void status(wbxml::Writer& w, ResolveStatus s) {
  text(w, "Status", std::to_string(static_cast<int>(s)));
}

Result<std::vector<std::uint8_t>> statusOnly(ResolveStatus s) {
  wbxml::Writer w;
  w.start(kNs, "ResolveRecipients");
  status(w, s);
  w.end();
  return std::move(w).finish();
}

std::string base64(std::string_view der) {
  std::string out(4 * ((der.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(der.data()),
                                static_cast<int>(der.size()));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = asciiLower(c);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '"'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '"')) s.remove_suffix(1);
  return s;
}

// "Bob Example <bob@example.org>" -> "bob@example.org"; anything else trimmed.
std::string_view addressPart(std::string_view to) {
  const auto open = to.rfind('<');
  const auto close = to.rfind('>');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
    return trim(to.substr(open + 1, close - open - 1));
  }
  return trim(to);
}

// A user matches a name prefix when its name, display name, a word of the
// display name or an address starts with it.
bool matchesPrefix(const directory::User& u, std::string_view prefix) {
  if (startsWithIgnoreCase(u.name, prefix) || startsWithIgnoreCase(u.display_name, prefix))
    return true;
  std::string_view d = u.display_name;
  for (std::size_t at = d.find(' '); at != std::string_view::npos; at = d.find(' ', at + 1)) {
    if (startsWithIgnoreCase(d.substr(at + 1), prefix)) return true;
  }
  return std::any_of(u.addresses.begin(), u.addresses.end(),
                     [&](const std::string& a) { return startsWithIgnoreCase(a, prefix); });
}

// Every enabled user the To names, in a stable order (by name).
Result<std::vector<directory::User>> resolve(directory::Directory& dir, std::string_view to) {
  std::vector<directory::User> out;
  std::string_view wanted = addressPart(to);
  if (wanted.empty()) return out;
  if (wanted.find('@') != std::string_view::npos) {
    auto found = dir.findByAddress(wanted);
    if (!found && found.error().is(Errc::invalid_argument))
      return out;  // not an address we could hold
    if (!found) return fail(found.error());
    if (*found && (*found)->enabled) out.push_back(std::move(**found));
    return out;
  }
  auto exact = dir.findUser(lower(wanted));
  if (!exact && !exact.error().is(Errc::invalid_argument)) return fail(exact.error());
  if (exact && *exact && (*exact)->enabled) {
    out.push_back(std::move(**exact));
    return out;
  }
  // The global address list by prefix, where the directory can list it.
  auto* listing = dynamic_cast<directory::DirectoryAdmin*>(&dir);
  if (listing == nullptr) return out;
  auto users = listing->listUsers();
  if (!users) return fail(users.error());
  for (directory::User& u : *users) {
    if (u.enabled && matchesPrefix(u, wanted)) out.push_back(std::move(u));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

// The recipient's S/MIME encryption certificates, usable at `now`, newest first.
Result<std::vector<std::string>> encryptionCertificates(directory::Directory& dir,
                                                        const std::string& user, std::int64_t now) {
  auto published = dir.certificatesOf(user);
  if (!published) return fail(published.error());
  std::vector<std::string> out;
  for (const directory::PublishedCertificate& p : *published) {
    if (p.purpose != "smime_encryption" || p.not_after <= now) continue;
    auto cert = crypto::x509::parseCertificate(p.der);
    if (!cert) {
      log::get("eas")->warn("ResolveRecipients: published certificate {} of {} does not parse",
                            p.serial, user);
      continue;
    }
    if (crypto::x509::notBefore(cert->get()) > now || crypto::x509::notAfter(cert->get()) <= now)
      continue;
    out.push_back(p.der);
    if (out.size() == kMaxCertificatesPerRecipient) break;
  }
  return out;
}

std::string primaryAddress(const directory::User& u, std::string_view asked) {
  std::string_view wanted = addressPart(asked);
  for (const std::string& a : u.addresses) {
    if (equalsIgnoreCase(a, wanted)) return a;  // the alias the sender typed
  }
  return u.addresses.empty() ? u.name : u.addresses.front();
}

void recipientHeader(wbxml::Writer& w, const directory::User& u, std::string_view asked) {
  text(w, "Type", kTypeGal);
  text(w, "DisplayName", u.display_name.empty() ? u.name : u.display_name);
  text(w, "EmailAddress", primaryAddress(u, asked));
}

// MS-ASCMD 2.2.3.23.1 Certificates: Status, CertificateCount, RecipientCount,
// Certificate* | MiniCertificate. `budget` is what is left of MaxCertificates.
void writeCertificates(wbxml::Writer& w, const std::vector<std::string>& certs,
                       codec::CertificateRetrieval how, std::optional<std::size_t>& budget) {
  w.start(kNs, "Certificates");
  if (certs.empty()) {
    status(w, ResolveStatus::no_valid_certificate);
    text(w, "CertificateCount", "0");
    text(w, "RecipientCount", "1");
    w.end();
    return;
  }
  const std::size_t sending = how == codec::CertificateRetrieval::mini ? 1 : certs.size();
  if (budget && *budget < sending) {
    // 2.2.3.101: no recipient gets an incomplete set; CertificateCount then
    // says how many were not returned (2.2.3.21).
    status(w, ResolveStatus::certificate_limit);
    text(w, "CertificateCount", std::to_string(certs.size()));
    text(w, "RecipientCount", "1");
    w.end();
    return;
  }
  if (budget) *budget -= sending;
  status(w, ResolveStatus::success);
  text(w, "CertificateCount", std::to_string(certs.size()));
  text(w, "RecipientCount", "1");
  if (how == codec::CertificateRetrieval::mini) {
    text(w, "MiniCertificate", base64(certs.front()));
  } else {
    for (const std::string& der : certs) text(w, "Certificate", base64(der));
  }
  w.end();
}

}  // namespace

Result<std::vector<std::uint8_t>> runResolveRecipients(CommandContext& ctx,
                                                       const wbxml::Document& body) {
  auto request = codec::decodeResolveRecipientsRequest(body);
  if (!request) {
    log::get("eas")->info("ResolveRecipients from {}/{}: {}", ctx.user, ctx.device_id,
                          request.error().message());
    return statusOnly(ResolveStatus::protocol_error);
  }
  const bool availability =
      request->availability && ctx.protocol_version >= "14.0";              // 2.2.3.16: 14.0+
  const bool picture = request->picture && ctx.protocol_version >= "14.1";  // 2.2.3.135.1: 14.1+
  const std::size_t max_ambiguous =
      request->max_ambiguous_recipients ? *request->max_ambiguous_recipients : kDefaultMaxAmbiguous;
  std::optional<std::size_t> budget;
  if (request->max_certificates) budget = *request->max_certificates;

  // Resolve everything first: a directory failure is Status 6 for the whole request.
  struct Resolved {
    std::vector<directory::User> users;
    std::vector<std::string> certs;
  };
  std::vector<Resolved> resolved(request->to.size());
  if (ctx.directory != nullptr) {
    for (std::size_t i = 0; i < request->to.size(); ++i) {
      auto users = resolve(*ctx.directory, request->to[i]);
      if (!users) {
        log::get("eas")->error("ResolveRecipients for {}: {}", ctx.user, users.error().message());
        return statusOnly(ResolveStatus::server_error);
      }
      resolved[i].users = std::move(*users);
      if (resolved[i].users.size() == 1 &&
          request->certificate_retrieval != codec::CertificateRetrieval::none) {
        auto certs =
            encryptionCertificates(*ctx.directory, resolved[i].users.front().name, ctx.now);
        if (!certs) {
          log::get("eas")->error("ResolveRecipients for {}: {}", ctx.user, certs.error().message());
          return statusOnly(ResolveStatus::server_error);
        }
        resolved[i].certs = std::move(*certs);
      }
    }
  }

  wbxml::Writer w;
  w.start(kNs, "ResolveRecipients");
  status(w, ResolveStatus::success);
  for (std::size_t i = 0; i < request->to.size(); ++i) {
    const std::vector<directory::User>& users = resolved[i].users;
    // MS-ASCMD 2.2.3.153.6 Response: To, Status, RecipientCount, Recipient*.
    w.start(kNs, "Response");
    text(w, "To", request->to[i]);
    if (users.empty()) {
      status(w, ResolveStatus::not_found);
      text(w, "RecipientCount", "0");
    } else if (users.size() == 1) {
      status(w, ResolveStatus::success);
      text(w, "RecipientCount", "1");
      w.start(kNs, "Recipient");
      recipientHeader(w, users.front(), request->to[i]);
      if (availability) {
        w.start(kNs, "Availability");
        status(w, ResolveStatus::free_busy_failed);
        w.end();
      }
      if (request->certificate_retrieval != codec::CertificateRetrieval::none) {
        writeCertificates(w, resolved[i].certs, request->certificate_retrieval, budget);
      }
      if (picture) {
        w.start(kNs, "Picture");
        status(w, ResolveStatus::no_picture);
        w.end();
      }
      w.end();
    } else {
      // 2: all suggestions; 3: a partial list, RecipientCount the total
      // (2.2.3.146). Never certificates for a suggestion.
      const bool partial = users.size() > max_ambiguous;
      status(w, partial ? ResolveStatus::ambiguous_partial : ResolveStatus::ambiguous);
      text(w, "RecipientCount", std::to_string(users.size()));
      const std::size_t shown = std::min(users.size(), max_ambiguous);
      for (std::size_t k = 0; k < shown; ++k) {
        w.start(kNs, "Recipient");
        recipientHeader(w, users[k], request->to[i]);
        w.end();
      }
    }
    w.end();
  }
  w.end();
  return std::move(w).finish();
}

}  // namespace rampart::server::eas
