// One delivery attempt of the relay (a queue::Connect): the I/O the queue core asks for. Looks the
// destination up (MX, then P and A of each host), opens a session with each address the core hands
// out (STARTTLS as [tls] relay says, through queue::plan_tls/check_tls), sends each message the core
// gives over that one connection, and feeds every outcome back. No decision is made here.
#pragma once

#include <functional>

#include <asio/awaitable.hpp>

#include "net/resolver.hpp"
#include "queue/core.hpp"

namespace mailsrv {

struct Services;

struct AttemptContext {
  Services& svc;
  mail::net::Resolver& resolver;
  mail::queue::Core& core;
  const bool& stopping;  // no new host, no new message
  std::function<asio::awaitable<void>(mail::queue::Effects)> perform;  // effects the core returns on the way
};

/// Runs attempt `c` up to its last host; the caller then calls core.attempt_done.
asio::awaitable<void> run_attempt(AttemptContext& x, const mail::queue::Connect& c);

}  // namespace mailsrv
