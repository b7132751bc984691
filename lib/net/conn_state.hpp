// Internal to lib/net: the state behind a Conn, shared with its watchdog coroutine.
#pragma once

#include <array>
#include <functional>

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "net/conn.hpp"

namespace mail::net::detail {

using Clock = std::chrono::steady_clock;

struct ConnState {
  ConnState(asio::ip::tcp::socket s, ConnOptions o, log::Context ctx);

  asio::ip::tcp::socket sock;
  asio::steady_timer timer;
  ConnOptions opts;
  log::Context log;
  util::LineSplitter splitter;
  std::array<char, 8192> buf{};
  std::size_t begin = 0, end = 0;  // unread bytes are buf[begin, end)
  Clock::time_point deadline = Clock::time_point::max();
  bool timed_out = false;
  bool stopping = false;
  bool reading = false;
  bool closed = false;
  std::function<void()> on_close;  // set by TcpServer to forget the connection
};

/// Starts the watchdog of a new connection (call once, on the connection's executor).
void start_watchdog(const std::shared_ptr<ConnState>& st);
/// Conn::shutdown() on the state (the server holds states, not Conns).
void request_shutdown(ConnState& st);
/// "127.0.0.1:51234", or "?" when the socket has no peer.
std::string peer_of(const asio::ip::tcp::socket& s);
/// A short session id, unique in this process: "7f3a".
std::string next_sid();

}  // namespace mail::net::detail
