// Request bodies of the EAS certificate commands ResolveRecipients (MS-ASCMD
// 2.2.1.15) and ValidateCert (2.2.1.22), code pages 10 and 11 of MS-ASWBXML
// (2.1.2.1.11, 2.1.2.1.12), decoded into plain structs. Pure: no I/O, no
// directory, no X.509; whom a name resolves to and whether a certificate is
// good is the server's business (src/server/eas/*_command.cc).
//
// Decoders fail with Errc::invalid_argument for a body that breaks the
// command's schema (wrong root, a required element missing or repeated, a
// number out of its range, bad base64) and Errc::limit_exceeded past
// CertRequestLimits; the commands answer both in-protocol (ResolveRecipients
// Status 5, ValidateCert Status 2: MS-ASCMD 3.1.5.10). Unknown tags are
// ignored so a newer client's extras do not break a request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"

namespace rampart::eas {

struct CertRequestLimits {
  std::size_t max_recipients = 100;           // To elements (MS-ASCMD 3.1.5.10: 100)
  std::size_t max_to_length = 256;            // one To (MS-ASCMD 2.2.3.183: up to 256 characters)
  std::size_t max_certificates = 100;         // ValidateCert Certificate elements (3.1.5.10: 100)
  std::size_t max_chain = 16;                 // CertificateChain Certificate elements
  std::size_t max_certificate_bytes = 16384;  // one DER certificate, decoded
};

// MS-ASCMD 2.2.3.22 CertificateRetrieval.
enum class CertificateRetrieval : std::uint8_t { none = 1, full = 2, mini = 3 };

// MS-ASCMD 2.2.3.16 Availability (request side): StartTime is required,
// EndTime optional (the server then takes StartTime + 7 days).
struct AvailabilityRequest {
  std::int64_t start = 0;  // Unix seconds
  std::optional<std::int64_t> end;

  bool operator==(const AvailabilityRequest&) const = default;
};

// MS-ASCMD 2.2.3.135.1 Picture (request side, 14.1 and later).
struct PictureRequest {
  std::optional<std::uint32_t> max_size;      // MaxSize, bytes
  std::optional<std::uint32_t> max_pictures;  // MaxPictures

  bool operator==(const PictureRequest&) const = default;
};

struct ResolveRecipientsRequest {
  std::vector<std::string> to;  // 1..max_recipients, each 1..max_to_length, request order
  CertificateRetrieval certificate_retrieval = CertificateRetrieval::none;
  std::optional<std::uint32_t> max_certificates;          // 0-9999 (2.2.3.101)
  std::optional<std::uint32_t> max_ambiguous_recipients;  // 0-9999 (2.2.3.102)
  std::optional<AvailabilityRequest> availability;
  std::optional<PictureRequest> picture;

  bool operator==(const ResolveRecipientsRequest&) const = default;
};

// ResolveRecipients { To+, Options? { CertificateRetrieval?, MaxCertificates?,
// MaxAmbiguousRecipients?, Availability? { StartTime, EndTime? },
// Picture? { MaxSize?, MaxPictures? } } } (MS-ASCMD 2.2.1.15). Too many To
// elements is limit_exceeded; an Availability without a valid StartTime, or an
// EndTime not after StartTime, is invalid_argument (2.2.3.61.1).
Result<ResolveRecipientsRequest> decodeResolveRecipientsRequest(
    const wbxml::Document& doc, const CertRequestLimits& limits = {});

struct ValidateCertRequest {
  std::vector<std::string> certificates;  // DER, 1..max_certificates, request order
  std::vector<std::string> chain;         // DER, helpers for path building
  bool check_crl = false;                 // CheckCRL 1 (2.2.3.26)

  bool operator==(const ValidateCertRequest&) const = default;
};

// ValidateCert { CertificateChain? { Certificate+ }, Certificates { Certificate+ },
// CheckCRL? } (MS-ASCMD 2.2.1.22). A Certificate is base64 text (2.2.3.19.2);
// OPAQUE bytes are taken as DER as they are. Whether the bytes are a
// certificate is not judged here (that is a per-certificate Status).
Result<ValidateCertRequest> decodeValidateCertRequest(const wbxml::Document& doc,
                                                      const CertRequestLimits& limits = {});

// Strict base64 (core/base64.h: RFC 4648 4, padding required, whitespace
// skipped as MS-ASDTYPE string content may carry line breaks); none when
// malformed or longer than max_decoded bytes.
std::optional<std::string> decodeBase64(std::string_view text, std::size_t max_decoded);

}  // namespace rampart::eas
