// Local delivery: from recipient addresses to messages in mailboxes.
//
// Shared by every way mail arrives for a local user: LMTP (lmtp/), and later
// SMTP-out for local recipients and EAS SendMail. It resolves an address to a
// directory user, and stores one message once for any number of users, with
// its MIME summary, through MailStore::deliver() (durable when it reports
// success).
//
// Thread-safety: every method may be called from any thread. resolve() blocks
// on the directory; deliver() blocks while it summarises and opens mailboxes,
// then returns and reports through `done` on a store thread.
#pragma once

#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "codec/mime/summary.h"
#include "core/clock.h"
#include "core/error.h"
#include "directory/directory.h"
#include "store/mail_store.h"

namespace rampart::server {

struct Resolution {
  enum class Status {
    local,             // `user` owns the address and is enabled
    unknown_user,      // a local domain, but nobody owns the address
    disabled,          // the owner is disabled
    non_local_domain,  // the domain is not one of ours
  };
  Status status = Status::unknown_user;
  std::string user;  // the directory user name when `local`
};

// What LocalDelivery reports after each successful delivery (onDelivered):
// enough for work that follows a delivery, such as Out of Office replies
// (server/oof_replier.h), without LocalDelivery knowing about that work.
struct DeliveredMessage {
  std::shared_ptr<const std::string> bytes;  // the message as stored
  std::vector<std::string> users;            // directory user names, each once
  std::string envelope_sender;               // RFC 5321 reverse-path; empty for <>
  std::int64_t received_at = 0;              // Unix seconds
};

class LocalDelivery {
 public:
  // `local_domains` (lower case): the domains whose mail is ours; empty means
  // every domain is, and the directory alone decides.
  LocalDelivery(std::shared_ptr<store::MailStore> store, std::shared_ptr<directory::Directory> directory,
                std::vector<std::string> local_domains, Clock& clock = systemClock(),
                mime::SummaryLimits summary_limits = {});

  // Whether `address`'s domain is one of ours (case-insensitive).
  bool isLocalDomain(std::string_view address) const;

  // Resolves an RFC 5321 mailbox ("alice@example.org"; "postmaster" alone
  // means postmaster at our first domain). Errors: the directory's own
  // (Errc::storage_error, Errc::unavailable), which callers answer as temporary.
  Result<Resolution> resolve(std::string_view address) const;

  // Stores `bytes` once and files it into the Inbox of each user in
  // `user_names` (duplicates are filed once), creating mailboxes on first use.
  // Malformed MIME is stored verbatim and summarised as far as it parses.
  // `done` runs exactly once: on a store thread after the durable commit, or
  // on the calling thread when the delivery fails before reaching the store.
  void deliver(std::shared_ptr<const std::string> bytes, std::vector<std::string> user_names,
               std::function<void(Result<store::DeliveryReceipt>)> done);
  // The same, naming the envelope sender (without angle brackets, empty for
  // the null sender <>), which the onDelivered hook receives.
  void deliver(std::shared_ptr<const std::string> bytes, std::vector<std::string> user_names,
               std::string envelope_sender, std::function<void(Result<store::DeliveryReceipt>)> done);

  // Called after each successful delivery, on the store thread, right after
  // `done`; it must not block or call the store synchronously (queue the
  // work elsewhere). A failed delivery is not reported. Replaces the previous
  // hook; nullptr removes it. Thread-safe: once this returns, the previous
  // hook is no longer running and is never called again (it is destroyed
  // here, on the caller's thread).
  using DeliveredHook = std::function<void(const DeliveredMessage&)>;
  void onDelivered(DeliveredHook hook);

  // The clock that stamps deliveries; sessions use it for Received: too.
  Clock& clock() const { return clock_; }
  store::MailStore& store() { return *store_; }
  directory::Directory& directory() { return *directory_; }

 private:
  std::shared_ptr<store::MailStore> store_;
  std::shared_ptr<directory::Directory> directory_;
  std::vector<std::string> local_domains_;
  Clock& clock_;
  mime::SummaryLimits summary_limits_;
  // Shared with pending deliveries' callbacks, so that a callback never
  // outlives the hook's slot.
  struct HookSlot {
    std::shared_mutex mutex;  // shared while calling, exclusive while replacing
    DeliveredHook hook;
  };
  std::shared_ptr<HookSlot> hook_slot_ = std::make_shared<HookSlot>();
};

}  // namespace rampart::server
