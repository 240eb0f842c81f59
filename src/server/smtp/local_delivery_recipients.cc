#include "server/smtp/local_delivery_recipients.h"

namespace rampart::server::smtp {

Result<LocalRecipients::Locality> LocalDeliveryRecipients::locate(std::string_view address) {
  auto r = delivery_->resolve(address);
  if (!r) return fail(r.error());
  switch (r->status) {
    case Resolution::Status::local: return Locality::local;
    case Resolution::Status::unknown_user: return Locality::unknown_local;
    case Resolution::Status::disabled: return Locality::disabled_local;
    case Resolution::Status::non_local_domain: break;
  }
  return Locality::remote;
}

void LocalDeliveryRecipients::deliverLocal(std::string sender,
                                           std::vector<std::string> recipients,
                                           std::shared_ptr<const std::string> bytes,
                                           std::function<void(Status)> done) {
  std::vector<std::string> users;
  for (const auto& address : recipients) {
    auto r = delivery_->resolve(address);
    if (!r) return done(fail(r.error()));
    if (r->status != Resolution::Status::local) {
      return done(fail(Errc::not_found, "<" + address + "> is no longer a local user"));
    }
    users.push_back(r->user);
  }
  delivery_->deliver(std::move(bytes), std::move(users), std::move(sender),
                     [done = std::move(done)](Result<store::DeliveryReceipt> receipt) {
                       done(receipt ? Status{} : Status(fail(receipt.error())));
                     });
}

}  // namespace rampart::server::smtp
