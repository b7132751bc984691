// mw-resolve: asks the project's resolver (net::DnsClient with --dns, net::ZoneResolver with --zone)
// and prints what callers would see. Used by the end-to-end tests to compare with dig.
//   mw-resolve --dns 127.0.0.1:10053 gmail.com MX       -> "MX 10 gmail-smtp-in.l.google.com"
//   mw-resolve --zone fdns/fdns.toml --route gmail.com   -> "gmail-smtp-in.l.google.com 127.0.0.1 2025"
#include <cstdio>
#include <iostream>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include "dns/record_type.hpp"
#include "net/dns_client.hpp"
#include "util/cli.hpp"

using namespace mail;

namespace {

constexpr util::OptSpec kOptions[] = {
    {0, "dns", "IP:PORT", "DNS server"},
    {0, "zone", "FILE", "zone file, in process"},
    {0, "route", "", "print the MX hosts of a domain with their address and port"},
};

asio::awaitable<int> lookup(net::Resolver& r, std::string name, std::string type_text) {
  const dns::RecordType* t = dns::find_record_type(type_text);
  std::uint16_t type = t ? t->code : dns::type::ANY;
  auto n = dns::Name::from_text(name);
  if (!n) {
    std::cerr << "mw-resolve: " << n.error().detail << "\n";
    co_return 2;
  }
  auto a = co_await r.query(*n, type);
  if (!a) {
    std::cerr << "mw-resolve: " << a.error().detail << "\n";
    co_return 1;
  }
  std::cout << "rcode " << dns::rcode_name(a->rcode) << "\n";
  for (const auto& rec : a->records) std::cout << dns::to_text(rec.type, rec.data) << "\n";
  co_return 0;
}

asio::awaitable<int> route(net::Resolver& r, std::string domain) {
  auto mx = co_await r.mx(domain);
  if (!mx) {
    std::cerr << "mw-resolve: " << mx.error().detail << "\n";
    co_return 1;
  }
  for (const auto& m : *mx) {
    auto host = m.exchange.to_text();
    auto port = co_await r.port(host);
    auto addrs = co_await r.addresses(host);
    if (!port || !addrs) {
      std::cerr << "mw-resolve: " << (port ? addrs.error().detail : port.error().detail) << "\n";
      co_return 1;
    }
    for (const auto& a : *addrs)
      std::cout << host << " " << dns::to_string(a) << " " << (port->has_value() ? std::to_string(**port) : "25") << "\n";
  }
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = util::parse_args(kOptions, argc, argv);
  if (!args || args->has("dns") == args->has("zone")) {
    std::cerr << "usage: mw-resolve (--dns IP:PORT | --zone FILE) (NAME TYPE | --route DOMAIN)\n";
    return 2;
  }
  auto resolver = net::make_resolver(args->get("zone"), args->get("dns"));
  if (!resolver) {
    std::cerr << "mw-resolve: " << resolver.error().detail << "\n";
    return 2;
  }
  asio::io_context io;
  int rc = 2;
  auto& r = **resolver;
  if (args->has("route") && args->positional.size() == 1) {
    asio::co_spawn(io, route(r, args->positional[0]), [&](std::exception_ptr, int v) { rc = v; });
  } else if (args->positional.size() == 2) {
    asio::co_spawn(io, lookup(r, args->positional[0], args->positional[1]), [&](std::exception_ptr, int v) { rc = v; });
  } else {
    std::cerr << "usage: mw-resolve (--dns IP:PORT | --zone FILE) (NAME TYPE | --route DOMAIN)\n";
    return 2;
  }
  io.run();
  if (auto* c = dynamic_cast<net::DnsClient*>(&r))
    std::cerr << "stats udp=" << c->stats().udp_sent << " tcp=" << c->stats().tcp_queries << "\n";
  return rc;
}
