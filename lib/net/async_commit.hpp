// Awaiting the Committer (lib/store, which knows nothing of Asio): the job runs on a committer
// thread, and the coroutine resumes on its own executor with the result.
#pragma once

#include <asio/awaitable.hpp>

#include "store/committer.hpp"

namespace mail::net {

asio::awaitable<Result<void>> commit(store::Committer& committer, store::CommitJob job);

}  // namespace mail::net
