#include "parties.hpp"

#include <algorithm>

#include "util/text.hpp"

namespace mailview {

using namespace mail;

namespace {

// "127.0.0.1:2025" -> ("127.0.0.1", 2025); a bad one gives port 0 (names nothing).
std::pair<std::string, std::uint16_t> split_addr(std::string_view addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string_view::npos) return {std::string(addr), 0};
  auto port = util::parse_uint(addr.substr(colon + 1), 65535);
  return {std::string(addr.substr(0, colon)), static_cast<std::uint16_t>(port.value_or(0))};
}

bool any_address(std::string_view ip) { return ip == "0.0.0.0" || ip == "::" || ip == "[::]" || ip.empty(); }

}  // namespace

std::vector<ServerInfo> servers_of(const config::Config& cfg, std::vector<std::string> fdns_domains) {
  std::vector<ServerInfo> out;
  auto [fdns_ip, fdns_port] = split_addr(cfg.fdns_listen);
  out.push_back({"fdns", "fdns", std::move(fdns_domains), fdns_ip, {{"dns", fdns_port}}, false, ""});
  for (const auto& [name, ports] : cfg.server) {
    auto s = cfg.server_settings(name);
    if (!s) continue;
    ServerInfo info{name, "mailsrv", s->domains, s->listen, {}, false, (std::filesystem::path(cfg.var) / name).string()};
    for (auto [key, port] : {std::pair<const char*, std::uint16_t>{"smtp", s->ports.smtp}, {"pop3", s->ports.pop},
                             {"submission", s->submission}, {"smtps", s->smtps}, {"pop3s", s->pop3s}})
      if (port != 0) info.ports.emplace_back(key, port);
    // A mailsrv always offers STARTTLS and STLS (its own certificate or one from the lab CA; it does not
    // start without), and implicit TLS on smtps/pop3s when configured.
    info.tls = true;
    out.push_back(std::move(info));
  }
  return out;
}

Parties::Parties(const std::vector<ServerInfo>& servers) {
  for (const auto& s : servers)
    for (const auto& [_, port] : s.ports) {
      by_port_.emplace_back(any_address(s.address) ? "" : s.address, port);
      names_.push_back(s.name);
    }
}

void Parties::add_relay_end(const std::string& addr, const std::string& server) {
  if (addr.empty()) return;
  if (relay_ends_.insert_or_assign(addr, server).second) relay_order_.push_back(addr);
  while (relay_order_.size() > kMaxRelayEnds) {
    relay_ends_.erase(relay_order_.front());
    relay_order_.pop_front();
  }
}

std::string Parties::listener(std::string_view addr) const {
  auto [ip, port] = split_addr(addr);
  if (port == 0) return {};
  for (std::size_t i = 0; i < by_port_.size(); ++i)
    if (by_port_[i].second == port && (by_port_[i].first.empty() || by_port_[i].first == ip)) return names_[i];
  return {};
}

bool Parties::known(std::string_view server) const {
  return std::find(names_.begin(), names_.end(), server) != names_.end();
}

std::string Parties::name(std::string_view addr) const {
  if (auto s = listener(addr); !s.empty()) return s;
  if (auto it = relay_ends_.find(addr); it != relay_ends_.end()) return it->second;
  return "agent " + split_addr(addr).first;
}

}  // namespace mailview
