// fdns's two services: they only move bytes; every answer, and what the fault rules make of it, comes
// from dns::respond(). They perform what it cannot: staying silent, and answering later.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "dns/zone.hpp"
#include "fault/fault.hpp"
#include "net/tcp_server.hpp"
#include "util/result.hpp"

namespace asio {
class io_context;
}

namespace fdns {

/// What both services answer from: the zone, and the fault rules (owned by main, outliving them).
struct Answers {
  std::shared_ptr<const mail::dns::Zone> zone;
  mail::fault::Injector* faults = nullptr;
};

class UdpService {
 public:
  static mail::Result<std::unique_ptr<UdpService>> bind(asio::io_context& io, const std::string& address,
                                                        std::uint16_t port, Answers answers);
  ~UdpService();
  void start();  // logs event=listening proto=dns
  void stop();   // also forgets the answers a `delay` rule holds back
  struct Impl;

 private:
  explicit UdpService(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

/// With --events: the `query` event of one answer fdns sends (docs/reference.md "Event feed").
void query_event(const std::string& peer, const char* transport, std::span<const std::uint8_t> answer);

/// DNS over TCP (RFC 7766): two-octet length, then the message; several queries per connection.
mail::Result<std::unique_ptr<mail::net::TcpServer>> listen_tcp(asio::io_context& io, const std::string& address,
                                                               std::uint16_t port, Answers answers);

}  // namespace fdns
