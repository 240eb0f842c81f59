#include "server/smtp/outbound.h"

#include <boost/asio/post.hpp>

#include "core/log.h"

namespace rampart::server::smtp {

net::Task<Status> deliverLocally(LocalRecipients& local, std::string sender,
                                 std::vector<std::string> recipients,
                                 std::shared_ptr<const std::string> bytes) {
  namespace asio = net::asio;
  auto executor = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Status)>(
      [&](auto handler) {
        // The store calls back on its own thread; the coroutine must resume on
        // its executor. std::function needs a copyable callable, hence the
        // shared_ptr around the move-only handler.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        local.deliverLocal(std::move(sender), std::move(recipients), std::move(bytes),
                           [executor, shared](Status st) {
                             asio::post(executor, [shared, st = std::move(st)]() mutable {
                               (*shared)(std::move(st));
                             });
                           });
      },
      asio::use_awaitable);
}

Outbound::Outbound(store::OutboundQueue& queue, LocalRecipients& local, Clock& clock,
                   bool relay_enabled, std::function<void()> wake_relay)
    : queue_(queue), local_(local), clock_(clock), relay_enabled_(relay_enabled),
      wake_relay_(std::move(wake_relay)) {}

net::Task<Result<SubmitResult>> Outbound::submit(std::string sender,
                                                 std::vector<std::string> recipients,
                                                 std::shared_ptr<const std::string> bytes) {
  if (recipients.empty()) co_return fail(Errc::invalid_argument, "no recipients");
  SubmitResult result;
  std::size_t remote = 0;
  for (auto& r : recipients) {
    auto where = local_.locate(r);
    if (!where) co_return fail(where.error());
    if (*where == LocalRecipients::Locality::remote) ++remote;
    // Unknown and disabled local addresses are queued too: the relay worker
    // turns them into a bounce, as for any other permanent failure.
    (*where == LocalRecipients::Locality::local ? result.delivered_locally : result.queued)
        .push_back(std::move(r));
  }
  if (remote != 0 && !relay_enabled_) {
    co_return fail(Errc::permission_denied,
                   "no relay configured for " + std::to_string(remote) + " non-local recipient(s)");
  }
  if (!result.delivered_locally.empty()) {
    auto st = co_await deliverLocally(local_, sender, result.delivered_locally, bytes);
    if (!st) co_return fail(st.error());
  }
  if (!result.queued.empty()) {
    auto id = queue_.enqueue(sender, result.queued, *bytes, clock_.now());
    if (!id) co_return fail(id.error());
    result.queue_id = *id;
    log::get("smtp")->info("queued {} from=<{}> recipients={} size={}", *id, sender,
                           result.queued.size(), bytes->size());
    if (wake_relay_) wake_relay_();
  }
  co_return result;
}

}  // namespace rampart::server::smtp
