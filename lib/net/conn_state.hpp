// Internal to lib/net: the state behind a Conn, shared with its watchdog coroutine.
#pragma once

#include <array>
#include <functional>
#include <memory>

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "net/conn.hpp"
#include "util/deadline.hpp"

namespace mail::net::detail {

using Clock = std::chrono::steady_clock;

using ReadBuffer = std::array<char, 16384>;
struct TlsLayer;  // conn.cpp: the ssl::stream over the socket

struct ConnState {
  ConnState(asio::ip::tcp::socket s, ConnOptions o, log::Context ctx);
  ~ConnState();
  ConnState(const ConnState&) = delete;
  ConnState& operator=(const ConnState&) = delete;

  asio::ip::tcp::socket sock;
  asio::steady_timer timer;
  ConnOptions opts;
  log::Context log;
  util::LineSplitter splitter;
  std::unique_ptr<ReadBuffer> buf;  // held only while it has unread bytes: idle connections hold none
  std::size_t begin = 0, end = 0;   // unread bytes are (*buf)[begin, end)
  util::Deadline deadline;          // what the watchdog enforces (per line, per write, or DATA's rate)
  bool timed_out = false;           // the watchdog fired: reads fail from now on, a last reply may go out
  bool peer_gone = false;           // EOF, reset or a failed write: no TLS close_notify to send
  bool stopping = false;
  bool reading = false;
  bool closed = false;
  std::function<void()> on_close;  // set by TcpServer to forget the connection
  std::shared_ptr<TlsLayer> tls;   // set once TLS started
  std::string peer_name;           // the host a client expects
  std::uint64_t rate = 0;          // a fault rule's `slow`: octets per second each way (0: no limit)
  Clock::time_point paced{};       // with a rate: when the octets moved so far have been paid for
  asio::steady_timer* pausing = nullptr;  // a fault rule's delay in progress: a shutdown ends it
};

/// The read buffer, lent from the thread's pool while there are bytes to read.
void lend_buffer(ConnState& st);
void return_buffer(ConnState& st);
/// Starts the watchdog of a new connection (call once, on the connection's executor).
void start_watchdog(const std::shared_ptr<ConnState>& st);
/// Conn::shutdown() on the state (the server holds states, not Conns).
void request_shutdown(ConnState& st);
/// "127.0.0.1:51234", or "?" when the socket has no peer.
std::string peer_of(const asio::ip::tcp::socket& s);
/// The same for the socket's own end.
std::string local_of(const asio::ip::tcp::socket& s);
/// The address part of peer_of(): "127.0.0.1", "::1".
std::string ip_of(const std::string& peer);
/// A short session id, unique in this process: "7f3a".
std::string next_sid();

}  // namespace mail::net::detail
