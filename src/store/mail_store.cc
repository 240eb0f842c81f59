#include "store/mail_store.h"

#include <future>

namespace rampart::store {

Result<DeliveryReceipt> MailStore::deliverSync(Delivery delivery) {
  std::promise<Result<DeliveryReceipt>> promise;
  auto future = promise.get_future();
  deliver(std::move(delivery),
          [&promise](Result<DeliveryReceipt> r) { promise.set_value(std::move(r)); });
  return future.get();
}

Result<OofSettings> MailStore::getOof(MailboxId) {
  return fail(Errc::internal, "this mail store keeps no Out of Office settings");
}

Status MailStore::setOof(MailboxId, const OofSettings&) {
  return fail(Errc::internal, "this mail store keeps no Out of Office settings");
}

Result<bool> MailStore::claimAutoReply(MailboxId, std::string_view, std::int64_t, std::int64_t) {
  return fail(Errc::internal, "this mail store keeps no automatic-reply record");
}

}  // namespace rampart::store
