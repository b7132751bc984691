// fdns's two services: they only move bytes; every answer comes from dns::respond().
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dns/zone.hpp"
#include "net/tcp_server.hpp"
#include "util/result.hpp"

namespace asio {
class io_context;
}

namespace fdns {

class UdpService {
 public:
  static mail::Result<std::unique_ptr<UdpService>> bind(asio::io_context& io, const std::string& address,
                                                        std::uint16_t port, std::shared_ptr<const mail::dns::Zone> zone);
  ~UdpService();
  void start();  // logs event=listening proto=dns
  void stop();
  struct Impl;

 private:
  explicit UdpService(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

/// DNS over TCP (RFC 7766): two-octet length, then the message; several queries per connection.
mail::Result<std::unique_ptr<mail::net::TcpServer>> listen_tcp(asio::io_context& io, const std::string& address,
                                                               std::uint16_t port,
                                                               std::shared_ptr<const mail::dns::Zone> zone);

}  // namespace fdns
