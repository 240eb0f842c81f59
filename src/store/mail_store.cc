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

}  // namespace rampart::store
