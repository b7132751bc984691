// One delivery attempt of the relay (a queue::Connect): the I/O the queue core asks for. Looks the
// destination up (MX, then P and A of each host), takes an idle session to each address the core hands
// out from the RelayPool or opens one (STARTTLS as [tls] relay says, through queue::plan_tls/check_tls),
// sends each message the core gives over that one connection, feeds every outcome back, and parks the
// session in the pool for the next attempt. No decision is made here.
#pragma once

#include <functional>

#include <asio/awaitable.hpp>

#include "net/resolver.hpp"
#include "queue/core.hpp"

namespace mailsrv {

struct Services;
class RelayPool;

struct AttemptContext {
  Services& svc;
  mail::net::Resolver& resolver;
  mail::queue::Core& core;
  RelayPool& pool;  // idle connections: taken before connecting, given back after the last message
  const bool& stopping;  // no new host, no new message
  std::function<asio::awaitable<void>(mail::queue::Effects)> perform;  // effects the core returns on the way
};

/// Runs attempt `c` up to its last host; the caller then calls core.attempt_done.
asio::awaitable<void> run_attempt(AttemptContext& x, const mail::queue::Connect& c);

}  // namespace mailsrv
