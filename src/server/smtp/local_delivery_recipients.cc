#include "server/smtp/local_delivery_recipients.h"

namespace rampart::server::smtp {

Result<bool> LocalDeliveryRecipients::isLocal(std::string_view address) {
  auto r = delivery_->resolve(address);
  if (!r) return fail(r.error());
  return r->status == Resolution::Status::local;
}

void LocalDeliveryRecipients::deliverLocal(std::string /*sender*/,
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
  delivery_->deliver(std::move(bytes), std::move(users),
                     [done = std::move(done)](Result<store::DeliveryReceipt> receipt) {
                       done(receipt ? Status{} : Status(fail(receipt.error())));
                     });
}

}  // namespace rampart::server::smtp
