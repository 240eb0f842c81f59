// Helpers shared by the store tests: temporary directories and messages.
#pragma once

#include <stdlib.h>

#include <filesystem>

#include "testing/temp_dir.h"
#include <string>
#include <system_error>

#include "store/mail_store.h"

namespace rampart::store::testing {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
// The shared temporary directory (tests/testing/temp_dir.h).
class TempDir : public rampart::testing::TempDir {
 public:
  TempDir() : rampart::testing::TempDir("rampart-store") {}
};

inline std::string sampleMessage(const std::string& subject, const std::string& body = "Hello.") {
  return "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: " + subject +
         "\r\nMessage-ID: <" + subject + "@example.org>\r\n\r\n" + body + "\r\n";
}

inline Delivery makeDelivery(const std::string& bytes, std::int64_t received_at,
                             std::vector<Delivery::Target> targets) {
  Delivery d;
  d.bytes = std::make_shared<const std::string>(bytes);
  d.summary.subject = bytes.substr(0, std::min<std::size_t>(bytes.size(), 40));
  d.summary.size = bytes.size();
  d.summary.message_class = "IPM.Note";
  d.received_at = received_at;
  d.targets = std::move(targets);
  return d;
}

inline Delivery::Target toInbox(MailboxId mailbox) {
  Delivery::Target t;
  t.mailbox = mailbox;
  return t;
}

}  // namespace rampart::store::testing
