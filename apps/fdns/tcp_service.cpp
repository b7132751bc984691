#include <asio/io_context.hpp>

#include "dns/respond.hpp"
#include "services.hpp"

namespace fdns {

using namespace mail;

namespace {

constexpr std::size_t kMaxTcpSessions = 1024;
constexpr std::chrono::seconds kTcpIdle{10};  // RFC 7766 6.2.3: servers may close idle connections

asio::awaitable<void> serve(net::Conn& conn, std::shared_ptr<const dns::Zone> zone) {
  std::string len, query;
  std::vector<std::uint8_t> answer;
  std::string out;
  while (true) {
    if (co_await conn.read_exact(2, len) != net::ReadStatus::line) break;
    std::size_t n = static_cast<std::uint8_t>(len[0]) << 8 | static_cast<std::uint8_t>(len[1]);
    if (co_await conn.read_exact(n, query) != net::ReadStatus::line) break;
    dns::respond(*zone, std::span(reinterpret_cast<const std::uint8_t*>(query.data()), query.size()),
                 dns::Transport::tcp, answer);
    if (answer.empty()) {
      conn.log().debug("unanswerable", {{"octets", n}});
      break;  // no header to answer to: the stream cannot be trusted any more
    }
    out.assign({static_cast<char>(answer.size() >> 8), static_cast<char>(answer.size() & 0xFF)});
    out.append(reinterpret_cast<const char*>(answer.data()), answer.size());
    if (!co_await conn.write(out)) break;
  }
}

}  // namespace

mail::Result<std::unique_ptr<net::TcpServer>> listen_tcp(asio::io_context& io, const std::string& address,
                                                         std::uint16_t port, std::shared_ptr<const dns::Zone> zone) {
  net::ServerOptions o;
  o.svc = "dns";
  o.proto = "dns";
  o.conn.idle = kTcpIdle;
  o.max_sessions = kMaxTcpSessions;
  return net::TcpServer::listen(io, address, port, o, [zone](net::Conn& c) { return serve(c, zone); });
}

}  // namespace fdns
