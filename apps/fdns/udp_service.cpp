#include <sys/socket.h>

#include <array>
#include <cerrno>

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

// One recvmmsg/sendmmsg round: up to kBatch queries in, their answers out.
struct Batch {
  static constexpr int kBatch = 32;
  std::array<std::array<std::uint8_t, 4096>, kBatch> in;
  std::array<std::vector<std::uint8_t>, kBatch> out;
  std::array<sockaddr_storage, kBatch> peer;
  std::array<iovec, kBatch> rx_iov, tx_iov;
  std::array<mmsghdr, kBatch> rx, tx;
  /// true when more datagrams may be waiting
  bool exchange(int fd, const dns::Zone& zone);
};

struct UdpService::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, std::shared_ptr<const dns::Zone> z) : sock(io), zone(std::move(z)) {}
  asio::ip::udp::socket sock;
  std::shared_ptr<const dns::Zone> zone;
  std::string addr_text;
  bool stopped = false;

  // Answers every datagram that is ready, a batch per system call (recvmmsg/sendmmsg), without a trip
  // through the reactor; waits for readability only when the socket is empty.
  asio::awaitable<void> serve() {
    auto self = shared_from_this();
    constexpr auto tuple = asio::experimental::as_tuple(asio::use_awaitable);
    auto batch = std::make_unique<Batch>();
    while (!stopped) {
      for (int round = 0; round < 16 && !stopped; ++round) {  // then let TCP sessions and signals have a turn
        if (!batch->exchange(sock.native_handle(), *zone)) break;
      }
      if (stopped) break;
      co_await sock.async_wait(asio::ip::udp::socket::wait_read, tuple);
    }
  }
};

bool Batch::exchange(int fd, const dns::Zone& zone) {
  for (int i = 0; i < kBatch; ++i) {
    rx_iov[i] = {in[i].data(), in[i].size()};
    rx[i].msg_hdr = {};
    rx[i].msg_hdr.msg_name = &peer[i];
    rx[i].msg_hdr.msg_namelen = sizeof(peer[i]);
    rx[i].msg_hdr.msg_iov = &rx_iov[i];
    rx[i].msg_hdr.msg_iovlen = 1;
  }
  int n = ::recvmmsg(fd, rx.data(), kBatch, MSG_DONTWAIT, nullptr);
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;  // e.g. an ICMP error of an earlier reply: go on
  if (n == 0) return false;
  unsigned m = 0;
  for (int i = 0; i < n; ++i) {
    // A datagram larger than the buffer is cut (MSG_TRUNC): what remains is answered as malformed.
    dns::respond(zone, std::span<const std::uint8_t>(in[i].data(), rx[i].msg_len), dns::Transport::udp, out[i]);
    if (out[i].empty()) continue;
    tx_iov[m] = {out[i].data(), out[i].size()};
    tx[m].msg_hdr = {};
    tx[m].msg_hdr.msg_name = &peer[i];
    tx[m].msg_hdr.msg_namelen = rx[i].msg_hdr.msg_namelen;
    tx[m].msg_hdr.msg_iov = &tx_iov[m];
    tx[m].msg_hdr.msg_iovlen = 1;
    ++m;
  }
  for (unsigned sent = 0; sent < m;) {
    int k = ::sendmmsg(fd, tx.data() + sent, m - sent, MSG_DONTWAIT);
    if (k > 0) {
      sent += static_cast<unsigned>(k);
    } else if (k < 0 && errno == EINTR) {
      continue;
    } else {
      ++sent;  // UDP: a reply the kernel will not take now is dropped, the client asks again
    }
  }
  return n == kBatch;  // a full batch: more may be waiting
}

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
