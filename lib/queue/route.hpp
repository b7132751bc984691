// What the relay makes of the answers it gets while reaching a destination (docs/reference.md
// "Relay and bounces"): the MX hosts to look up, the addresses to try, and why a host was given up
// (connection refused, greeting refused, the [tls] relay policy, a lost connection). Pure: the
// driver does the lookups and the I/O and passes their results in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "smtp/outcome.hpp"
#include "util/result.hpp"

namespace mail::queue {

/// One address of one mail host of a destination.
struct Target {
  std::string host;  // the MX host's name
  std::string ip;
  std::uint16_t port = 25;
  bool plain = false;  // [tls] relay = may after a failed handshake with this host: no STARTTLS (Core::tls_failed)
  /// "host[ip]:port", as logs and bounces name the server.
  std::string name() const;
};

/// The MX hosts by preference, or why the destination cannot be reached now or ever.
struct Hosts {
  std::vector<std::string> names;
  std::optional<smtp::Outcome> failure;
};
/// The hosts to look up for `domain` given its MX answer: the MX hosts, or the domain itself when it
/// has none (RFC 5321 5.1). NXDOMAIN (Errc::not_found) is permanent (5.1.2), any other error temporary.
Hosts mail_hosts(const std::string& domain, const Result<std::vector<std::string>>& mx);

/// What the resolver said about one mail host: its P record (port) and A records.
struct HostLookup {
  std::string host;
  Result<std::optional<std::uint16_t>> port;
  Result<std::vector<std::string>> addresses;  // dotted quads
};

/// The addresses to try in order, or why there are none.
struct Route {
  std::vector<Target> targets;
  std::optional<smtp::Outcome> failure;
};
/// Every address of every host that resolves (port 25 without a P record). When none does: temporary
/// (4.4.3) if a lookup failed for a reason that may pass, else permanent (5.1.2).
Route route_of(const std::string& domain, const std::vector<HostLookup>& hosts);

/// The local address the relay connects from: the server's own listen address when it and the
/// target are both loopback addresses (a world of hosts on loopback aliases, 127.0.0.N: the peer sees
/// the server's address, as Postfix's smtp_bind_address would give), else "" (the kernel's choice,
/// which on a host with one address is that address already).
std::string source_address(const std::string& listen, const std::string& target_ip);

/// Why a host is given up, for the recipients deferred when no host took the message.
smtp::Outcome connect_failed(const Target& t, const std::string& why);
smtp::Outcome greeting_failed(const Target& t, const smtp::Reply& reply);  // greeting, EHLO and HELO refused
smtp::Outcome connection_lost(const Target& t);

/// [tls] relay on a greeted connection: STARTTLS when offered (may, verify), never (off); with verify,
/// a host without STARTTLS is given up (a temporary failure: no delivery in clear). With may, a target
/// marked `plain` (its TLS failed lately) goes in the clear.
enum class TlsStep { clear, starttls, give_up };
struct TlsPlan {
  TlsStep step = TlsStep::clear;
  smtp::Outcome why;  // when giving up
};
TlsPlan plan_tls(config::RelayTls mode, const Target& t, bool offered, bool client_ready);
/// After STARTTLS: nullopt to go on, else why the host is given up (the handshake failed, or with
/// verify, the certificate did not verify).
std::optional<smtp::Outcome> check_tls(config::RelayTls mode, const Target& t, const Result<void>& handshake, bool verified);

}  // namespace mail::queue
