// The relay's connection cache as a policy (issue 15; docs/reference.md "Relay and bounces"): which
// idle SMTP connection a new attempt may take instead of connecting, how long one stays idle, and
// which to close to stay within bounds. Like Postfix's connection cache
// (smtp_connection_cache_time_limit), it saves the TCP and TLS handshakes, EHLO and STARTTLS when
// one batch of a destination follows another. Pure: connections are numbers, time is an argument
// (milliseconds of a steady clock); the driver (apps/mailsrv/relay_pool.cpp) owns the sockets.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smtp/reply.hpp"

namespace mail::queue {

/// Where a connection goes and how: only a connection made the same way may carry another attempt.
struct CacheKey {
  std::string ip;
  std::uint16_t port = 25;
  bool tls = false;    // STARTTLS was wanted on it (not `plain` after a failed handshake, not [tls] relay = off)
  std::string source;  // our local address (queue::source_address)
  auto operator<=>(const CacheKey&) const = default;
};

struct CacheLimits {
  std::int64_t idle_ms = 5000;       // [queue] connection_cache_seconds; 0: no connection is kept
  std::size_t total = 50;            // idle connections kept in all
  std::size_t per_destination = 20;  // to one key: the destination's concurrency (Limits) could use no more
};

/// Whether a session that ended its last transaction with `last` may carry another: not after 421 (the
/// server is closing it, RFC 5321 3.8).
bool reusable_after(const smtp::Reply& last);

class ConnCache {
 public:
  using Id = std::uint64_t;
  explicit ConnCache(CacheLimits limits = {}) : limits_(limits) {}

  /// Connection `id` to `key` finished its attempt. `kept`: idle until now + idle_ms; else close it
  /// now. `evicted`: older idle connections to close now to stay within the bounds.
  struct Parked {
    bool kept = false;
    std::vector<Id> evicted;
  };
  Parked park(const CacheKey& key, Id id, std::int64_t now);
  /// The idle connection to `key` parked last and not expired, taken out of the cache.
  std::optional<Id> take(const CacheKey& key, std::int64_t now);
  /// The connections whose idle time ran out by `now`, taken out (to close with QUIT).
  std::vector<Id> expire(std::int64_t now);
  /// When the next one runs out; nullopt when none is idle.
  std::optional<std::int64_t> next_expiry() const;
  /// Every idle connection, taken out (at shutdown).
  std::vector<Id> drain();
  std::size_t size() const noexcept { return idle_.size(); }

 private:
  struct Idle {
    Id id = 0;
    CacheKey key;
    std::int64_t until = 0;  // idle until then
  };
  std::vector<Idle> idle_;  // in parking order, oldest first (a few dozen at most)
  CacheLimits limits_;
};

}  // namespace mail::queue
