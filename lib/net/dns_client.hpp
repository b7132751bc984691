// A stub resolver talking to one DNS server (fdns, NSD, dnsmasq...): UDP with a timeout and retries,
// TCP when the answer is truncated (RFC 7766), answers checked against the question (id, name,
// type, source), and a TTL cache of positive answers.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

#include "dns/cache.hpp"
#include "net/resolver.hpp"

namespace mail::net {

struct DnsClientOptions {
  std::string server = "127.0.0.1";  // an IP address
  std::uint16_t port = 10053;
  std::chrono::milliseconds timeout{1000};  // per attempt
  int attempts = 3;
  std::size_t cache_size = 4096;
};

class DnsClient final : public Resolver {
 public:
  explicit DnsClient(DnsClientOptions opts);
  asio::awaitable<Result<dns::Answer>> query(dns::Name name, std::uint16_t type) override;

  /// Counters for tests and logs.
  struct Stats {
    std::uint64_t udp_sent = 0, tcp_queries = 0, cache_hits = 0;
  };
  const Stats& stats() const noexcept { return stats_; }

 private:
  DnsClientOptions opts_;
  dns::Cache cache_;
  std::mt19937 rng_;
  Stats stats_;
};

/// "--zone FILE" (in process) when `zone_file` is set, else a DnsClient for `dns_server` (HOST:PORT).
Result<std::unique_ptr<Resolver>> make_resolver(const std::string& zone_file, const std::string& dns_server);

}  // namespace mail::net
