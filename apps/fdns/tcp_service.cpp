#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "dns/answer.hpp"
#include "dns/respond.hpp"
#include "net/event_feed.hpp"
#include "net/fault_file.hpp"
#include "services.hpp"

namespace fdns {

using namespace mail;

namespace {

constexpr std::size_t kMaxTcpSessions = 1024;
constexpr std::chrono::seconds kTcpIdle{10};  // RFC 7766 6.2.3: servers may close idle connections

asio::awaitable<void> serve(net::Conn& conn, Answers answers) {
  std::string len, query;
  std::vector<std::uint8_t> answer;
  std::string out;
  std::string client = conn.peer_ip();
  while (true) {
    if (co_await conn.read_exact(2, len) != net::ReadStatus::line) break;
    std::size_t n = static_cast<std::uint8_t>(len[0]) << 8 | static_cast<std::uint8_t>(len[1]);
    if (co_await conn.read_exact(n, query) != net::ReadStatus::line) break;
    auto fate = dns::respond(*answers.zone,
                             std::span(reinterpret_cast<const std::uint8_t*>(query.data()), query.size()),
                             dns::Asker{dns::Transport::tcp, client, answers.faults}, answer);
    if (fate.fault) net::log_fault("dns", *fate.fault);
    if (!fate.send && fate.fault) continue;  // `drop`: this query gets no answer, the client times out
    if (!fate.send) {
      conn.log().debug("unanswerable", {{"octets", n}});
      break;  // no header to answer to: the stream cannot be trusted any more
    }
    if (net::feed::on()) query_event(conn.peer(), "tcp", answer);
    if (fate.delay.count() > 0) {
      // Later queries on this connection wait behind it (answers stay in order); other connections and
      // UDP do not.
      asio::steady_timer timer(co_await asio::this_coro::executor, fate.delay);
      co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
    out.assign({static_cast<char>(answer.size() >> 8), static_cast<char>(answer.size() & 0xFF)});
    out.append(reinterpret_cast<const char*>(answer.data()), answer.size());
    if (!co_await conn.write(out)) break;
  }
}

}  // namespace

void query_event(const std::string& peer, const char* transport, std::span<const std::uint8_t> answer) {
  auto s = dns::summarize(answer);
  if (!s) return;
  net::feed::emit("query", {{"peer", peer}, {"transport", transport}, {"name", s->name}, {"type", s->type},
                            {"rcode", s->rcode}, {"answer", s->answer}});
}

mail::Result<std::unique_ptr<net::TcpServer>> listen_tcp(asio::io_context& io, const std::string& address,
                                                         std::uint16_t port, Answers answers) {
  net::ServerOptions o;
  o.svc = "dns";
  o.proto = "dns";
  o.conn.idle = kTcpIdle;
  o.max_sessions = kMaxTcpSessions;
  return net::TcpServer::listen(io, address, port, o, [answers](net::Conn& c) { return serve(c, answers); });
}

}  // namespace fdns
