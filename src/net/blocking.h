// Running blocking work (password hashing, directory lookups) on a thread
// pool from a coroutine, resuming on the coroutine's own executor.
//
// Deliberately not a coroutine itself, and it takes its arguments by
// reference: g++ 12 destroys temporaries that live across a co_await twice
// (closures and by-value parameters alike), so callers pass named locals.
#pragma once

#include <memory>
#include <utility>

#include <boost/asio/post.hpp>

#include "net/asio.h"

namespace rampart::net {

// co_await runBlocking<R>(pool, fn): runs `fn` (returning R) on `pool` and
// resumes the awaiting coroutine on its executor with the result. That
// executor counts as busy meanwhile, so io_context::run() does not return.
//
// Pass `fn` as a named local (an lvalue): g++ 12 destroys closure temporaries
// that live across a co_await twice.
template <class R, class F>
auto runBlocking(const asio::any_io_executor& pool, const F& fn) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
      [pool](auto handler, F work) {
        auto back = asio::prefer(asio::get_associated_executor(handler),
                                 asio::execution::outstanding_work.tracked);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        asio::post(pool, [work = std::move(work), shared, back]() mutable {
          auto result = std::make_shared<R>(work());
          asio::post(back, [shared, result]() mutable { (*shared)(std::move(*result)); });
        });
      },
      asio::use_awaitable, fn);
}

}  // namespace rampart::net
