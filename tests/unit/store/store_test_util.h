// Helpers shared by the store tests: temporary directories and messages.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "store/mail_store.h"

namespace rampart::store::testing {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rampart-store-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
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
