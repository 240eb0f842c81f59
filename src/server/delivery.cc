#include "server/delivery.h"

#include <algorithm>
#include <set>
#include <utility>

namespace rampart::server {

namespace {

std::string lowerCopy(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

LocalDelivery::LocalDelivery(std::shared_ptr<store::MailStore> store,
                             std::shared_ptr<directory::Directory> directory,
                             std::vector<std::string> local_domains, Clock& clock,
                             mime::SummaryLimits summary_limits)
    : store_(std::move(store)),
      directory_(std::move(directory)),
      clock_(clock),
      summary_limits_(summary_limits) {
  for (const std::string& d : local_domains) local_domains_.push_back(lowerCopy(d));
}

bool LocalDelivery::isLocalDomain(std::string_view address) const {
  if (local_domains_.empty()) return true;
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return false;
  std::string domain = lowerCopy(address.substr(at + 1));
  return std::find(local_domains_.begin(), local_domains_.end(), domain) != local_domains_.end();
}

Result<Resolution> LocalDelivery::resolve(std::string_view address) const {
  std::string lookup(address);
  if (address.find('@') == std::string_view::npos) {
    // RFC 5321 4.1.1.3: the bare "<Postmaster>" is postmaster of this host.
    if (local_domains_.empty()) return Resolution{Resolution::Status::unknown_user, {}};
    lookup += "@" + local_domains_.front();
  } else if (!isLocalDomain(address)) {
    return Resolution{Resolution::Status::non_local_domain, {}};
  }
  auto user = directory_->findByAddress(lookup);
  if (!user) return fail(user.error());
  if (!*user) return Resolution{Resolution::Status::unknown_user, {}};
  if (!(*user)->enabled) return Resolution{Resolution::Status::disabled, (*user)->name};
  return Resolution{Resolution::Status::local, (*user)->name};
}

void LocalDelivery::deliver(std::shared_ptr<const std::string> bytes, std::vector<std::string> user_names,
                            std::function<void(Result<store::DeliveryReceipt>)> done) {
  deliver(std::move(bytes), std::move(user_names), std::string(), std::move(done));
}

void LocalDelivery::onDelivered(DeliveredHook hook) {
  DeliveredHook previous;
  {
    std::unique_lock lock(hook_slot_->mutex);
    previous = std::exchange(hook_slot_->hook, std::move(hook));
  }
  // `previous` is destroyed here, outside the lock: its owner may join threads.
}

void LocalDelivery::deliver(std::shared_ptr<const std::string> bytes, std::vector<std::string> user_names,
                            std::string envelope_sender,
                            std::function<void(Result<store::DeliveryReceipt>)> done) {
  if (!bytes || user_names.empty()) {
    done(fail(Errc::invalid_argument, "delivery without message or recipients"));
    return;
  }
  store::Delivery delivery;
  std::set<std::string> seen;
  for (const std::string& name : user_names) {
    if (!seen.insert(name).second) continue;  // one copy per mailbox
    auto mailbox = store_->openMailbox(name);
    if (!mailbox) {
      done(fail(mailbox.error()));
      return;
    }
    store::Delivery::Target target;
    target.mailbox = *mailbox;
    target.type = store::FolderType::inbox;
    delivery.targets.push_back(target);
  }
  // summarize() never fails: malformed MIME comes back with well_formed cleared
  // and is stored verbatim all the same.
  delivery.summary = mime::summarize(*bytes, summary_limits_);
  delivery.received_at = unixSeconds(clock_.now());
  auto delivered = std::make_shared<DeliveredMessage>();
  delivered->bytes = bytes;
  delivered->users.assign(seen.begin(), seen.end());
  delivered->envelope_sender = std::move(envelope_sender);
  delivered->received_at = delivery.received_at;
  delivery.bytes = std::move(bytes);
  store_->deliver(std::move(delivery),
                  [done = std::move(done), slot = hook_slot_, delivered](Result<store::DeliveryReceipt> r) {
                    const bool stored = r.has_value();
                    done(std::move(r));
                    // After the durable commit and after `done`: whatever the
                    // hook does cannot delay or fail this delivery.
                    if (!stored) return;
                    std::shared_lock lock(slot->mutex);
                    if (slot->hook) slot->hook(*delivered);
                  });
}

}  // namespace rampart::server
