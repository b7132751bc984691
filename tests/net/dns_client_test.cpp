// net::DnsClient against scripted DNS servers on loopback: retries, spoofed ids, TCP fallback,
// SERVFAIL, the cache; and ZoneResolver behind the same interface.
#include <doctest/doctest.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/udp.hpp>
#include <asio/use_awaitable.hpp>

#include "dns/respond.hpp"
#include "net/dns_client.hpp"
#include "net/tcp_server.hpp"
#include "run.hpp"

using namespace mail;
using namespace std::chrono_literals;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

namespace {

std::shared_ptr<const dns::Zone> test_zone() {
  std::string text = R"([MX]
"gmail.com." = [ { pref = 20, host = "mx2.gmail.com." }, { pref = 10, host = "mx1.gmail.com." } ]
"big.example." = [
)";
  for (int i = 0; i < 60; ++i)
    text += "{ pref = " + std::to_string(i) + ", host = \"a-rather-long-mail-exchanger-name-" + std::to_string(i) + ".example.\" },\n";
  text += R"(]
[P]
"mx1.gmail.com." = 2025
[A]
"mx2.gmail.com." = "127.0.0.9"
)";
  auto z = dns::Zone::parse(text, "test.toml");
  REQUIRE(z);
  return std::make_shared<const dns::Zone>(std::move(*z));
}

enum class Script { answer, drop_first, spoof_first, servfail };

struct FakeUdp {
  asio::ip::udp::socket sock;
  std::shared_ptr<const dns::Zone> zone;
  Script script;
  int received = 0;
};

asio::awaitable<void> fake_udp(FakeUdp* f) {
  std::vector<std::uint8_t> buf(65535), out;
  asio::ip::udp::endpoint from;
  while (true) {
    auto [ec, n] = co_await f->sock.async_receive_from(asio::buffer(buf), from, kTuple);
    if (ec) co_return;
    ++f->received;
    std::span<const std::uint8_t> q(buf.data(), n);
    if (f->script == Script::drop_first && f->received == 1) continue;
    dns::respond(*f->zone, q, dns::Transport::udp, out);
    if (f->script == Script::servfail) out[3] = static_cast<std::uint8_t>((out[3] & 0xF0) | 2);
    if (f->script == Script::spoof_first && f->received == 1) {
      auto spoof = out;
      spoof[0] ^= 0xFF;  // wrong id: must be ignored, the real answer follows
      co_await f->sock.async_send_to(asio::buffer(spoof), from, kTuple);
    }
    co_await f->sock.async_send_to(asio::buffer(out), from, kTuple);
  }
}

struct Fixture {
  asio::io_context io;
  std::shared_ptr<const dns::Zone> zone = test_zone();
  FakeUdp udp{asio::ip::udp::socket(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), zone,
              Script::answer};
  std::uint16_t port = udp.sock.local_endpoint().port();

  explicit Fixture(Script s) {
    udp.script = s;
    asio::co_spawn(io, fake_udp(&udp), [](std::exception_ptr) {});
  }
  net::DnsClient client() {
    net::DnsClientOptions o;
    o.port = port;
    o.timeout = 300ms;
    return net::DnsClient(o);
  }
};

asio::awaitable<void> expect_gmail(net::Resolver* r) {
  auto mx = co_await r->mx("gmail.com");
  REQUIRE(mx);
  REQUIRE(mx->size() == 2);
  CHECK((*mx)[0].exchange.to_text() == "mx1.gmail.com");
  CHECK((*mx)[1].preference == 20);
  auto port = co_await r->port("mx1.gmail.com");
  REQUIRE(port);
  CHECK(*port == std::optional<std::uint16_t>(2025));
  auto none = co_await r->port("mx2.gmail.com");
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
  auto a = co_await r->addresses("MX2.gmail.com.");
  REQUIRE(a);
  CHECK(*a == std::vector<dns::Ipv4>{{127, 0, 0, 9}});
  auto nx = co_await r->mx("nowhere.example");
  REQUIRE_FALSE(nx);
  CHECK(nx.error().code == Errc::not_found);
  auto nodata = co_await r->mx("mx1.gmail.com");
  REQUIRE(nodata);
  CHECK(nodata->empty());
}

asio::awaitable<void> one_mx(net::DnsClient* c, Errc* code, bool* ok) {
  auto r = co_await c->query(*dns::Name::from_text("gmail.com"), dns::type::MX);
  *ok = r.has_value();
  if (!r) *code = r.error().code;
}

asio::awaitable<void> big_mx(net::DnsClient* c, std::size_t* count) {
  auto r = co_await c->mx("big.example");
  REQUIRE(r);
  *count = r->size();
}

asio::awaitable<void> serve_tcp_dns(net::Conn& conn, std::shared_ptr<const dns::Zone> zone) {
  std::string len, q;
  std::vector<std::uint8_t> out;
  while (co_await conn.read_exact(2, len) == net::ReadStatus::line) {
    if (co_await conn.read_exact(static_cast<std::uint8_t>(len[0]) << 8 | static_cast<std::uint8_t>(len[1]), q) !=
        net::ReadStatus::line)
      break;
    dns::respond(*zone, std::span(reinterpret_cast<const std::uint8_t*>(q.data()), q.size()), dns::Transport::tcp, out);
    std::string framed{static_cast<char>(out.size() >> 8), static_cast<char>(out.size() & 0xFF)};
    framed.append(out.begin(), out.end());
    if (!co_await conn.write(framed)) break;
  }
}

}  // namespace

TEST_CASE("DnsClient: MX, P and A through the Resolver interface, then from the cache") {
  Fixture f(Script::answer);
  auto c = f.client();
  nettest::run(f.io, expect_gmail(&c));
  auto sent = c.stats().udp_sent;
  CHECK(sent == 6);
  nettest::run(f.io, expect_gmail(&c));
  CHECK(c.stats().udp_sent == sent + 3);  // the three answers without records are asked again
  CHECK(c.stats().cache_hits == 3);
}

TEST_CASE("ZoneResolver answers the same way, in process") {
  Fixture f(Script::answer);
  net::ZoneResolver z(f.zone);
  nettest::run(f.io, expect_gmail(&z));
  CHECK(f.udp.received == 0);
}

TEST_CASE("DnsClient retries after a lost datagram") {
  Fixture f(Script::drop_first);
  auto c = f.client();
  bool ok = false;
  Errc code{};
  nettest::run(f.io, one_mx(&c, &code, &ok));
  CHECK(ok);
  CHECK(c.stats().udp_sent == 2);
}

TEST_CASE("DnsClient ignores a reply with the wrong id") {
  Fixture f(Script::spoof_first);
  auto c = f.client();
  bool ok = false;
  Errc code{};
  nettest::run(f.io, one_mx(&c, &code, &ok));
  CHECK(ok);
  CHECK(c.stats().udp_sent == 1);
}

TEST_CASE("SERVFAIL is a temporary error") {
  Fixture f(Script::servfail);
  auto c = f.client();
  bool ok = true;
  Errc code{};
  nettest::run(f.io, one_mx(&c, &code, &ok));
  CHECK_FALSE(ok);
  CHECK(code == Errc::temporary);
}

TEST_CASE("no server: an error after the tries, not a hang") {
  asio::io_context io;
  asio::ip::udp::socket probe(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = probe.local_endpoint().port();
  probe.close();  // nothing listens there now
  net::DnsClientOptions o;
  o.port = port;
  o.timeout = 100ms;
  net::DnsClient c(o);
  bool ok = true;
  Errc code{};
  nettest::run(io, one_mx(&c, &code, &ok));
  CHECK_FALSE(ok);
  CHECK((code == Errc::refused || code == Errc::timeout));
  CHECK(c.stats().udp_sent == 3);
}

TEST_CASE("a truncated UDP answer is asked again over TCP") {
  // The UDP port was free; the same number over TCP may not be (other tests run at the same time):
  // pick again until both are ours.
  std::unique_ptr<Fixture> fp;
  Result<std::unique_ptr<net::TcpServer>> tcp = fail(Errc::io, "not tried");
  for (int i = 0; i < 50 && !tcp; ++i) {
    fp = std::make_unique<Fixture>(Script::answer);
    tcp = net::TcpServer::listen(fp->io, "127.0.0.1", fp->port, {},
                                 [zone = fp->zone](net::Conn& c) { return serve_tcp_dns(c, zone); });
  }
  REQUIRE(tcp);
  Fixture& f = *fp;
  (*tcp)->start();
  auto c = f.client();
  std::size_t count = 0;
  nettest::run(f.io, big_mx(&c, &count));
  CHECK(count == 60);
  CHECK(c.stats().tcp_queries == 1);
}
