#include "net/resolver.hpp"

namespace mail::net {

asio::awaitable<Result<dns::Answer>> Resolver::query_text(const std::string& name, std::uint16_t type) {
  auto n = dns::Name::from_text(name);
  if (!n) co_return fail(Errc::invalid, "bad DNS name '" + name + "': " + n.error().detail);
  co_return co_await query(std::move(*n), type);
}

asio::awaitable<Result<std::vector<dns::MxRecord>>> Resolver::mx(std::string domain) {
  auto a = co_await query_text(domain, dns::type::MX);
  if (!a) co_return std::move(a).error();
  if (a->rcode == dns::Rcode::nxdomain) co_return fail(Errc::not_found, domain + ": no such domain (NXDOMAIN)");
  co_return dns::mx_of(*a);
}

asio::awaitable<Result<std::optional<std::uint16_t>>> Resolver::port(std::string host) {
  auto a = co_await query_text(host, dns::type::P);
  if (!a) co_return std::move(a).error();
  if (a->rcode == dns::Rcode::nxdomain) co_return std::optional<std::uint16_t>{};
  co_return dns::port_of(*a);
}

asio::awaitable<Result<std::vector<dns::Ipv4>>> Resolver::addresses(std::string host) {
  auto a = co_await query_text(host, dns::type::A);
  if (!a) co_return std::move(a).error();
  if (a->rcode == dns::Rcode::nxdomain) co_return fail(Errc::not_found, host + ": no such host (NXDOMAIN)");
  co_return dns::addresses_of(*a);
}

asio::awaitable<Result<dns::Answer>> ZoneResolver::query(dns::Name name, std::uint16_t type) {
  co_return zone_->lookup(name, type);
}

}  // namespace mail::net
