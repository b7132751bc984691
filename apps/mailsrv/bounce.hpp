// Storing a bounce (docs/reference.md "Relay and bounces"): the DSN (smtp::build_dsn) from MAILER-DAEMON with the null
// sender, delivered like any message: into the sender's Maildir, or queued for a remote sender.
#pragma once

#include <optional>

#include <asio/awaitable.hpp>

#include "queue/core.hpp"
#include "util/result.hpp"

namespace mailsrv {

struct Services;

/// Stores the bounce `b` asks for; the new queue entry when it goes to a remote sender.
asio::awaitable<mail::Result<std::optional<mail::store::QueueEnvelope>>> store_bounce(Services& svc, const mail::queue::Bounce& b);

}  // namespace mailsrv
