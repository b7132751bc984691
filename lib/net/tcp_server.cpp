#include "net/tcp_server.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <list>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "net/conn_state.hpp"
#include "util/peer_count.hpp"
#include "util/text.hpp"
#include "util/throttle.hpp"

namespace mail::net {

namespace {

constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

// A descriptor held back for the moment the process runs out of them (EMFILE/ENFILE): closing it
// makes room to accept the waiting connection and say 421 instead of leaving it in silence.
int open_reserve() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

bool out_of_descriptors(const std::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == std::error_code(ENFILE, asio::error::get_system_category());
}

}  // namespace

struct TcpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, ServerOptions o, SessionFn s)
      : acceptor(io), opts(std::move(o)), session(std::move(s)), peers(opts.per_peer, opts.per_peer_exempt),
        reserve(open_reserve()) {}
  ~Impl() {
    if (reserve >= 0) ::close(reserve);
  }

  asio::ip::tcp::acceptor acceptor;
  ServerOptions opts;
  SessionFn session;
  std::list<std::weak_ptr<detail::ConnState>> live;
  util::PeerCount peers;
  int reserve;
  util::Throttle accept_log, busy_log, peer_log;  // each at most one line a second
  std::string addr_text;
  bool stopped = false;

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, sock] = co_await acceptor.async_accept(kTuple);
      if (stopped) break;
      if (ec) {
        if (!accept_failed(ec)) {  // nothing to do but wait a little instead of spinning
          asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(50));
          co_await t.async_wait(kTuple);
        }
        continue;
      }
      if (live.size() >= opts.max_sessions) {
        if (busy_log.allow(std::chrono::steady_clock::now()))
          log::warn(opts.svc, "too_many_sessions", {{"peer", detail::peer_of(sock)}, {"limit", opts.max_sessions},
                                                    {"suppressed", busy_log.suppressed()}});
        refuse(std::move(sock), opts.busy_reply);
        continue;
      }
      auto peer = detail::peer_of(sock);
      auto ip = detail::ip_of(peer);
      auto admit = peers.admit(ip);
      if (admit == util::PeerCount::Admit::refused) {
        if (peer_log.allow(std::chrono::steady_clock::now()))
          log::warn(opts.svc, "too_many_from_peer", {{"peer", peer}, {"limit", opts.per_peer},
                                                     {"suppressed", peer_log.suppressed()}});
        refuse(std::move(sock), opts.peer_busy_reply);
        continue;
      }
      start_session(self, std::move(sock), std::move(peer), admit == util::PeerCount::Admit::counted ? ip : "");
    }
  }

  // Logs (at most once a second) and, when out of descriptors, answers the waiting connection through
  // the reserve descriptor. True when a connection was taken off the queue (accept again at once).
  bool accept_failed(const std::error_code& ec) {
    if (accept_log.allow(std::chrono::steady_clock::now()))
      log::warn(opts.svc, "accept_failed", {{"error", ec.message()}, {"suppressed", accept_log.suppressed()}});
    if (reserve < 0) reserve = open_reserve();  // another thread took the slot last time
    if (!out_of_descriptors(ec) || reserve < 0) return false;
    ::close(reserve);
    std::error_code aec;
    acceptor.non_blocking(true, aec);  // never wait here: the connection may have gone meanwhile
    asio::ip::tcp::socket sock(acceptor.get_executor());
    acceptor.accept(sock, aec);
    if (!aec) refuse(std::move(sock), opts.busy_reply);
    reserve = open_reserve();
    return !aec;
  }

  // `counted_ip`: the address PeerCount counted this session under ("" when exempt).
  void start_session(const std::shared_ptr<Impl>& self, asio::ip::tcp::socket sock, std::string peer,
                     std::string counted_ip) {
    std::error_code ignored;
    sock.set_option(asio::ip::tcp::no_delay(true), ignored);
    auto st = std::make_shared<detail::ConnState>(std::move(sock), opts.conn,
                                                  log::Context(opts.svc, detail::next_sid(), std::move(peer)));
    auto it = live.insert(live.end(), st);
    std::weak_ptr<Impl> weak = self;
    st->on_close = [weak, it, ip = std::move(counted_ip)] {
      if (auto impl = weak.lock()) {
        impl->live.erase(it);
        if (!ip.empty()) impl->peers.release(ip);
      }
    };
    detail::start_watchdog(st);
    asio::co_spawn(acceptor.get_executor(), run_session(self, Conn(st)),
                   [svc = opts.svc](const std::exception_ptr& e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       log::error(svc, "session_crashed", {{"what", ex.what()}});
                     }
                   });
  }

  static asio::awaitable<void> run_session(std::shared_ptr<Impl> self, Conn conn) {
    try {
      if (self->opts.implicit_tls) {
        auto r = co_await conn.start_tls(*self->opts.implicit_tls, TlsRole::server);
        if (!r) {
          conn.log().info("tls_failed", {{"why", r.error().detail}});
          conn.close();
          co_return;
        }
      }
      co_await self->session(conn);
    } catch (const std::exception& e) {
      conn.log().error("session_failed", {{"what", e.what()}});  // the last resort: close, never crash
      conn.close();
    }
    co_await conn.finish();  // TLS: close_notify on every way out (QUIT, 421, -ERR, errors)
  }

  // Best effort, never blocking the loop. An implicit-TLS port gets no reply: plaintext would only
  // garble its handshake.
  void refuse(asio::ip::tcp::socket sock, const std::string& reply) {
    std::error_code ec;
    if (!reply.empty() && !opts.implicit_tls) {
      sock.non_blocking(true, ec);
      asio::write(sock, asio::buffer(reply), ec);
    }
    sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    sock.close(ec);
  }
};

Result<std::unique_ptr<TcpServer>> TcpServer::listen(asio::io_context& io, const std::string& address,
                                                     std::uint16_t port, ServerOptions opts, SessionFn session) {
  auto impl = std::make_shared<Impl>(io, std::move(opts), std::move(session));
  std::string where = util::format_host_port(address, port);
  std::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return fail(Errc::invalid, "cannot listen on " + where + " (" + impl->opts.proto + "): not an IP address");
  asio::ip::tcp::endpoint ep(addr, port);
  auto& a = impl->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) {
    auto bound = a.local_endpoint(ec);
    impl->addr_text = util::format_host_port(bound.address().to_string(), bound.port());
    return std::unique_ptr<TcpServer>(new TcpServer(std::move(impl)));
  }
  return fail(Errc::io, "cannot listen on " + where + " (" + impl->opts.proto + "): " + ec.message());
}

TcpServer::~TcpServer() { stop(); }

void TcpServer::start() {
  log::info(impl_->opts.svc, "listening", {{"proto", impl_->opts.proto}, {"addr", impl_->addr_text}});
  asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), asio::detached);
}

void TcpServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  std::error_code ec;
  impl_->acceptor.close(ec);
  for (auto& w : impl_->live)
    if (auto st = w.lock()) detail::request_shutdown(*st);
}

std::size_t TcpServer::active() const noexcept { return impl_->live.size(); }
std::uint16_t TcpServer::port() const noexcept {
  std::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

}  // namespace mail::net
