#include "queue/route.hpp"

#include "util/text.hpp"

namespace mail::queue {

using smtp::Outcome;

std::string Target::name() const { return host + "[" + ip + "]:" + std::to_string(port); }

Hosts mail_hosts(const std::string& domain, const Result<std::vector<std::string>>& mx) {
  Hosts out;
  if (!mx) {
    if (mx.error().code == Errc::not_found)
      out.failure = Outcome::ours("5.1.2", "Host or domain name not found: " + domain + " (NXDOMAIN)");
    else
      out.failure = Outcome::ours("4.4.3", "Cannot look up " + domain + ": " + mx.error().detail);
    return out;
  }
  out.names = *mx;
  if (out.names.empty()) out.names.push_back(domain);  // no MX: the domain itself (RFC 5321 5.1)
  return out;
}

Route route_of(const std::string& domain, const std::vector<HostLookup>& hosts) {
  Route out;
  bool temporary = false;
  std::string last;
  for (const auto& h : hosts) {
    if (!h.port || !h.addresses) {
      const Error& err = !h.port ? h.port.error() : h.addresses.error();
      if (err.code != Errc::not_found) temporary = true;
      last = h.host + ": " + err.detail;
      continue;  // this MX host does not resolve: the next one
    }
    for (const auto& a : *h.addresses) out.targets.push_back({h.host, a, h.port->value_or(25)});
    if (h.addresses->empty()) last = h.host + ": no address";
  }
  if (out.targets.empty())
    out.failure = Outcome::ours(temporary ? "4.4.3" : "5.1.2", "No mail host of " + domain + " resolves (" + last + ")");
  return out;
}

std::string source_address(const std::string& listen, const std::string& target_ip) {
  auto loopback = [](const std::string& a) { return a.rfind("127.", 0) == 0 && util::is_ip_literal(a); };
  if (listen == "127.0.0.1" || !loopback(listen) || !loopback(target_ip)) return "";
  return listen;
}

Outcome connect_failed(const Target& t, const std::string& why) {
  return Outcome::ours("4.4.1", "connect to " + t.name() + ": " + why);
}

Outcome greeting_failed(const Target& t, const smtp::Reply& reply) {
  // The server's reply, said by that host; code 0 when it closed the connection without one.
  return Outcome::from_reply(smtp::reply(reply.code, reply.text() + " (from " + t.host + ")"), t.name(), "", "");
}

Outcome connection_lost(const Target& t) { return Outcome::ours("4.4.2", "connection to " + t.host + " lost"); }

TlsPlan plan_tls(config::RelayTls mode, const Target& t, bool offered, bool client_ready) {
  if (t.plain && mode == config::RelayTls::may) return {TlsStep::clear, {}};  // Core::tls_failed
  if (mode != config::RelayTls::off && offered && client_ready) return {TlsStep::starttls, {}};
  if (mode == config::RelayTls::verify)
    return {TlsStep::give_up, Outcome::ours("4.7.5", t.host + " offers no STARTTLS ([tls] relay = verify)")};
  return {TlsStep::clear, {}};
}

std::optional<Outcome> check_tls(config::RelayTls mode, const Target& t, const Result<void>& handshake, bool verified) {
  if (!handshake) return Outcome::ours("4.7.5", "STARTTLS with " + t.host + " failed: " + handshake.error().detail);
  if (mode == config::RelayTls::verify && !verified)
    return Outcome::ours("4.7.5", "certificate of " + t.host + " could not be verified");
  return std::nullopt;
}

}  // namespace mail::queue
