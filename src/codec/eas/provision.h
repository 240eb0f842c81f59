// The Provision command's bodies (MS-ASPROV): the request a device sends and
// the response the server answers with, as structs, decoded from and encoded
// to ActiveSync WBXML (code page 14, Provision, and page 18, Settings, for
// settings:DeviceInformation). Pure: no I/O, no store.
//
// Shapes (MS-ASPROV 3.1.5.1, 3.2.5.1):
//   initial request     Provision{ settings:DeviceInformation{Set{...}}?,
//                                  Policies{Policy{PolicyType}} }
//   acknowledgment      Provision{ Policies{Policy{PolicyType, PolicyKey, Status}} }
//   wipe acknowledgment Provision{ RemoteWipe{Status} } or
//                       Provision{ AccountOnlyRemoteWipe{Status} } (16.1)
//   empty               Provision{} (after a status asking for a wipe)
//   response            Provision{ settings:DeviceInformation{settings:Status}?,
//                                  Status, Policies{Policy{PolicyType, Status,
//                                  PolicyKey?, Data{EASProvisionDoc}?}}?,
//                                  RemoteWipe?, AccountOnlyRemoteWipe? }
//                       (the element order of the 6.3 response schema)
//
// Errors: decoding a well-formed document of the wrong shape (wrong root, an
// element that does not belong where it is, a duplicate, a missing
// PolicyType, a value that is not a number where one is required) is
// Errc::invalid_argument; a string over its bound is Errc::limit_exceeded.
// Every detail names the element (e.g. "Provision:PolicyKey"). Encoding a
// struct the protocol version cannot carry is Errc::invalid_argument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/wbxml/document.h"
#include "core/error.h"

namespace rampart::eas {

// MS-ASPROV 2.2.2.43: the only policy type of versions 12.0 to 16.1.
inline constexpr std::string_view kEasPolicyType = "MS-EAS-Provisioning-WBXML";

// Provision status (MS-ASPROV 2.2.2.54.2; 3.1.5.2 lists the 1xx codes the
// server may also answer with, MS-ASCMD 2.2.2).
enum class ProvisionStatus : std::uint8_t { success = 1, protocol_error = 2, server_error = 3 };
// Policy status in a response (2.2.2.54.1).
enum class PolicyStatus : std::uint8_t {
  success = 1,
  no_policy = 2,
  unknown_policy_type = 3,
  corrupt_policy = 4,
  wrong_policy_key = 5,
};
// Policy status in an acknowledgment request (2.2.2.54.1).
enum class PolicyAckStatus : std::uint8_t {
  success = 1,
  partial = 2,  // at least the PIN was enabled
  not_applied = 3,
  third_party = 4,  // the client claims a third party provisioned it
};
// Status of a RemoteWipe / AccountOnlyRemoteWipe acknowledgment (2.2.2.54.3).
enum class WipeStatus : std::uint8_t { success = 1, failure = 2 };

// Our bounds where the specs give one or none.
struct ProvisionLimits {
  // settings:DeviceInformation strings: MS-ASCMD 2.2.3.115 allows Model up to
  // 1024 characters; we hold every Set string to the same bound.
  std::size_t max_device_string = 1024;
  std::size_t max_policy_type = 64;    // our bound; the only valid value has 25
  std::size_t max_policy_key = 64;     // MS-ASPROV 2.2.2.42: at most 64 characters
  std::size_t max_list_entries = 256;  // application lists in EASProvisionDoc
  std::size_t max_list_string = 1024;
};

// settings:DeviceInformation / settings:Set inside Provision (MS-ASPROV
// 2.2.2.53, elements from MS-ASCMD 2.2.3.x): sent in the initial request from
// 14.1 on. Each field is absent when the device did not send it.
struct DeviceInformation {
  std::optional<std::string> model;
  std::optional<std::string> imei;
  std::optional<std::string> friendly_name;
  std::optional<std::string> os;
  std::optional<std::string> os_language;
  std::optional<std::string> phone_number;
  std::optional<std::string> user_agent;       // 12.1+
  std::optional<bool> enable_outbound_sms;     // 14.0+
  std::optional<std::string> mobile_operator;  // 14.0+

  bool operator==(const DeviceInformation&) const = default;
};

struct PolicyRequest {
  std::string policy_type;                  // required (2.2.2.41)
  std::optional<std::uint32_t> policy_key;  // acknowledgment only (2.2.2.42)
  std::optional<std::uint8_t> status;       // acknowledgment only: PolicyAckStatus

  bool operator==(const PolicyRequest&) const = default;
};

struct ProvisionRequest {
  std::optional<DeviceInformation> device_information;
  std::optional<PolicyRequest> policy;
  std::optional<std::uint8_t> remote_wipe_status;               // RemoteWipe{Status}
  std::optional<std::uint8_t> account_only_remote_wipe_status;  // 16.1

  bool operator==(const ProvisionRequest&) const = default;
};

// EASProvisionDoc (MS-ASPROV 2.2.2.28): the settings a device must enforce.
// The defaults are Rampart's secure baseline: a non-simple PIN of at least 6
// characters, lock after 15 minutes, wipe after 10 failures, device and
// storage-card encryption, no unsigned code. An integer left empty
// (std::nullopt) is sent as an empty element, which the spec defines as "not
// set" (3.2.5.1.1). Each element is written only in the protocol versions
// [MS-ASWBXML] 2.1.2.1.15 gives it (most are 12.1+; 2.2.2.x agree).
struct PolicySettings {
  bool device_password_enabled = true;                                     // 2.2.2.25
  bool alphanumeric_device_password_required = false;                      // 2.2.2.20
  bool password_recovery_enabled = false;                                  // 2.2.2.39
  bool require_storage_card_encryption = true;                             // 2.2.2.52
  bool attachments_enabled = true;                                         // 2.2.2.23
  std::optional<std::int64_t> min_device_password_length = 6;              // 2.2.2.38
  std::optional<std::int64_t> max_inactivity_time_device_lock = 900;       // 2.2.2.36, seconds
  std::optional<std::int64_t> max_device_password_failed_attempts = 10;    // 2.2.2.32
  std::optional<std::int64_t> max_attachment_size;                         // 2.2.2.30, bytes
  bool allow_simple_device_password = false;                               // 2.2.2.12
  std::optional<std::int64_t> device_password_expiration;                  // 2.2.2.26, days
  std::optional<std::int64_t> device_password_history = 0;                 // 2.2.2.27
  bool allow_storage_card = true;                                          // 2.2.2.15
  bool allow_camera = true;                                                // 2.2.2.4
  bool require_device_encryption = true;                                   // 2.2.2.46
  bool allow_unsigned_applications = false;                                // 2.2.2.17
  bool allow_unsigned_installation_packages = false;                       // 2.2.2.18
  std::optional<std::int64_t> min_device_password_complex_characters = 1;  // 2.2.2.37
  bool allow_wifi = true;                                                  // 2.2.2.19
  bool allow_text_messaging = true;                                        // 2.2.2.16
  bool allow_pop_imap_email = true;                                        // 2.2.2.10
  std::optional<std::int64_t> allow_bluetooth = 2;          // 2.2.2.2: 0 no, 1 hands-free, 2 yes
  bool allow_irda = true;                                   // 2.2.2.9
  bool require_manual_sync_when_roaming = false;            // 2.2.2.49
  bool allow_desktop_sync = true;                           // 2.2.2.6
  std::optional<std::int64_t> max_calendar_age_filter = 0;  // 2.2.2.31, 0 = all
  bool allow_html_email = true;                             // 2.2.2.7
  std::optional<std::int64_t> max_email_age_filter = 0;     // 2.2.2.33, 0 = all
  std::optional<std::int64_t> max_email_body_truncation_size = -1;       // 2.2.2.34, -1 = none
  std::optional<std::int64_t> max_email_html_body_truncation_size = -1;  // 2.2.2.35
  bool require_signed_smime_messages = false;
  bool require_encrypted_smime_messages = false;
  std::optional<std::int64_t> require_signed_smime_algorithm = 0;                // 0 SHA-1, 1 MD5
  std::optional<std::int64_t> require_encryption_smime_algorithm = 0;            // 0 3DES ...
  std::optional<std::int64_t> allow_smime_encryption_algorithm_negotiation = 1;  // strong only
  bool allow_smime_soft_certs = true;
  bool allow_browser = true;
  bool allow_consumer_email = true;
  bool allow_remote_desktop = true;
  bool allow_internet_sharing = true;
  std::vector<std::string> unapproved_in_rom_applications;  // ApplicationName
  std::vector<std::string> approved_application_hashes;     // Hash

  bool operator==(const PolicySettings&) const = default;
};

struct PolicyResponse {
  std::string policy_type = std::string(kEasPolicyType);
  std::uint8_t status = 1;                  // PolicyStatus
  std::optional<std::uint32_t> policy_key;  // temporary (phase 1) or final (ack)
  std::optional<PolicySettings> settings;   // Data{EASProvisionDoc}: phase 1 only

  bool operator==(const PolicyResponse&) const = default;
};

struct ProvisionResponse {
  std::uint8_t status = 1;                                // ProvisionStatus
  std::optional<std::uint8_t> device_information_status;  // settings:Status, 14.1+
  std::optional<PolicyResponse> policy;
  bool remote_wipe = false;
  bool account_only_remote_wipe = false;  // 16.1 only

  bool operator==(const ProvisionResponse&) const = default;
};

// Reads a request body (already decoded from WBXML). Strict: any element that
// does not belong where it is, in any code page, is an error naming it. The
// protocol version is not needed: the tags are the same in every version.
Result<ProvisionRequest> decodeProvisionRequest(const wbxml::Document& doc,
                                                const ProvisionLimits& limits = {});

// Writes a response for `protocol_version` ("14.1"; one of kSupportedVersions).
// settings:DeviceInformation is left out below 14.1 (MS-ASPROV 2.2.2.53);
// account_only_remote_wipe below 16.1 is an error (2.2.2.1), as is a policy
// type or key the decoder would refuse.
Result<std::vector<std::uint8_t>> encodeProvisionResponse(const ProvisionResponse& response,
                                                          std::string_view protocol_version);

// The device client's side: writes a request (DeviceInformation needs 14.1+,
// AccountOnlyRemoteWipe 16.1, EnableOutboundSMS/MobileOperator 14.0+,
// UserAgent 12.1+: an error otherwise) and reads a response.
Result<std::vector<std::uint8_t>> encodeProvisionRequest(const ProvisionRequest& request,
                                                         std::string_view protocol_version);
Result<ProvisionResponse> decodeProvisionResponse(const wbxml::Document& doc,
                                                  const ProvisionLimits& limits = {});

}  // namespace rampart::eas
