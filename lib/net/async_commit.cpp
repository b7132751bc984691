#include "net/async_commit.hpp"

#include <memory>

#include <asio/async_result.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

namespace mail::net {

asio::awaitable<Result<void>> commit(store::Committer& committer, store::Commit job) {
  auto ex = co_await asio::this_coro::executor;
  auto init = [&committer, ex](auto handler, store::Commit j) {
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    auto work = asio::make_work_guard(ex);  // the io_context waits for us, even while stopping
    // The handler and the work guard move on with the result: the committer keeps its `done` a little
    // longer (to the end of its batch), and by then the io_context may be gone with its coroutine.
    committer.submit(std::move(j), [h, work, ex](Result<void> r) mutable {
      asio::post(ex, [h = std::move(h), work = std::move(work), r = std::move(r)]() mutable { (*h)(std::move(r)); });
    });
  };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<void>)>(init, asio::use_awaitable,
                                                                                              std::move(job));
}

}  // namespace mail::net
