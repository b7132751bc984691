// The store as a coroutine sees it (docs/architecture.md "A message, from the socket to fsync"):
// each change of the disk is one awaited call that takes what it commits, joins the next group
// commit and returns once it is durable. The staged files travel inside the job (store::Commit), so
// nothing the caller holds must outlive it.
#pragma once

#include <string>

#include <asio/awaitable.hpp>

#include "store/committer.hpp"
#include "store/delivery.hpp"
#include "store/envelope.hpp"
#include "store/layout.hpp"

namespace mail::net {

class Store {
 public:
  /// Both must outlive the Store.
  Store(const store::Layout& layout, store::Committer& committer) : layout_(&layout), committer_(&committer) {}

  const store::Layout& layout() const noexcept { return *layout_; }
  /// Opens the staged copies of a new message (store::Delivery::begin under this layout).
  Result<store::Delivery> begin(store::MessageInfo info) const;

  /// Makes the message durable: its copies placed in each local recipient's new/ and in queue/, the
  /// files and folders fsynced. On failure nothing is placed and the staged copies are removed.
  asio::awaitable<Result<store::Stored>> commit(store::Delivery delivery);
  /// Writes `env` over queue/<id>.json; on failure the previous envelope stays.
  asio::awaitable<Result<void>> save(store::QueueEnvelope env);
  /// Removes queue entry `id`: its envelope first, then its message.
  asio::awaitable<Result<void>> remove(std::string id);

 private:
  const store::Layout* layout_;
  store::Committer* committer_;
};

}  // namespace mail::net
