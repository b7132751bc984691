#include "net/tls.hpp"

#include <map>

#include <asio/ssl/context.hpp>
#include <openssl/ssl.h>

namespace mail::net {

// The client's sessions by destination; each SSL_SESSION holds one reference of ours.
struct TlsContext::Sessions {
  std::map<std::string, SSL_SESSION*> by_destination;
  ~Sessions() {
    for (auto& [_, s] : by_destination) SSL_SESSION_free(s);
  }
  void put(const std::string& destination, SSL_SESSION* s) {
    auto it = by_destination.find(destination);
    if (it != by_destination.end()) {
      SSL_SESSION_free(it->second);
      it->second = s;
      return;
    }
    if (by_destination.size() >= kMaxSessions) {
      SSL_SESSION_free(by_destination.begin()->second);
      by_destination.erase(by_destination.begin());
    }
    by_destination.emplace(destination, s);
  }
};

namespace {
// Where OpenSSL's callback finds the destination of a connection and the sessions of its context.
int destination_index() {
  static const int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr,
                                              [](void*, void* p, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<std::string*>(p); });
  return idx;
}
int sessions_index() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}
// A session the server gave (a TLS 1.3 ticket, or a TLS 1.2 session). A copy is kept: OpenSSL marks
// the connection's own session not resumable when the connection ends without close_notify (the
// relay's QUIT and close), which would spoil the one we hold.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* destination = static_cast<std::string*>(SSL_get_ex_data(ssl, destination_index()));
  auto* sessions = static_cast<TlsContext::Sessions*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), sessions_index()));
  if (destination == nullptr || sessions == nullptr) return 0;
  if (SSL_SESSION* copy = SSL_SESSION_dup(session)) sessions->put(*destination, copy);
  return 0;  // OpenSSL keeps its own reference to `session`
}
}  // namespace

TlsContext::TlsContext()
    : ctx_(std::make_unique<asio::ssl::context>(asio::ssl::context::tls)), sessions_(std::make_unique<Sessions>()) {}
TlsContext::~TlsContext() = default;

void TlsContext::resume(ssl_st* ssl, const std::string& destination) {
  SSL_set_ex_data(ssl, destination_index(), new std::string(destination));
  auto it = sessions_->by_destination.find(destination);
  if (it != sessions_->by_destination.end() && SSL_SESSION_is_resumable(it->second)) SSL_set_session(ssl, it->second);
}

Result<std::shared_ptr<TlsContext>> TlsContext::server(const pki::Pem& identity) {
  std::shared_ptr<TlsContext> t(new TlsContext());
  std::error_code ec;
  auto& c = *t->ctx_;
  c.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                    asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                ec);
  if (ec) return fail(Errc::invalid, "TLS options: " + ec.message());
  // Resumption for clients that come back (Postfix's smtp with its tlsmgr cache, mailsrv's relay): TLS
  // 1.3 tickets and the TLS 1.2 session cache, both on by default in OpenSSL; the id context names
  // this server's sessions.
  static const unsigned char kId[] = "mailsrv";
  SSL_CTX_set_session_id_context(c.native_handle(), kId, sizeof kId - 1);
  SSL_CTX_set_session_cache_mode(c.native_handle(), SSL_SESS_CACHE_SERVER);
  if (auto r = t->set_identity(identity); !r) return r.error();
  return t;
}

Result<void> TlsContext::set_identity(const pki::Pem& identity) {
  // Checked before the context is touched: OpenSSL drops the old key when a new certificate does not
  // match it, so a failure half way would leave every listener without a usable identity.
  if (!pki::pair_matches(identity)) return fail(Errc::invalid, "TLS certificate or key: they do not belong together");
  std::error_code ec;
  ctx_->use_certificate_chain(asio::buffer(identity.cert), ec);
  if (!ec) ctx_->use_private_key(asio::buffer(identity.key), asio::ssl::context::pem, ec);
  if (ec) return fail(Errc::invalid, "TLS certificate or key: " + ec.message());
  return {};
}

Result<std::shared_ptr<TlsContext>> TlsContext::client(const std::string& ca_pem) {
  std::shared_ptr<TlsContext> t(new TlsContext());
  std::error_code ec;
  auto& c = *t->ctx_;
  c.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                    asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1,
                ec);
  if (!ca_pem.empty()) c.add_certificate_authority(asio::buffer(ca_pem), ec);
  if (ec) return fail(Errc::invalid, "CA certificate: " + ec.message());
  c.set_verify_mode(asio::ssl::verify_none);  // checked after the handshake: "may" only logs it
  // Sessions are kept per destination by resume(), not in OpenSSL's internal store (keyed by session id).
  SSL_CTX_set_session_cache_mode(c.native_handle(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_set_ex_data(c.native_handle(), sessions_index(), t->sessions_.get());
  SSL_CTX_sess_set_new_cb(c.native_handle(), on_new_session);
  return t;
}

}  // namespace mail::net
