// Direct Push (MS-ASCMD 2.2.1.13 Ping; 2.2.3.88.3 and 2.2.3.194 for Sync's
// HeartbeatInterval and Wait): parks a request until one of its folders
// changes, its heartbeat passes, a newer request of the same device replaces
// it, or the server stops.
//
// A parked request is a steady_timer and an entry in two maps, no thread and
// no polling. The hub holds ONE store subscription per watched folder,
// however many requests watch it (a fan-out list inside the hub), and drops it
// with the folder's last waiter. The store calls the hub on its writer thread;
// the hub only marks the waiter done and posts its completion to the waiter's
// own executor, so that callback never blocks.
//
// A change committed between the caller's check for pending changes and the
// moment wait() subscribes would otherwise be lost until the heartbeat. So
// each watched folder carries the change-log position the caller saw
// (Folder::last_seq, read before its check), and once subscribed the hub reads
// every folder's position on the blocking pool: a folder past what the caller
// saw wakes the waiter as changed at once.
//
// Thread-safety: wait(), stop() and parked() may be called from any thread.
// The hub must outlive the store subscriptions it holds; destroying it stops
// it. Completions already posted keep what they need alive.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "net/asio.h"
#include "store/mail_store.h"

namespace rampart::server::eas {

enum class WakeReason {
  changed,     // at least one watched folder has a new change-log entry
  timeout,     // the heartbeat passed
  superseded,  // a newer wait() of the same (user, device) replaced this one
  stopping,    // stop() was called, or the hub is being destroyed
};

struct WakeResult {
  WakeReason reason = WakeReason::timeout;
  std::vector<store::FolderId> changed;  // for `changed`: the folders that woke it
};

struct WatchedFolder {
  store::FolderId id = 0;
  // The folder's Folder::last_seq when the caller last looked (before deciding
  // there was nothing to send). A change past it wakes the waiter; a negative
  // value skips the re-check for this folder.
  store::Seq seen = -1;
};

class PushHub {
 public:
  // `blocking` runs the re-check reads of the mail store (the service's
  // blocking pool).
  PushHub(store::MailStore& mail, net::asio::any_io_executor blocking);
  ~PushHub();
  PushHub(const PushHub&) = delete;
  PushHub& operator=(const PushHub&) = delete;

  // Parks until one of `folders` changes, `timeout` passes, a newer waiter of
  // the same (user, device) arrives (this one then ends `superseded`), or
  // stop() is called; resumes on the awaiting coroutine's executor. After
  // stop(), completes at once with `stopping`. Never fails.
  //
  // Not a coroutine, and the arguments are copied before it returns: callers
  // still pass named locals (docs/decisions/0002-coroutine-temporaries.md).
  net::Task<WakeResult> wait(const std::string& user, const std::string& device_id,
                             const std::vector<WatchedFolder>& folders,
                             std::chrono::milliseconds timeout);

  // Wakes every parked waiter with `stopping` and refuses new ones. Idempotent.
  void stop();

  // Waiters parked now.
  std::size_t parked() const;
  // Store subscriptions held now (one per watched folder).
  std::size_t subscriptions() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace rampart::server::eas
