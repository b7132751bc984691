// The one way to find a mail host: MX, then P (port) and A (address), whether the answers come
// from a DNS server (DnsClient) or from a zone file in process (ZoneResolver). docs/reference.md "The world".
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>

#include "dns/answer.hpp"
#include "dns/zone.hpp"
#include "util/result.hpp"

namespace mail::net {

class Resolver {
 public:
  virtual ~Resolver() = default;

  /// NOERROR and NXDOMAIN are answers (Answer::rcode); no reply, SERVFAIL or REFUSED are errors
  /// (Errc::timeout, Errc::temporary): callers retry those later.
  virtual asio::awaitable<Result<dns::Answer>> query(dns::Name name, std::uint16_t type) = 0;

  /// MX hosts by preference; empty when the domain exists without MX; Errc::not_found for NXDOMAIN.
  asio::awaitable<Result<std::vector<dns::MxRecord>>> mx(std::string domain);
  /// The host's P record; nullopt when it has none (callers then use the protocol's port).
  asio::awaitable<Result<std::optional<std::uint16_t>>> port(std::string host);
  /// The host's A records; Errc::not_found for NXDOMAIN.
  asio::awaitable<Result<std::vector<dns::Ipv4>>> addresses(std::string host);

 protected:
  asio::awaitable<Result<dns::Answer>> query_text(const std::string& name, std::uint16_t type);
};

/// Answers from a zone loaded in process (`--zone FILE`).
class ZoneResolver final : public Resolver {
 public:
  explicit ZoneResolver(std::shared_ptr<const dns::Zone> zone) : zone_(std::move(zone)) {}
  asio::awaitable<Result<dns::Answer>> query(dns::Name name, std::uint16_t type) override;

 private:
  std::shared_ptr<const dns::Zone> zone_;
};

}  // namespace mail::net
