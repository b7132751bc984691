// Awaiting the Committer (lib/store, which knows nothing of Asio): the job runs on a committer
// thread, and the coroutine resumes on its own executor with the result.
#pragma once

#include <asio/awaitable.hpp>

#include "store/committer.hpp"

namespace mail::net {

/// The job owns its staged files: they are settled on the committer thread before the result comes
/// back, whether or not the awaiting coroutine is still there to take it.
asio::awaitable<Result<void>> commit(store::Committer& committer, store::Commit job);

}  // namespace mail::net
