#include "net/tls.hpp"

#include <asio/ssl/context.hpp>

namespace mail::net {

TlsContext::TlsContext() : ctx_(std::make_unique<asio::ssl::context>(asio::ssl::context::tls)) {}
TlsContext::~TlsContext() = default;

Result<std::shared_ptr<TlsContext>> TlsContext::server(const pki::Pem& identity) {
  std::shared_ptr<TlsContext> t(new TlsContext());
  std::error_code ec;
  auto& c = *t->ctx_;
  c.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                    asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                ec);
  if (ec) return fail(Errc::invalid, "TLS options: " + ec.message());
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
  return t;
}

}  // namespace mail::net
