#include "net/tcp_server.hpp"

#include <list>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "net/conn_state.hpp"
#include "util/text.hpp"

namespace mail::net {

struct TcpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, ServerOptions o, SessionFn s)
      : acceptor(io), opts(std::move(o)), session(std::move(s)) {}

  asio::ip::tcp::acceptor acceptor;
  ServerOptions opts;
  SessionFn session;
  std::list<std::weak_ptr<detail::ConnState>> live;
  std::string addr_text;
  bool stopped = false;

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    constexpr auto tuple = asio::experimental::as_tuple(asio::use_awaitable);
    while (!stopped) {
      auto [ec, sock] = co_await acceptor.async_accept(tuple);
      if (stopped) break;
      if (ec) {
        // EMFILE and friends: wait a little instead of spinning, then go on accepting.
        log::warn(opts.svc, "accept_failed", {{"error", ec.message()}});
        asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(50));
        co_await t.async_wait(tuple);
        continue;
      }
      if (live.size() >= opts.max_sessions) {
        refuse(std::move(sock));
        continue;
      }
      std::error_code ignored;
      sock.set_option(asio::ip::tcp::no_delay(true), ignored);
      auto peer = detail::peer_of(sock);
      auto st = std::make_shared<detail::ConnState>(std::move(sock), opts.conn,
                                                    log::Context(opts.svc, detail::next_sid(), peer));
      auto it = live.insert(live.end(), st);
      std::weak_ptr<Impl> weak = self;
      st->on_close = [weak, it] {
        if (auto impl = weak.lock()) impl->live.erase(it);
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
    }
    conn.close();
  }

  void refuse(asio::ip::tcp::socket sock) {
    log::warn(opts.svc, "too_many_sessions", {{"peer", detail::peer_of(sock)}, {"limit", opts.max_sessions}});
    if (!opts.busy_reply.empty()) {
      std::error_code ec;
      sock.non_blocking(true, ec);
      asio::write(sock, asio::buffer(opts.busy_reply), ec);  // best effort, never blocks the loop
    }
    std::error_code ec;
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
