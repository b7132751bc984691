// A coroutine TCP acceptor that runs one session per connection, caps concurrent sessions in all and
// per client address, answers even when out of file descriptors (a reserve descriptor, as nginx and
// Postfix keep), and on stop() closes the listener and asks every live session to finish.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>

#include "net/conn.hpp"
#include "util/cidr.hpp"
#include "util/result.hpp"

namespace asio {
class io_context;
}

namespace mail::net {

struct ServerOptions {
  std::string svc = "tcp";         // log service name (svc=smtp)
  std::string proto = "tcp";       // the proto= of the event=listening line
  ConnOptions conn;
  std::size_t max_sessions = 10000;
  std::string busy_reply;          // written to a connection refused for being over the cap, or when
                                   // the process is out of file descriptors
  std::size_t per_peer = 0;        // concurrent sessions per client address, 0 = no cap
  std::vector<util::Cidr> per_peer_exempt;  // addresses never counted
  std::string peer_busy_reply;     // written to a connection over per_peer
  std::shared_ptr<TlsContext> implicit_tls;  // TLS before the session starts (SMTPS, POP3S)
};

using SessionFn = std::function<asio::awaitable<void>(Conn&)>;

class TcpServer {
 public:
  /// Binds and listens (port 0 picks a free port); an error names the address and the reason.
  static Result<std::unique_ptr<TcpServer>> listen(asio::io_context& io, const std::string& address,
                                                   std::uint16_t port, ServerOptions opts, SessionFn session);
  ~TcpServer();

  /// Logs event=listening and starts accepting.
  void start();
  /// Stops accepting and calls Conn::shutdown() on every session.
  void stop();
  std::size_t active() const noexcept;
  std::uint16_t port() const noexcept;

  struct Impl;

 private:
  explicit TcpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace mail::net
