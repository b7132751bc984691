// lib/net on real loopback sockets: line limits, idle timeout, session cap, shutdown.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <asio/experimental/as_tuple.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "net/tcp_server.hpp"
#include "run.hpp"

using namespace mail;
using namespace std::chrono_literals;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

namespace {

struct Recorder {
  std::vector<std::string> events;
  int finished = 0;
};

// Records each read: "line:TEXT", "too_long", or the final status.
asio::awaitable<void> record_lines(net::Conn& conn, Recorder* rec) {
  while (true) {
    auto r = co_await conn.read_line();
    if (r.status == net::ReadStatus::line) {
      rec->events.push_back("line:" + std::string(r.text) + (r.ending == util::LineSplitter::Ending::lf ? "[lf]" : ""));
    } else if (r.status == net::ReadStatus::too_long) {
      rec->events.emplace_back("too_long");
    } else {
      rec->events.emplace_back(net::to_string(r.status));
      break;
    }
  }
  ++rec->finished;
}

std::unique_ptr<net::TcpServer> start_server(asio::io_context& io, Recorder& rec, net::ServerOptions o) {
  auto s = net::TcpServer::listen(io, "127.0.0.1", 0, std::move(o), [&rec](net::Conn& c) { return record_lines(c, &rec); });
  REQUIRE(s);
  (*s)->start();
  return std::move(*s);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(kTuple);
}

asio::awaitable<void> wait_until(const int* counter, int value) {
  for (int i = 0; i < 500 && *counter < value; ++i) co_await sleep_for(10ms);
  REQUIRE(*counter >= value);
}

asio::awaitable<void> lines_and_limits(net::TcpServer* server, Recorder* rec) {
  auto c = co_await net::Conn::connect("127.0.0.1", server->port(), {}, "test");
  REQUIRE(c);
  std::string big(5000, 'x');
  std::string data = "hello\r\nbare\n" + big + "\r\nbye\r\n";
  // Write in awkward pieces so lines straddle reads.
  for (std::size_t i = 0; i < data.size(); i += 777) {
    REQUIRE(co_await c->write(std::string_view(data).substr(i, 777)));
    co_await sleep_for(1ms);
  }
  c->close();
  co_await wait_until(&rec->finished, 1);
}

asio::awaitable<void> idle_client(net::TcpServer* server, Recorder* rec) {
  auto c = co_await net::Conn::connect("127.0.0.1", server->port(), {}, "test");
  REQUIRE(c);
  co_await wait_until(&rec->finished, 1);
  std::string rest;
  auto st = co_await c->read_exact(1, rest);  // the server closed the connection after its timeout
  CHECK(st == net::ReadStatus::eof);
}

asio::awaitable<void> over_the_cap(net::TcpServer* server) {
  auto first = co_await net::Conn::connect("127.0.0.1", server->port(), {}, "test");
  REQUIRE(first);
  co_await sleep_for(50ms);  // let the server accept it
  auto second = co_await net::Conn::connect("127.0.0.1", server->port(), {}, "test");
  REQUIRE(second);
  auto r = co_await second->read_line();
  CHECK(r.status == net::ReadStatus::line);
  CHECK(r.text == "421 4.3.2 busy");
  auto after = co_await second->read_line();
  CHECK(after.status == net::ReadStatus::eof);
}

asio::awaitable<void> stop_while_reading(net::TcpServer* server, Recorder* rec) {
  const auto port = server->port();
  auto c = co_await net::Conn::connect("127.0.0.1", port, {}, "test");
  REQUIRE(c);
  REQUIRE(co_await c->write("one\r\n"));
  for (int i = 0; i < 200 && server->active() == 0; ++i) co_await sleep_for(5ms);
  CHECK(server->active() == 1);
  co_await sleep_for(20ms);
  server->stop();
  co_await wait_until(&rec->finished, 1);
  CHECK(server->active() == 0);
  auto refused = co_await net::Conn::connect("127.0.0.1", port, {}, "test");
  CHECK_FALSE(refused);  // nobody listens any more
}

}  // namespace

TEST_CASE("lines of any split, a bare LF line, an overlong line reported once, then EOF") {
  asio::io_context io;
  Recorder rec;
  net::ServerOptions o;
  o.conn.max_line = 512;
  auto server = start_server(io, rec, o);
  nettest::run(io, lines_and_limits(server.get(), &rec));
  CHECK(rec.events == std::vector<std::string>{"line:hello", "line:bare[lf]", "too_long", "line:bye", "eof"});
}

TEST_CASE("an idle connection times out and is closed") {
  asio::io_context io;
  Recorder rec;
  net::ServerOptions o;
  o.conn.idle = 200ms;
  auto server = start_server(io, rec, o);
  auto t0 = std::chrono::steady_clock::now();
  nettest::run(io, idle_client(server.get(), &rec));
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(rec.events == std::vector<std::string>{"timeout"});
  CHECK(took >= 200ms);
  CHECK(took < 5s);
}

TEST_CASE("a connection over the session cap gets the busy reply and is closed") {
  asio::io_context io;
  Recorder rec;
  net::ServerOptions o;
  o.max_sessions = 1;
  o.busy_reply = "421 4.3.2 busy\r\n";
  auto server = start_server(io, rec, o);
  nettest::run(io, over_the_cap(server.get()));
}

TEST_CASE("stop() ends a session waiting in a read and closes the listener") {
  asio::io_context io;
  Recorder rec;
  auto server = start_server(io, rec, {});
  nettest::run(io, stop_while_reading(server.get(), &rec));
  CHECK(rec.events == std::vector<std::string>{"line:one", "shutdown"});
}

namespace {

// Sends `text` one octet every `gap` until the server closes the connection; returns how long that took.
asio::awaitable<std::chrono::milliseconds> drip(net::Conn& c, std::string text, std::chrono::milliseconds gap) {
  auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < 1000; ++i) {
    if (!co_await c.write(std::string_view(text).substr(i % text.size(), 1))) break;
    co_await sleep_for(gap);
  }
  co_return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
}

asio::awaitable<void> dripper_is_cut(net::TcpServer* server, Recorder* rec, std::chrono::milliseconds* took) {
  auto c = co_await net::Conn::connect("127.0.0.1", server->port(), {}, "test");
  REQUIRE(c);
  auto t0 = std::chrono::steady_clock::now();
  co_await drip(*c, "EHLO dripper\r\n", 50ms);  // a whole line would take 700 ms: never finished
  co_await wait_until(&rec->finished, 1);
  *took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
}

// A session that reads like SMTP DATA: one deadline for all lines under a minimum rate.
asio::awaitable<void> record_data(net::Conn& conn, Recorder* rec, std::uint64_t rate) {
  conn.start_data_deadline(rate);
  std::size_t lines = 0;
  while (true) {
    auto r = co_await conn.read_line();
    if (r.status != net::ReadStatus::line) {
      rec->events.push_back(std::to_string(lines) + " lines, " + net::to_string(r.status));
      break;
    }
    ++lines;
  }
  conn.end_data_deadline();
  ++rec->finished;
}

// Sends 100-octet lines at `rate` octets/s for `seconds`; true when the server never cut it.
asio::awaitable<bool> paced(std::uint16_t port, std::size_t rate, std::chrono::milliseconds length) {
  auto c = co_await net::Conn::connect("127.0.0.1", port, {}, "test");
  REQUIRE(c);
  const std::string line = std::string(98, 'x') + "\r\n";
  const auto gap = std::chrono::milliseconds(1000 * line.size() / rate);
  for (auto t = 0ms; t < length; t += gap) {
    if (!co_await c->write(line)) co_return false;
    co_await sleep_for(gap);
  }
  co_return co_await c->write(line);
}

asio::awaitable<void> fast_and_slow(net::TcpServer* fast_server, net::TcpServer* slow_server, Recorder* fast,
                                    Recorder* slow, bool* fast_ok) {
  // min rate 1,000 octets/s, limit 300 ms: 5,000 octets/s for a second is fine, though longer than
  // the limit; 100 octets/s (a 100-octet line a second) falls behind and is cut after its first line.
  *fast_ok = co_await paced(fast_server->port(), 5000, 1000ms);
  co_await wait_until(&fast->finished, 1);
  co_await paced(slow_server->port(), 100, 2000ms);
  co_await wait_until(&slow->finished, 1);
}

asio::awaitable<void> per_peer(net::TcpServer* server, Recorder* rec) {
  auto first = co_await net::Conn::connect("127.0.0.1", server->port(), {}, "test");
  REQUIRE(first);
  REQUIRE(co_await first->write("one\r\n"));
  co_await sleep_for(50ms);
  auto second = co_await net::Conn::connect("127.0.0.1", server->port(), {}, "test");
  REQUIRE(second);
  auto r = co_await second->read_line();
  CHECK(r.status == net::ReadStatus::line);
  CHECK(r.text == "421 4.7.0 too many from you");
  CHECK((co_await second->read_line()).status == net::ReadStatus::eof);
  first->close();
  co_await wait_until(&rec->finished, 1);
  auto third = co_await net::Conn::connect("127.0.0.1", server->port(), {}, "test");
  REQUIRE(third);
  REQUIRE(co_await third->write("three\r\n"));
  third->close();
  co_await wait_until(&rec->finished, 2);
}

}  // namespace

TEST_CASE("a client dripping a line byte by byte is cut at the idle limit from the line's start") {
  asio::io_context io;
  Recorder rec;
  net::ServerOptions o;
  o.conn.idle = 300ms;
  auto server = start_server(io, rec, o);
  std::chrono::milliseconds took{};
  nettest::run(io, dripper_is_cut(server.get(), &rec, &took));
  CHECK(rec.events == std::vector<std::string>{"timeout"});
  CHECK(took >= 300ms);
  CHECK(took < 1500ms);
}

TEST_CASE("in DATA a minimum rate cuts a slow sender and keeps one above it") {
  asio::io_context io;
  Recorder fast, slow;
  net::ServerOptions o;
  o.conn.idle = 300ms;
  auto listen = [&](Recorder& rec) {
    auto s = net::TcpServer::listen(io, "127.0.0.1", 0, o, [&rec](net::Conn& c) { return record_data(c, &rec, 1000); });
    REQUIRE(s);
    (*s)->start();
    return std::move(*s);
  };
  auto fast_server = listen(fast), slow_server = listen(slow);
  bool fast_ok = false;
  nettest::run(io, fast_and_slow(fast_server.get(), slow_server.get(), &fast, &slow, &fast_ok));
  CHECK(fast_ok);
  CHECK(fast.events == std::vector<std::string>{"51 lines, eof"});  // the client closed, never cut
  CHECK(slow.events == std::vector<std::string>{"1 lines, timeout"});
}

TEST_CASE("a connection over the per-address cap gets its reply; the address is free again after a close") {
  asio::io_context io;
  Recorder rec;
  net::ServerOptions o;
  o.per_peer = 1;
  o.peer_busy_reply = "421 4.7.0 too many from you\r\n";
  auto server = start_server(io, rec, o);
  nettest::run(io, per_peer(server.get(), &rec));
  CHECK(rec.events == std::vector<std::string>{"line:one", "eof", "line:three", "eof"});
}
