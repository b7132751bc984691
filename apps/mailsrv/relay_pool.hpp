// The relay's idle connections (issue 15): the driver of queue::ConnCache. An attempt that sent its
// last message parks its session here instead of saying QUIT; the next attempt to the same
// destination takes it (after an RSET that shows it is still alive) and skips the TCP and TLS
// handshakes, EHLO and STARTTLS. Idle ones get QUIT when their time ([queue] connection_cache_seconds)
// runs out, when the bounds make room, and at shutdown.
#pragma once

#include <memory>
#include <string>

#include "net/conn.hpp"
#include "net/event_feed.hpp"
#include "queue/conn_cache.hpp"
#include "smtp/client_session.hpp"

namespace asio {
class io_context;
}

namespace mailsrv {

/// One open relay session, greeted and (as [tls] relay said) secured.
struct RelaySession {
  RelaySession(mail::net::Conn c, mail::smtp::ClientSession s) : conn(std::move(c)), cs(std::move(s)) {}
  mail::net::Conn conn;
  mail::smtp::ClientSession cs;
  mail::smtp::ReplyParser parser;
  std::string protection;  // as the `connected` event logs it: "none", or the cipher and whether verified
  int reused = 0;          // attempts that took it from the cache
  mail::net::feed::CloseOnExit closed;  // the feed's `close`, when the connection really ends
};

class RelayPool {
 public:
  RelayPool(asio::io_context& io, mail::queue::CacheLimits limits);
  ~RelayPool();

  /// An idle session to `key`, taken out of the cache; null when there is none.
  std::unique_ptr<RelaySession> take(const mail::queue::CacheKey& key);
  /// The attempt is over: the session waits for the next one, or gets QUIT (cache off, full, stopping).
  void park(const mail::queue::CacheKey& key, std::unique_ptr<RelaySession> s);
  /// Shutdown: every idle session gets QUIT; nothing is parked from now on.
  void stop();
  /// No QUIT is being written.
  bool idle() const noexcept;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace mailsrv
