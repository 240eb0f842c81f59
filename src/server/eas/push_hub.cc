// Direct Push: parked Ping and Sync-with-Wait requests. See push_hub.h.
#include "server/eas/push_hub.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace rampart::server::eas {

namespace asio = net::asio;

class PushHub::Impl : public std::enable_shared_from_this<PushHub::Impl> {
 public:
  // One parked request. Everything a parked Ping costs besides its connection
  // and coroutine: this object (handler and timer inline, one allocation with
  // its shared_ptr control block), its folder ids, its key, and a slot in the
  // fan-out list of each folder.
  struct Waiter {
    explicit Waiter(const asio::any_io_executor& ex) : timer(ex) {}
    virtual ~Waiter() = default;
    // Resumes the awaiting coroutine; runs on `timer`'s executor, once.
    virtual void resume(WakeResult result) = 0;

    asio::steady_timer timer;              // on the awaiting coroutine's executor
    std::string key;                       // user '\0' device id
    std::vector<store::FolderId> folders;  // sorted, unique
    bool done = false;                     // guarded by Impl::mutex_
  };

  template <class Handler>
  struct WaiterWith final : Waiter {
    WaiterWith(const asio::any_io_executor& ex, Handler&& h) : Waiter(ex), handler(std::move(h)) {}
    void resume(WakeResult result) override { std::move(handler)(std::move(result)); }
    Handler handler;
  };

  Impl(store::MailStore& mail, asio::any_io_executor blocking)
      : mail_(mail), blocking_(std::move(blocking)) {}

  template <class Handler>
  void start(Handler handler, const std::string& user, const std::string& device,
             const std::vector<WatchedFolder>& watched, std::chrono::milliseconds timeout) {
    asio::any_io_executor ex = asio::get_associated_executor(handler);
    auto w = std::make_shared<WaiterWith<Handler>>(ex, std::move(handler));
    w->key.reserve(user.size() + 1 + device.size());
    w->key.append(user).push_back('\0');
    w->key.append(device);
    w->folders.reserve(watched.size());
    bool recheck = false;
    for (const WatchedFolder& f : watched) {
      w->folders.push_back(f.id);
      recheck = recheck || f.seen >= 0;
    }
    std::sort(w->folders.begin(), w->folders.end());
    w->folders.erase(std::unique(w->folders.begin(), w->folders.end()), w->folders.end());

    std::shared_ptr<Waiter> waiter = w;
    // Armed before the waiter is visible to other threads, so that the one
    // completion that cancels it always comes after this call.
    w->timer.expires_after(timeout);
    w->timer.async_wait([self = shared_from_this(), waiter](const boost::system::error_code& ec) {
      if (!ec) self->finish(waiter, WakeReason::timeout, {});
    });

    std::vector<std::unique_ptr<store::Subscription>> drop;
    std::shared_ptr<Waiter> superseded;
    bool refused = false;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) {
        refused = true;
        w->done = true;
      } else {
        auto [slot, fresh] = by_device_.try_emplace(w->key, waiter);
        if (!fresh) superseded = std::exchange(slot->second, waiter);
        for (store::FolderId id : w->folders) {
          FolderWatch& fw = fanout_[id];
          if (!fw.subscription) {
            // The store calls this on its writer thread; onChange only looks
            // up and posts.
            Impl* self = this;
            fw.subscription = mail_.subscribe(
                id, [self](store::FolderId folder, store::Seq) { self->onChange(folder); });
          }
          fw.waiters.push_back(waiter);
        }
        // After the new waiter joined: folders both watch keep their subscription.
        if (superseded) {
          superseded->done = true;
          detachLocked(*superseded, drop);
        }
      }
    }
    drop.clear();  // outside the lock: a subscription's destructor waits for its running callback
    if (superseded) post(superseded, WakeResult{WakeReason::superseded, {}});
    if (refused) {
      post(waiter, WakeResult{WakeReason::stopping, {}});
      return;
    }
    if (recheck) {
      std::vector<WatchedFolder> seen;
      for (const WatchedFolder& f : watched) {
        if (f.seen >= 0) seen.push_back(f);
      }
      asio::post(blocking_, [self = shared_from_this(), waiter, seen = std::move(seen)] {
        self->recheck(waiter, seen);
      });
    }
  }

  void stop() {
    std::vector<std::shared_ptr<Waiter>> woken;
    std::vector<std::unique_ptr<store::Subscription>> drop;
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
      for (auto& [key, w] : by_device_) {
        if (w->done) continue;
        w->done = true;
        woken.push_back(std::move(w));
      }
      by_device_.clear();
      for (auto& [id, fw] : fanout_) drop.push_back(std::move(fw.subscription));
      fanout_.clear();
    }
    drop.clear();
    for (const auto& w : woken) post(w, WakeResult{WakeReason::stopping, {}});
  }

  std::size_t parked() const {
    std::lock_guard lock(mutex_);
    return by_device_.size();
  }
  std::size_t subscriptions() const {
    std::lock_guard lock(mutex_);
    return fanout_.size();
  }

 private:
  struct FolderWatch {
    std::unique_ptr<store::Subscription> subscription;
    std::vector<std::shared_ptr<Waiter>> waiters;
  };

  // A committed change to `folder` (store writer thread).
  void onChange(store::FolderId folder) {
    std::vector<std::shared_ptr<Waiter>> woken;
    {
      std::lock_guard lock(mutex_);
      auto it = fanout_.find(folder);
      if (it == fanout_.end()) return;
      woken = it->second.waiters;
    }
    for (const auto& w : woken) finish(w, WakeReason::changed, {folder});
  }

  // The blocking pool, once per wait with positions to compare: a folder past
  // what the caller saw (or gone) changed before the subscription existed.
  void recheck(const std::shared_ptr<Waiter>& w, const std::vector<WatchedFolder>& seen) {
    std::vector<store::FolderId> changed;
    for (const WatchedFolder& f : seen) {
      {
        std::lock_guard lock(mutex_);
        if (w->done) return;
      }
      auto folder = mail_.getFolder(f.id);
      if (folder ? folder->last_seq > f.seen : folder.error().is(Errc::not_found)) {
        changed.push_back(f.id);
      }
    }
    if (!changed.empty()) finish(w, WakeReason::changed, std::move(changed));
  }

  // Ends `w` with `reason` unless something ended it first.
  void finish(const std::shared_ptr<Waiter>& w, WakeReason reason,
              std::vector<store::FolderId> changed) {
    std::vector<std::unique_ptr<store::Subscription>> drop;
    {
      std::lock_guard lock(mutex_);
      if (w->done) return;
      w->done = true;
      auto it = by_device_.find(w->key);
      if (it != by_device_.end() && it->second == w) by_device_.erase(it);
      detachLocked(*w, drop);
    }
    drop.clear();
    post(w, WakeResult{reason, std::move(changed)});
  }

  // Takes `w` out of the fan-out lists; subscriptions left without waiters
  // go to `drop`, to be destroyed once the lock is released.
  void detachLocked(const Waiter& w, std::vector<std::unique_ptr<store::Subscription>>& drop) {
    for (store::FolderId id : w.folders) {
      auto it = fanout_.find(id);
      if (it == fanout_.end()) continue;
      auto& list = it->second.waiters;
      list.erase(std::remove_if(list.begin(), list.end(),
                                [&w](const std::shared_ptr<Waiter>& p) { return p.get() == &w; }),
                 list.end());
      if (list.empty()) {
        drop.push_back(std::move(it->second.subscription));
        fanout_.erase(it);
      }
    }
  }

  // Resumes `w` on its own executor (the timer is touched only there).
  static void post(const std::shared_ptr<Waiter>& w, WakeResult result) {
    asio::post(w->timer.get_executor(), [w, result = std::move(result)]() mutable {
      w->timer.cancel();
      w->resume(std::move(result));
    });
  }

  store::MailStore& mail_;
  asio::any_io_executor blocking_;
  mutable std::mutex mutex_;
  bool stopped_ = false;
  std::unordered_map<std::string, std::shared_ptr<Waiter>> by_device_;
  std::unordered_map<store::FolderId, FolderWatch> fanout_;
};

PushHub::PushHub(store::MailStore& mail, asio::any_io_executor blocking)
    : impl_(std::make_shared<Impl>(mail, std::move(blocking))) {}

PushHub::~PushHub() { impl_->stop(); }

net::Task<WakeResult> PushHub::wait(const std::string& user, const std::string& device_id,
                                    const std::vector<WatchedFolder>& folders,
                                    std::chrono::milliseconds timeout) {
  // Pointers, not copies: asio keeps the initiation's arguments in a frame
  // that lives as long as the wait, and the initiation runs before the
  // awaiting coroutine (which owns the pointees) is suspended.
  auto initiation = [impl = impl_](auto handler, const std::string* u, const std::string* d,
                                   const std::vector<WatchedFolder>* f,
                                   std::chrono::milliseconds t) {
    impl->start(std::move(handler), *u, *d, *f, t);
  };
  return asio::async_initiate<decltype(asio::use_awaitable), void(WakeResult)>(
      initiation, asio::use_awaitable, &user, &device_id, &folders, timeout);
}

void PushHub::stop() { impl_->stop(); }

std::size_t PushHub::parked() const { return impl_->parked(); }

std::size_t PushHub::subscriptions() const { return impl_->subscriptions(); }

}  // namespace rampart::server::eas
