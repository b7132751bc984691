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
    committer.submit(std::move(j), [h, work, ex](Result<void> r) {
      asio::post(ex, [h, work, r = std::move(r)]() mutable { (*h)(std::move(r)); });
    });
  };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<void>)>(init, asio::use_awaitable,
                                                                                              std::move(job));
}

asio::awaitable<Result<void>> commit(store::Committer& committer, store::CommitJob job) {
  return commit(committer, store::Commit(std::move(job)));  // the job lives in that coroutine's frame
}

}  // namespace mail::net
