// What every EAS command handler gets: the stores, who is asking, from which
// device, in which protocol version, and the decoded request line (for the
// command parameters of MS-ASHTTP 2.2.1.1.1.2.5: ItemId, CollectionId,
// SaveInSent, AcceptMultiPart, ...). Handlers are plain blocking functions
// `Result<std::vector<std::uint8_t>> runX(CommandContext&, const wbxml::Document&)`
// run on the service's blocking pool; the few that wait (Ping, Sync with Wait)
// or send mail are driven by the service around such functions.
#pragma once

#include <cstdint>
#include <string>

#include "codec/eas/request_line.h"
#include "directory/directory.h"
#include "store/device_store.h"
#include "store/mail_store.h"
#include "store/rights_store.h"

namespace rampart::server::eas {

struct CommandContext {
  store::MailStore& mail;
  store::DeviceStore& devices;   // the device exists (the service upserts it first)
  std::string user;              // the authenticated directory user; owns the mailbox
  std::string device_id;
  std::string protocol_version;  // "14.0", "14.1", "16.0", "16.1"
  std::int64_t now = 0;          // Unix seconds, taken once per request
  // The decoded request line; null in tests that do not need parameters.
  const rampart::eas::EasRequest* request = nullptr;
  // The user's primary address and display name (From: of mail the device sends).
  std::string address{};
  std::string display_name{};
  // The raw request body when it is not WBXML (12.1 SendMail: message/rfc822).
  const std::string* raw_body = nullptr;
  // Message security (issue 6): recipients and their published certificates
  // (ResolveRecipients), and the rights templates (Settings, MS-ASRM). Null
  // when the service runs without them; commands then answer as the spec says
  // for a server without the feature.
  directory::Directory* directory = nullptr;
  store::RightsStore* rights = nullptr;

  // 16.0 and later (MS-ASCMD differences between versions are keyed on this).
  bool atLeast16() const { return protocol_version >= "16.0"; }
};

}  // namespace rampart::server::eas
