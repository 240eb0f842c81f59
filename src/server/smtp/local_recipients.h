// The seam between mail out and local delivery: which addresses are ours, and
// how a message reaches their Inboxes. The server's local delivery pipeline
// implements it (an adapter in server/mail_server.cc); tests use fakes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace rampart::server::smtp {

class LocalRecipients {
 public:
  virtual ~LocalRecipients() = default;

  enum class Locality {
    remote,          // not one of our domains: the relay's business
    local,           // an enabled local user: deliver directly
    unknown_local,   // one of our domains, but nobody has the address (5.1.1)
    disabled_local,  // the owner is disabled (5.2.1)
  };

  // Where `address` (an RFC 5321 mailbox, matched case-insensitively) belongs.
  // Blocking lookup. Errors: directory/storage failures, which callers treat
  // as temporary.
  virtual Result<Locality> locate(std::string_view address) = 0;

  // Stores `bytes` durably in the Inbox of every recipient (all local), then
  // calls `done` exactly once, from any thread. `sender` is the envelope
  // sender, empty for a bounce. Errors: not_found for a recipient that is no
  // longer local, storage_error; nothing is delivered on error.
  virtual void deliverLocal(std::string sender, std::vector<std::string> recipients,
                            std::shared_ptr<const std::string> bytes,
                            std::function<void(Status)> done) = 0;
};

}  // namespace rampart::server::smtp
