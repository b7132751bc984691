// Who is who in the world: the servers of the config (fdns and each mailsrv, with their ports) and the
// names of the parties of a session, matched by IP:PORT (docs/view.md "Parties"): a server's listening
// port names that server, the local address of a relay client session names its sender, and any other
// client is "agent IP".
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace mailview {

struct ServerInfo {
  std::string name;  // "fdns" or the [server] name
  std::string kind;  // "fdns" | "mailsrv"
  std::vector<std::string> domains;
  std::string address;  // listening IP
  std::vector<std::pair<std::string, std::uint16_t>> ports;  // ("smtp", 2025)..., only those in use
  bool tls = false;     // offers TLS: every mailsrv (STARTTLS/STLS), not fdns
  std::string data;     // state folder (mailsrv): <paths.var>/NAME
};

/// fdns first (listening on [fdns] listen), then every [server] in name order. `fdns_domains`: the
/// domains fdns answers MX for (from its zone; may be empty).
std::vector<ServerInfo> servers_of(const mail::config::Config& cfg, std::vector<std::string> fdns_domains = {});

class Parties {
 public:
  explicit Parties(const std::vector<ServerInfo>& servers);
  /// `addr` (IP:PORT) is the local end of a relay session of `server`. Keeps the last kMaxRelayEnds.
  void add_relay_end(const std::string& addr, const std::string& server);
  /// The server listening on `addr`, the server whose relay session used it, else "agent IP".
  std::string name(std::string_view addr) const;
  /// Whether `server` is a server of the config (events from other names are not kept: the history stays
  /// bounded whoever writes to the socket).
  bool known(std::string_view server) const;
  /// Only the servers' ports: "" when no server listens on `addr`.
  std::string listener(std::string_view addr) const;

  static constexpr std::size_t kMaxRelayEnds = 10000;

 private:
  std::vector<std::pair<std::string, std::uint16_t>> by_port_;  // (IP or "" for any, port) per server
  std::vector<std::string> names_;
  std::map<std::string, std::string, std::less<>> relay_ends_;
  std::deque<std::string> relay_order_;
};

}  // namespace mailview
