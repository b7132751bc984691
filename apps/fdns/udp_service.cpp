#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <list>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "dns/respond.hpp"
#include "net/event_feed.hpp"
#include "net/fault_file.hpp"
#include "services.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace fdns {

using namespace mail;

namespace {

// Answers a `delay` rule holds back at once, at most: beyond, they are dropped (the client asks again).
constexpr std::size_t kMaxDelayed = 4096;

std::string ip_of(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = "";
  if (peer.ss_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, text, sizeof text);
  else if (peer.ss_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr, text, sizeof text);
  return text;
}

std::uint16_t port_of(const sockaddr_storage& peer) {
  if (peer.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(peer).sin_port);
  if (peer.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(peer).sin6_port);
  return 0;
}

}  // namespace

// One recvmmsg/sendmmsg round: up to kBatch queries in, their answers out.
struct Batch {
  static constexpr int kBatch = 32;
  std::array<std::array<std::uint8_t, 4096>, kBatch> in;
  std::array<std::vector<std::uint8_t>, kBatch> out;
  std::array<sockaddr_storage, kBatch> peer;
  std::array<iovec, kBatch> rx_iov, tx_iov;
  std::array<mmsghdr, kBatch> rx, tx;
};

// An answer a `delay` rule holds back, and the timer that sends it.
struct Delayed {
  Delayed(const asio::any_io_executor& ex, std::vector<std::uint8_t> b, const sockaddr_storage& p, socklen_t l)
      : timer(ex), bytes(std::move(b)), peer(p), len(l) {}
  asio::steady_timer timer;
  std::vector<std::uint8_t> bytes;
  sockaddr_storage peer;
  socklen_t len;
};

struct UdpService::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, Answers a) : sock(io), answers(std::move(a)) {}
  asio::ip::udp::socket sock;
  Answers answers;
  std::list<Delayed> delayed;
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
        if (!exchange(*batch)) break;
      }
      if (stopped) break;
      co_await sock.async_wait(asio::ip::udp::socket::wait_read, tuple);
    }
  }

  /// true when more datagrams may be waiting
  bool exchange(Batch& b);

  // A timer per held-back answer, so that other queries are answered meanwhile.
  void send_later(std::vector<std::uint8_t> bytes, const sockaddr_storage& peer, socklen_t len,
                  std::chrono::milliseconds delay) {
    if (delayed.size() >= kMaxDelayed) {
      log::warn("dns", "fault_delay_full", {{"held", delayed.size()}});
      return;
    }
    auto it = delayed.emplace(delayed.end(), sock.get_executor(), std::move(bytes), peer, len);
    it->timer.expires_after(delay);
    it->timer.async_wait([self = shared_from_this(), it](const std::error_code& ec) {
      if (!ec && !self->stopped)
        ::sendto(self->sock.native_handle(), it->bytes.data(), it->bytes.size(), MSG_DONTWAIT,
                 reinterpret_cast<const sockaddr*>(&it->peer), it->len);  // lost if the kernel refuses: UDP
      self->delayed.erase(it);
    });
  }
};

bool UdpService::Impl::exchange(Batch& b) {
  int fd = sock.native_handle();
  for (int i = 0; i < Batch::kBatch; ++i) {
    b.rx_iov[i] = {b.in[i].data(), b.in[i].size()};
    b.rx[i].msg_hdr = {};
    b.rx[i].msg_hdr.msg_name = &b.peer[i];
    b.rx[i].msg_hdr.msg_namelen = sizeof(b.peer[i]);
    b.rx[i].msg_hdr.msg_iov = &b.rx_iov[i];
    b.rx[i].msg_hdr.msg_iovlen = 1;
  }
  int n = ::recvmmsg(fd, b.rx.data(), Batch::kBatch, MSG_DONTWAIT, nullptr);
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;  // e.g. an ICMP error of an earlier reply: go on
  if (n == 0) return false;
  bool rules = answers.faults && !answers.faults->empty();  // the client's address only when a rule may ask
  unsigned m = 0;
  for (int i = 0; i < n; ++i) {
    std::string client = rules ? ip_of(b.peer[i]) : std::string();
    // A datagram larger than the buffer is cut (MSG_TRUNC): what remains is answered as malformed.
    auto fate = dns::respond(*answers.zone, std::span<const std::uint8_t>(b.in[i].data(), b.rx[i].msg_len),
                             dns::Asker{dns::Transport::udp, client, answers.faults}, b.out[i]);
    if (fate.fault) net::log_fault("dns", *fate.fault);
    if (!fate.send) continue;
    if (net::feed::on()) {
      std::string from = ip_of(b.peer[i]);
      query_event(util::format_host_port(from, port_of(b.peer[i])), "udp", b.out[i]);
    }
    if (fate.delay.count() > 0) {
      send_later(std::move(b.out[i]), b.peer[i], b.rx[i].msg_hdr.msg_namelen, fate.delay);
      continue;
    }
    b.tx_iov[m] = {b.out[i].data(), b.out[i].size()};
    b.tx[m].msg_hdr = {};
    b.tx[m].msg_hdr.msg_name = &b.peer[i];
    b.tx[m].msg_hdr.msg_namelen = b.rx[i].msg_hdr.msg_namelen;
    b.tx[m].msg_hdr.msg_iov = &b.tx_iov[m];
    b.tx[m].msg_hdr.msg_iovlen = 1;
    ++m;
  }
  for (unsigned sent = 0; sent < m;) {
    int k = ::sendmmsg(fd, b.tx.data() + sent, m - sent, MSG_DONTWAIT);
    if (k > 0) {
      sent += static_cast<unsigned>(k);
    } else if (k < 0 && errno == EINTR) {
      continue;
    } else {
      ++sent;  // UDP: a reply the kernel will not take now is dropped, the client asks again
    }
  }
  return n == Batch::kBatch;  // a full batch: more may be waiting
}

mail::Result<std::unique_ptr<UdpService>> UdpService::bind(asio::io_context& io, const std::string& address,
                                                           std::uint16_t port, Answers answers) {
  auto impl = std::make_shared<Impl>(io, std::move(answers));
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
  for (auto& d : impl_->delayed) d.timer.cancel();
  std::error_code ec;
  impl_->sock.cancel(ec);
  impl_->sock.close(ec);
}

}  // namespace fdns
