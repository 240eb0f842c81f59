// LocalRecipients over the server's local delivery pipeline (server/delivery.h):
// an address is local when the directory resolves it to an enabled user in
// one of our domains; delivery files the message into those users' Inboxes.
#pragma once

#include <memory>

#include "server/delivery.h"
#include "server/smtp/local_recipients.h"

namespace rampart::server::smtp {

class LocalDeliveryRecipients final : public LocalRecipients {
 public:
  explicit LocalDeliveryRecipients(std::shared_ptr<LocalDelivery> delivery)
      : delivery_(std::move(delivery)) {}

  Result<Locality> locate(std::string_view address) override;
  void deliverLocal(std::string sender, std::vector<std::string> recipients,
                    std::shared_ptr<const std::string> bytes,
                    std::function<void(Status)> done) override;

 private:
  std::shared_ptr<LocalDelivery> delivery_;
};

}  // namespace rampart::server::smtp
