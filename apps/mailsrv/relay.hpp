// The queue runner (docs/reference.md "Relay and bounces"): delivers queued mail to other servers found through
// the resolver (MX, then P for the port and A for the address), retries temporary failures on the
// [queue] schedule, and returns permanent failures to the sender as RFC 3464 bounces.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>

#include "net/resolver.hpp"
#include "store/envelope.hpp"

namespace asio {
class io_context;
}

namespace mailsrv {

struct Services;

class Relay {
 public:
  Relay(asio::io_context& io, Services& svc, mail::net::Resolver& resolver);
  ~Relay();

  /// Loads the queue (recovering from a crash) and starts delivering what is due: everything, at start.
  void start();
  /// A new entry was committed to the queue.
  void add(mail::store::QueueEnvelope env);
  /// No new deliveries; those in flight finish.
  void stop();
  bool idle() const noexcept;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace mailsrv
