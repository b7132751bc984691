// One TCP connection as sessions see it: capped line reads, exact reads, writes, all under one
// idle deadline kept by a per-connection watchdog timer (docs/development.md, pitfall 5), and a
// shutdown request that makes the next read return ReadStatus::shutdown.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>

#include "net/tls.hpp"
#include "util/line_splitter.hpp"
#include "util/log.hpp"
#include "util/result.hpp"

namespace mail::net {

struct ConnOptions {
  std::size_t max_line = 512;              // octets including CRLF
  std::chrono::milliseconds idle{300000};  // each whole line read, exact read, write or handshake must
                                           // finish within this, however slowly its bytes come
};

enum class ReadStatus { line, too_long, eof, timeout, shutdown, error };
const char* to_string(ReadStatus s) noexcept;

struct LineRead {
  ReadStatus status = ReadStatus::error;
  std::string_view text;  // valid until the next read; without the line ending
  util::LineSplitter::Ending ending = util::LineSplitter::Ending::crlf;
  bool partial = false;   // a piece of a long line (LineSplitter::Overlong::split): more follows
};

namespace detail {
struct ConnState;
}

class Conn {
 public:
  Conn(Conn&&) noexcept;
  Conn& operator=(Conn&&) noexcept;
  ~Conn();

  /// Connects to host:port (an IP address) within `opts.idle`. `svc` names the log service. A
  /// non-empty `source` is the local address to connect from (queue::source_address). A non-empty
  /// `sid` is the session id to log with (a relay attempt's, which its DNS lookups carried too).
  static asio::awaitable<Result<Conn>> connect(std::string host, std::uint16_t port, ConnOptions opts,
                                               std::string_view svc, std::string source = {}, std::string sid = {});

  /// The next line, never holding more than max_line octets of it.
  asio::awaitable<LineRead> read_line();
  /// Exactly `n` octets into `out` (replacing its contents).
  asio::awaitable<ReadStatus> read_exact(std::size_t n, std::string& out);
  /// Writes all of `bytes`; false when the peer is gone or the deadline passed.
  asio::awaitable<bool> write(std::string_view bytes);

  /// Starts TLS on the connection (STARTTLS, STLS, or an implicit-TLS port). A server first drops what
  /// the client sent in the clear and was not read yet (CVE-2011-0411). `peer_name` is the host the
  /// client expects (SNI and the certificate check).
  asio::awaitable<Result<void>> start_tls(TlsContext& ctx, TlsRole role, std::string peer_name = {});
  bool tls_active() const noexcept;
  /// "TLSv1.3 TLS_AES_256_GCM_SHA384", or "none".
  std::string tls_description() const;
  /// The handshake resumed an earlier session (no certificate, no full key exchange).
  bool tls_resumed() const;
  /// Client side: the server's certificate chains to the context's CA and names `peer_name`.
  bool peer_verified() const;

  /// Bytes received and not yet read: more pipelined commands are waiting (RFC 2920).
  bool has_buffered() const noexcept;

  void set_max_line(std::size_t octets,
                    util::LineSplitter::Overlong mode = util::LineSplitter::Overlong::discard);
  void set_idle(std::chrono::milliseconds idle);
  /// SMTP DATA: until end_data_deadline(), reads share one deadline that starts at the idle limit and
  /// grows by n / min_rate seconds for each n octets read, never beyond the idle limit from now
  /// (Postfix's smtpd_min_data_rate). min_rate 0: each line gets the idle limit, as outside DATA.
  void start_data_deadline(std::uint64_t min_rate);
  void end_data_deadline();
  /// Waits `d` (a fault rule's delay): the server answers later, and no deadline of the peer's runs
  /// meanwhile. A shutdown ends the wait.
  asio::awaitable<void> pause(std::chrono::milliseconds d);
  /// From now on reads and writes move at most `octets_per_second` (a fault rule's `slow`: a slow
  /// receiver or sender); the waits this costs do not count against the peer's deadlines.
  void set_rate(std::uint64_t octets_per_second);
  /// Drops bytes received but not yet read (after STARTTLS: CVE-2011-0411).
  void discard_buffered();
  /// The server is stopping: a pending read ends now, later reads return ReadStatus::shutdown.
  void shutdown();
  bool stopping() const noexcept;
  /// Ends the connection politely: over TLS sends close_notify and waits briefly (at most a second)
  /// for the peer's, unless the peer is gone; then close().
  asio::awaitable<void> finish();
  void close();

  const log::Context& log() const noexcept;
  const std::string& peer() const noexcept;
  /// This end's "127.0.0.1:2525" (the event feed's `local`).
  std::string local() const;
  /// The peer's address without the port ("127.0.0.1", "::1").
  std::string peer_ip() const;

 private:
  friend class TcpServer;
  explicit Conn(std::shared_ptr<detail::ConnState> st) : st_(std::move(st)) {}
  asio::awaitable<bool> write_paced(std::string_view bytes);
  std::shared_ptr<detail::ConnState> st_;
};

}  // namespace mail::net
