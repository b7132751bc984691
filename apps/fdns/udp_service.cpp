#include <array>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/use_awaitable.hpp>

#include "dns/respond.hpp"
#include "services.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace fdns {

using namespace mail;

struct UdpService::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, std::shared_ptr<const dns::Zone> z) : sock(io), zone(std::move(z)) {}
  asio::ip::udp::socket sock;
  std::shared_ptr<const dns::Zone> zone;
  std::string addr_text;
  bool stopped = false;

  // Answers every datagram that is ready without a trip through the reactor, then waits for more.
  asio::awaitable<void> serve() {
    auto self = shared_from_this();
    constexpr auto tuple = asio::experimental::as_tuple(asio::use_awaitable);
    auto buf = std::make_unique<std::array<std::uint8_t, 65536>>();
    std::vector<std::uint8_t> answer;
    answer.reserve(dns::kEdnsUdpSize);
    asio::ip::udp::endpoint from;
    while (!stopped) {
      for (int batch = 0; batch < 64; ++batch) {  // then let TCP sessions and signals have a turn
        std::error_code ec;
        std::size_t n = sock.receive_from(asio::buffer(*buf), from, 0, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again || stopped) break;
        if (ec) continue;  // e.g. an ICMP error of an earlier reply: nothing to answer
        dns::respond(*zone, std::span<const std::uint8_t>(buf->data(), n), dns::Transport::udp, answer);
        if (!answer.empty()) sock.send_to(asio::buffer(answer), from, 0, ec);  // UDP: a full buffer drops it
      }
      if (stopped) break;
      co_await sock.async_wait(asio::ip::udp::socket::wait_read, tuple);
    }
  }
};

mail::Result<std::unique_ptr<UdpService>> UdpService::bind(asio::io_context& io, const std::string& address,
                                                           std::uint16_t port,
                                                           std::shared_ptr<const dns::Zone> zone) {
  auto impl = std::make_shared<Impl>(io, std::move(zone));
  std::string where = util::format_host_port(address, port);
  std::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return fail(Errc::invalid, "cannot listen on " + where + " (udp): not an IP address");
  asio::ip::udp::endpoint ep(addr, port);
  impl->sock.open(ep.protocol(), ec);
  if (!ec) impl->sock.bind(ep, ec);
  if (!ec) impl->sock.non_blocking(true, ec);
  if (ec) return fail(Errc::io, "cannot listen on " + where + " (udp): " + ec.message());
  auto bound = impl->sock.local_endpoint(ec);
  impl->addr_text = util::format_host_port(bound.address().to_string(), bound.port());
  return std::unique_ptr<UdpService>(new UdpService(std::move(impl)));
}

UdpService::~UdpService() { stop(); }

void UdpService::start() {
  log::info("dns", "listening", {{"proto", "dns"}, {"transport", "udp"}, {"addr", impl_->addr_text}});
  asio::co_spawn(impl_->sock.get_executor(), impl_->serve(), asio::detached);
}

void UdpService::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  std::error_code ec;
  impl_->sock.cancel(ec);
  impl_->sock.close(ec);
}

}  // namespace fdns
