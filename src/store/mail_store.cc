#include "store/mail_store.h"

#include <algorithm>
#include <future>

namespace rampart::store {

Result<DeliveryReceipt> MailStore::deliverSync(Delivery delivery) {
  std::promise<Result<DeliveryReceipt>> promise;
  auto future = promise.get_future();
  deliver(std::move(delivery),
          [&promise](Result<DeliveryReceipt> r) { promise.set_value(std::move(r)); });
  return future.get();
}

Result<std::vector<Item>> MailStore::getItems(const std::vector<ItemId>& ids) {
  std::vector<ItemId> sorted(ids);
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<Item> out;
  for (ItemId id : sorted) {
    auto item = getItem(id);
    if (item) {
      out.push_back(std::move(*item));
    } else if (!item.error().is(Errc::not_found)) {
      return fail(item.error());
    }
  }
  return out;
}

Result<ItemPage> MailStore::scanItems(FolderId, const ItemRange&, std::size_t) {
  return fail(Errc::internal, "this mail store has no keyset scan");
}

Result<std::size_t> MailStore::countItemsInRange(FolderId, const ItemRange&) {
  return fail(Errc::internal, "this mail store has no keyset scan");
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
