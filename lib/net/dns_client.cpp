#include "net/dns_client.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <array>

#include "dns/message.hpp"
#include "util/text.hpp"

namespace mail::net {
namespace {

constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);
using namespace asio::experimental::awaitable_operators;

// Is `m` the reply to `q`? (RFC 5452 9.1: id and question must match.)
bool matches(const dns::Message& m, const dns::Message& q) {
  return m.header.qr && m.header.id == q.header.id && m.questions.size() == 1 &&
         m.questions[0].name == q.questions[0].name && m.questions[0].type == q.questions[0].type &&
         m.questions[0].klass == q.questions[0].klass;
}

// Waits for a matching reply on a connected UDP socket; other packets are ignored.
asio::awaitable<Result<dns::Message>> udp_receive(asio::ip::udp::socket& sock, const dns::Message& q) {
  std::vector<std::uint8_t> buf(65535);
  while (true) {
    auto [ec, n] = co_await sock.async_receive(asio::buffer(buf), kTuple);
    if (ec) co_return fail(ec == asio::error::connection_refused ? Errc::refused : Errc::io, ec.message());
    auto m = dns::decode(std::span<const std::uint8_t>(buf.data(), n));
    if (m && matches(*m, q)) co_return std::move(*m);
  }
}

asio::awaitable<Result<dns::Message>> udp_exchange(const asio::ip::udp::endpoint& server, const dns::Message& q,
                                                   const std::vector<std::uint8_t>& bytes,
                                                   std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  asio::ip::udp::socket sock(ex);
  std::error_code ec;
  sock.open(server.protocol(), ec);
  if (!ec) sock.connect(server, ec);  // only the server's packets reach us; ICMP errors are reported
  if (!ec) sock.send(asio::buffer(bytes), 0, ec);
  if (ec) co_return fail(Errc::io, ec.message());
  asio::steady_timer timer(ex, timeout);
  auto r = co_await (udp_receive(sock, q) || timer.async_wait(kTuple));
  if (r.index() == 1) co_return fail(Errc::timeout, "no reply within " + std::to_string(timeout.count()) + " ms");
  co_return std::move(std::get<0>(r));
}

asio::awaitable<Result<dns::Message>> tcp_talk(asio::ip::tcp::socket& sock, const asio::ip::tcp::endpoint& server,
                                               const dns::Message& q, const std::vector<std::uint8_t>& bytes) {
  auto [cec] = co_await sock.async_connect(server, kTuple);
  if (cec) co_return fail(cec == asio::error::connection_refused ? Errc::refused : Errc::io, "tcp: " + cec.message());
  const std::uint8_t prefix[2] = {static_cast<std::uint8_t>(bytes.size() >> 8), static_cast<std::uint8_t>(bytes.size())};
  const std::array<asio::const_buffer, 2> framed{asio::buffer(prefix), asio::buffer(bytes)};
  auto [wec, wn] = co_await asio::async_write(sock, framed, kTuple);
  if (wec) co_return fail(Errc::io, "tcp: " + wec.message());
  std::uint8_t len[2];
  auto [lec, ln] = co_await asio::async_read(sock, asio::buffer(len), kTuple);
  if (lec) co_return fail(Errc::io, "tcp: " + lec.message());
  std::vector<std::uint8_t> buf(static_cast<std::size_t>(len[0] << 8 | len[1]));
  auto [rec, rn] = co_await asio::async_read(sock, asio::buffer(buf), kTuple);
  if (rec) co_return fail(Errc::io, "tcp: " + rec.message());
  auto m = dns::decode(buf);
  if (!m) co_return fail(Errc::parse, "tcp: bad reply: " + m.error().detail);
  if (!matches(*m, q)) co_return fail(Errc::parse, "tcp: reply does not match the question");
  co_return std::move(*m);
}

asio::awaitable<Result<dns::Message>> tcp_exchange(const asio::ip::tcp::endpoint& server, const dns::Message& q,
                                                   const std::vector<std::uint8_t>& bytes,
                                                   std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::socket sock(ex);
  asio::steady_timer timer(ex, timeout);
  auto r = co_await (tcp_talk(sock, server, q, bytes) || timer.async_wait(kTuple));
  if (r.index() == 1) co_return fail(Errc::timeout, "tcp: no reply within " + std::to_string(timeout.count()) + " ms");
  co_return std::move(std::get<0>(r));
}

}  // namespace

DnsClient::DnsClient(DnsClientOptions opts) : opts_(std::move(opts)), cache_(opts_.cache_size), rng_(std::random_device{}()) {}

asio::awaitable<Result<dns::Answer>> DnsClient::query(dns::Name name, std::uint16_t type) {
  auto now = dns::Cache::Clock::now();
  if (auto hit = cache_.get(name, type, now)) {
    ++stats_.cache_hits;
    co_return std::move(*hit);
  }
  std::error_code ec;
  auto addr = asio::ip::make_address(opts_.server, ec);
  if (ec) co_return fail(Errc::invalid, "DNS server is not an IP address: " + opts_.server);
  std::string where = util::format_host_port(opts_.server, opts_.port);

  dns::Message q;
  q.header.id = static_cast<std::uint16_t>(rng_());
  q.header.rd = true;
  q.questions.push_back(dns::Question{name, type, dns::kClassIn});
  q.edns = dns::Edns{};
  auto bytes = dns::encode(q);

  Error last{Errc::timeout, "no reply"};
  for (int attempt = 0; attempt < opts_.attempts; ++attempt) {
    ++stats_.udp_sent;
    auto reply = co_await udp_exchange(asio::ip::udp::endpoint(addr, opts_.port), q, bytes, opts_.timeout);
    if (reply && reply->header.tc) {
      ++stats_.tcp_queries;
      reply = co_await tcp_exchange(asio::ip::tcp::endpoint(addr, opts_.port), q, bytes, opts_.timeout);
    }
    if (!reply) {
      last = std::move(reply).error();
      continue;
    }
    auto rcode = reply->header.rcode;
    if (rcode != dns::Rcode::noerror && rcode != dns::Rcode::nxdomain)
      co_return fail(Errc::temporary, "DNS server " + where + " answered " + dns::rcode_name(rcode) + " for " +
                                          name.to_text());
    dns::Answer a{rcode, std::move(reply->answers), std::move(reply->additional)};
    cache_.put(name, type, a, dns::Cache::Clock::now());
    co_return a;
  }
  co_return fail(last.code == Errc::refused ? Errc::refused : Errc::timeout,
                 "DNS server " + where + " did not answer for " + name.to_text() + " (" +
                     std::to_string(opts_.attempts) + " tries; last: " + last.detail + ")");
}

Result<std::unique_ptr<Resolver>> make_resolver(const std::string& zone_file, const std::string& dns_server) {
  if (!zone_file.empty()) {
    auto zone = dns::Zone::load(zone_file);
    if (!zone) return std::move(zone).error();
    return std::unique_ptr<Resolver>(
        std::make_unique<ZoneResolver>(std::make_shared<const dns::Zone>(std::move(*zone))));
  }
  auto hp = util::parse_host_port(dns_server, 53);
  if (!hp) return std::move(hp).error();
  if (!util::is_ip_literal(hp->host)) return fail(Errc::invalid, "DNS server must be an IP address: " + dns_server);
  DnsClientOptions o;
  o.server = hp->host;
  o.port = hp->port;
  return std::unique_ptr<Resolver>(std::make_unique<DnsClient>(o));
}

}  // namespace mail::net
