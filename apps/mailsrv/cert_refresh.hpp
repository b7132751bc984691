// A certificate without its MX names (issue 12): when the DNS server did not answer at start, mailsrv
// serves with the certificate it has, looks the names up again in the background and, once they
// answer, issues the certificate again for new connections (docs/reference.md "TLS and authentication").
#pragma once

#include <set>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include "net/pki.hpp"
#include "net/resolver.hpp"

namespace mailsrv {

struct Services;

/// The names of a server certificate, and the domains whose MX hosts could not be looked up.
struct CertNames {
  std::set<std::string> names;
  std::vector<std::string> missing;
};

/// Adds the MX hosts of `domains` to `out.names`; a domain without an answer (no reply, SERVFAIL) goes
/// to `out.missing`. NXDOMAIN and "no MX" are answers: nothing to add, nothing missing.
asio::awaitable<void> add_mx_names(mail::net::Resolver& resolver, std::vector<std::string> domains, CertNames& out);

/// "a,b,c": the names of a cert_* log line.
std::string join_names(const std::vector<std::string>& names);

/// Looks up `names.missing` again through svc.resolver (after 1 s, doubling up to a minute, at most
/// kAttempts times); once every domain answered, issues the certificate again and puts it into
/// svc.tls_server, which every TLS handshake from then on uses. Runs on svc.io.
class CertRefresh {
 public:
  static constexpr int kAttempts = 20;  // about a quarter of an hour

  CertRefresh(Services& svc, mail::net::pki::Pem ca, CertNames names);
  void start();
  /// The server is stopping: no more lookups.
  void stop();

 private:
  asio::awaitable<void> loop();
  void reissue();

  Services& svc_;
  mail::net::pki::Pem ca_;
  CertNames names_;
  asio::steady_timer timer_;
  bool stopped_ = false;
};

}  // namespace mailsrv
