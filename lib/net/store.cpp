#include "net/store.hpp"

#include "net/async_commit.hpp"
#include "store/queue.hpp"

namespace mail::net {

Result<store::Delivery> Store::begin(store::MessageInfo info) const {
  return store::Delivery::begin(*layout_, std::move(info));
}

asio::awaitable<Result<store::Stored>> Store::commit(store::Delivery delivery) {
  auto sealed = std::move(delivery).seal();
  if (!sealed) co_return std::move(sealed).error();
  auto done = co_await net::commit(*committer_, std::move(sealed->job));
  if (!done) co_return done.error();
  co_return std::move(sealed->stored);
}

asio::awaitable<Result<void>> Store::save(store::QueueEnvelope env) {
  auto job = store::stage_envelope(*layout_, env);
  if (!job) co_return std::move(job).error();
  co_return co_await net::commit(*committer_, std::move(*job));
}

asio::awaitable<Result<void>> Store::remove(std::string id) {
  co_return co_await net::commit(*committer_, store::remove_entry(*layout_, id));
}

}  // namespace mail::net
