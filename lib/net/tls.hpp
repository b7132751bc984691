// TLS settings (asio::ssl::context behind a small type, so headers stay light).
#pragma once

#include <memory>
#include <string>

#include "net/pki.hpp"
#include "util/result.hpp"

namespace asio::ssl {
class context;
}
struct ssl_st;

namespace mail::net {

class TlsContext {
 public:
  /// For a server: its certificate chain and key (PEM). TLS 1.2 and 1.3 only.
  static Result<std::shared_ptr<TlsContext>> server(const pki::Pem& identity);
  /// A server's new certificate and key: each handshake that starts from now on uses them (OpenSSL copies
  /// them into each connection when its TLS begins); call it on the thread that starts the handshakes.
  Result<void> set_identity(const pki::Pem& identity);
  /// For a client: peers are checked against `ca_pem` after the handshake (Conn::peer_verified);
  /// empty: nothing to check against.
  static Result<std::shared_ptr<TlsContext>> client(const std::string& ca_pem);
  ~TlsContext();

  asio::ssl::context& native() noexcept { return *ctx_; }

  /// Client side, before the handshake of `ssl`: offers the session last given by `destination` (its
  /// name and address), and keeps the one this handshake brings for the next time (TLS 1.3 tickets
  /// arrive after the handshake, with the first read: OpenSSL's new-session callback). At most
  /// kMaxSessions destinations are remembered. Like Postfix's tlsmgr session cache, it saves the full
  /// handshake (the certificate and its key exchange) on every later connection to a destination.
  void resume(ssl_st* ssl, const std::string& destination);
  static constexpr std::size_t kMaxSessions = 1000;

  struct Sessions;

 private:
  TlsContext();
  std::unique_ptr<asio::ssl::context> ctx_;
  std::unique_ptr<Sessions> sessions_;
};

enum class TlsRole { server, client };

}  // namespace mail::net
