#include "net/conn.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <random>
#include <tuple>

#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/this_coro.hpp>

#include <asio/ssl/stream.hpp>
#include <openssl/x509v3.h>

#include "net/conn_state.hpp"
#include "util/text.hpp"

namespace mail::net {
namespace detail {

struct TlsLayer {
  explicit TlsLayer(asio::ip::tcp::socket& s, asio::ssl::context& ctx) : stream(s, ctx) {}
  asio::ssl::stream<asio::ip::tcp::socket&> stream;
};

constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

namespace {

// Read buffers are lent per read, from a per-thread pool: thousands of idle sessions hold none.
struct BufferPool {
  std::vector<std::unique_ptr<ReadBuffer>> free;
  std::unique_ptr<ReadBuffer> take() {
    if (free.empty()) return std::make_unique<ReadBuffer>();
    auto b = std::move(free.back());
    free.pop_back();
    return b;
  }
  void give(std::unique_ptr<ReadBuffer> b) {
    if (b && free.size() < 64) free.push_back(std::move(b));
  }
};
thread_local BufferPool t_pool;

}  // namespace

ConnState::ConnState(asio::ip::tcp::socket s, ConnOptions o, log::Context ctx)
    : sock(std::move(s)), timer(sock.get_executor()), opts(o), log(std::move(ctx)), splitter(o.max_line),
      deadline(o.idle) {
  std::error_code ec;
  sock.non_blocking(true, ec);  // reads are "wait until readable, then read what is there"
}

ConnState::~ConnState() { t_pool.give(std::move(buf)); }

void lend_buffer(ConnState& st) {
  if (!st.buf) st.buf = t_pool.take();
}

void return_buffer(ConnState& st) {
  if (st.begin == st.end) t_pool.give(std::move(st.buf));
}

namespace {

asio::awaitable<void> watchdog(std::shared_ptr<ConnState> st) {
  while (!st->closed) {
    if (st->deadline.at() <= Clock::now()) {
      st->timed_out = true;
      st->deadline.clear();
      std::error_code ec;
      st->sock.cancel(ec);
    }
    st->timer.expires_at(st->deadline.at());
    co_await st->timer.async_wait(kTuple);  // woken early when a read or write moves the deadline nearer
  }
}

}  // namespace

void start_watchdog(const std::shared_ptr<ConnState>& st) {
  asio::co_spawn(st->sock.get_executor(), watchdog(st), asio::detached);
}

void request_shutdown(ConnState& st) {
  st.stopping = true;
  std::error_code ec;
  if (st.reading) st.sock.cancel(ec);  // a write in progress may finish: it may be a last reply
  if (st.pausing != nullptr) st.pausing->cancel();
}

namespace {
std::string endpoint_text(const asio::ip::tcp::endpoint& ep) {
  auto addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}
}  // namespace

std::string peer_of(const asio::ip::tcp::socket& s) {
  std::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? "?" : endpoint_text(ep);
}

std::string local_of(const asio::ip::tcp::socket& s) {
  std::error_code ec;
  auto ep = s.local_endpoint(ec);
  return ec ? "?" : endpoint_text(ep);
}

std::string ip_of(const std::string& peer) {
  std::string ip = peer.substr(0, peer.rfind(':'));
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  return ip;
}

std::string next_sid() {
  static std::atomic<std::uint32_t> counter{std::random_device{}() & 0xFFFF};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04x", static_cast<unsigned>(counter.fetch_add(1) & 0xFFFFF));
  return buf;
}

}  // namespace detail

using detail::Clock;
using detail::ConnState;
using detail::kTuple;

namespace {

constexpr std::chrono::milliseconds kCloseWait{1000};  // for the peer's close_notify

// After the deadline moved: wake the watchdog when it is now nearer than what it sleeps for. Reads
// and writes only ever push it later (Deadline keeps that true), so this rarely touches the timer.
void arm(ConnState& st) {
  if (st.timer.expiry() > st.deadline.at()) st.timer.expires_at(st.deadline.at());
}

// A line or exact read: the whole limit from now (in DATA under a rate: the content's deadline).
void start_read(ConnState& st) {
  st.deadline.read_started(Clock::now());
  arm(st);
}

// A write or a TLS handshake: the whole limit from now.
void start_write(ConnState& st) {
  st.deadline.write_started(Clock::now());
  arm(st);
}

ReadStatus classify(const ConnState& st, const std::error_code& ec) {
  if (st.stopping) return ReadStatus::shutdown;
  if (st.timed_out) return ReadStatus::timeout;
  if (ec == asio::error::eof || ec == asio::error::connection_reset) return ReadStatus::eof;
  return ReadStatus::error;
}

// With a rate (Conn::set_rate): how much one read or write may move, about a tenth of a second's worth.
std::size_t paced_size(const ConnState& st, std::size_t most) {
  if (st.rate == 0) return most;
  return static_cast<std::size_t>(std::clamp<std::uint64_t>(st.rate / 10, 1, most));
}

// With a rate: `n` octets moved, so wait until they are paid for. The wait is the server's, not the
// peer's: the deadline moves on by as much.
asio::awaitable<void> pace(ConnState& st, std::size_t n) {
  const auto now = Clock::now();
  const auto cost = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(static_cast<double>(n) / static_cast<double>(st.rate)));
  st.paced = std::max(st.paced, now) + cost;
  if (st.deadline.at() != Clock::time_point::max()) st.deadline.write_started(st.paced);
  asio::steady_timer t(st.sock.get_executor());
  t.expires_at(st.paced);
  co_await t.async_wait(kTuple);
}

// Nothing may be read once the deadline passed (the data rate cannot be made up afterwards).
bool expired(ConnState& st, ReadStatus& status) {
  if (st.stopping) status = ReadStatus::shutdown;
  else if (st.timed_out) status = ReadStatus::timeout;
  else return false;
  return true;
}

// Octets read: in DATA under a minimum rate they earn time (Deadline::on_read).
void got(ConnState& st, std::size_t n) {
  st.end = n;
  if (st.deadline.rate_on()) st.deadline.on_read(Clock::now(), n);
}

// Refills the buffer under the deadline the caller set; false with `status` set when the read
// failed. While waiting for bytes the connection holds no buffer.
asio::awaitable<bool> fill(ConnState& st, ReadStatus& status) {
  st.begin = st.end = 0;
  if (st.tls) {  // TLS may hold decrypted bytes the socket no longer shows: read through the stream
    if (expired(st, status)) co_return false;
    detail::lend_buffer(st);
    st.reading = true;
    auto [ec, n] = co_await st.tls->stream.async_read_some(asio::buffer(st.buf->data(), paced_size(st, st.buf->size())), kTuple);
    st.reading = false;
    if (ec) {
      // asio's eof is the peer's close_notify, which finish() answers; stream_truncated is a TCP
      // close without one.
      const bool truncated = ec == asio::ssl::error::stream_truncated;
      status = truncated ? ReadStatus::eof : classify(st, ec);
      st.peer_gone = truncated || status == ReadStatus::error;
      co_return false;
    }
    got(st, n);
    if (st.rate != 0) co_await pace(st, n);
    co_return true;
  }
  detail::return_buffer(st);
  while (true) {
    if (expired(st, status)) co_return false;
    st.reading = true;
    auto [ec] = co_await st.sock.async_wait(asio::socket_base::wait_read, kTuple);
    st.reading = false;
    if (ec) {
      status = classify(st, ec);
      st.peer_gone = status == ReadStatus::eof || status == ReadStatus::error;
      co_return false;
    }
    detail::lend_buffer(st);
    std::error_code rec;
    std::size_t n = st.sock.read_some(asio::buffer(st.buf->data(), paced_size(st, st.buf->size())), rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again) continue;  // a spurious wake-up
    if (rec) {
      status = classify(st, rec);
      st.peer_gone = status == ReadStatus::eof || status == ReadStatus::error;
      co_return false;
    }
    got(st, n);
    if (st.rate != 0) co_await pace(st, n);
    co_return true;
  }
}

}  // namespace

const char* to_string(ReadStatus s) noexcept {
  switch (s) {
    case ReadStatus::line: return "line";
    case ReadStatus::too_long: return "too_long";
    case ReadStatus::eof: return "eof";
    case ReadStatus::timeout: return "timeout";
    case ReadStatus::shutdown: return "shutdown";
    case ReadStatus::error: return "error";
  }
  return "?";
}

Conn::Conn(Conn&&) noexcept = default;
Conn& Conn::operator=(Conn&&) noexcept = default;
Conn::~Conn() { close(); }

void Conn::close() {
  if (!st_ || st_->closed) return;
  st_->closed = true;
  std::error_code ec;
  st_->sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  st_->sock.close(ec);
  st_->timer.cancel();
  if (st_->on_close) std::exchange(st_->on_close, nullptr)();
}

asio::awaitable<void> Conn::finish() {
  if (!st_ || st_->closed) co_return;
  ConnState& st = *st_;
  if (st.tls && !st.peer_gone) {
    // RFC 8446 6.1: close_notify before closing, so the peer knows nothing was cut off. asio's
    // shutdown then waits for the peer's close_notify; a peer that never sends one (or keeps sending
    // data) costs at most kCloseWait, and a server stop cancels the wait.
    st.deadline.closing(Clock::now(), kCloseWait);
    arm(st);
    st.reading = true;
    co_await st.tls->stream.async_shutdown(kTuple);
    st.reading = false;
  }
  close();
}

asio::awaitable<Result<Conn>> Conn::connect(std::string host, std::uint16_t port, ConnOptions opts,
                                            std::string_view svc, std::string source, std::string sid) {
  auto ex = co_await asio::this_coro::executor;
  std::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) co_return fail(Errc::invalid, "not an IP address: " + host);
  asio::ip::tcp::socket sock(ex);
  if (!source.empty()) {
    auto from = asio::ip::make_address(source, ec);
    if (!ec) sock.open(from.is_v4() ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), ec);
    if (!ec) sock.bind(asio::ip::tcp::endpoint(from, 0), ec);
    if (ec) co_return fail(Errc::io, "connect from " + source + ": " + ec.message());
  }
  asio::steady_timer timer(ex);
  timer.expires_after(opts.idle);
  using namespace asio::experimental::awaitable_operators;
  auto r = co_await (sock.async_connect(asio::ip::tcp::endpoint(addr, port), kTuple) ||
                     timer.async_wait(kTuple));
  std::string where = util::format_host_port(host, port);
  if (r.index() == 1) co_return fail(Errc::timeout, "connect to " + where + ": timed out");
  if (auto [cec] = std::get<0>(r); cec) {
    Errc code = cec == asio::error::connection_refused ? Errc::refused : Errc::io;
    co_return fail(code, "connect to " + where + ": " + cec.message());
  }
  sock.set_option(asio::ip::tcp::no_delay(true), ec);
  auto peer = detail::peer_of(sock);
  auto st = std::make_shared<ConnState>(std::move(sock), opts, log::Context(svc, sid.empty() ? detail::next_sid() : std::move(sid), peer));
  detail::start_watchdog(st);
  co_return Conn(std::move(st));
}

asio::awaitable<LineRead> Conn::read_line() {
  ConnState& st = *st_;
  bool started = false;  // the deadline runs from the first wait for bytes, for the whole line
  while (true) {
    if (st.stopping) co_return LineRead{ReadStatus::shutdown, {}, {}};
    if (st.begin < st.end) {
      std::string_view in(st.buf->data() + st.begin, st.end - st.begin);
      auto line = st.splitter.next(in);
      st.begin = st.end - in.size();
      if (line)
        co_return LineRead{line->too_long ? ReadStatus::too_long : ReadStatus::line, line->text, line->ending,
                           line->partial};
    }
    if (!std::exchange(started, true)) start_read(st);
    ReadStatus status{};
    if (!co_await fill(st, status)) co_return LineRead{status, {}, {}};
  }
}

asio::awaitable<ReadStatus> Conn::read_exact(std::size_t n, std::string& out) {
  ConnState& st = *st_;
  out.clear();
  bool started = false;
  while (out.size() < n) {
    if (st.begin < st.end) {
      std::size_t take = std::min(n - out.size(), st.end - st.begin);
      out.append(st.buf->data() + st.begin, take);
      st.begin += take;
      continue;
    }
    if (!std::exchange(started, true)) start_read(st);
    ReadStatus status{};
    if (!co_await fill(st, status)) co_return status;
  }
  co_return ReadStatus::line;
}

asio::awaitable<bool> Conn::write(std::string_view bytes) {
  ConnState& st = *st_;
  if (st.closed) co_return false;
  if (st.rate != 0) co_return co_await write_paced(bytes);
  start_write(st);
  const auto buf = asio::buffer(bytes.data(), bytes.size());
  std::error_code ec;
  if (st.tls) std::tie(ec, std::ignore) = co_await asio::async_write(st.tls->stream, buf, kTuple);
  else std::tie(ec, std::ignore) = co_await asio::async_write(st.sock, buf, kTuple);
  if (ec) st.peer_gone = true;  // gone, or not reading within the limit: no close_notify either
  co_return !ec;
}

asio::awaitable<Result<void>> Conn::start_tls(TlsContext& ctx, TlsRole role, std::string peer_name) {
  ConnState& st = *st_;
  if (st.tls) co_return fail(Errc::invalid, "TLS is already on");
  if (role == TlsRole::server) discard_buffered();  // CVE-2011-0411: nothing sent in the clear survives
  st.tls = std::make_shared<detail::TlsLayer>(st.sock, ctx.native());
  st.peer_name = std::move(peer_name);
  if (role == TlsRole::client && !st.peer_name.empty() && !util::is_ip_literal(st.peer_name))
    SSL_set_tlsext_host_name(st.tls->stream.native_handle(), st.peer_name.c_str());
  if (role == TlsRole::client) ctx.resume(st.tls->stream.native_handle(), st.peer_name + "@" + st.log.peer());
  start_write(st);  // the whole handshake within the limit
  st.reading = true;
  auto [ec] = co_await st.tls->stream.async_handshake(
      role == TlsRole::server ? asio::ssl::stream_base::server : asio::ssl::stream_base::client, kTuple);
  st.reading = false;
  if (ec) {
    st.tls.reset();
    co_return fail(st.timed_out ? Errc::timeout : Errc::refused, "TLS handshake: " + ec.message());
  }
  co_return Result<void>();
}

bool Conn::tls_active() const noexcept { return st_ && st_->tls != nullptr; }

std::string Conn::tls_description() const {
  if (!tls_active()) return "none";
  SSL* ssl = st_->tls->stream.native_handle();
  return std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
}

bool Conn::tls_resumed() const {
  return tls_active() && SSL_session_reused(st_->tls->stream.native_handle()) == 1;
}

bool Conn::peer_verified() const {
  if (!tls_active()) return false;
  SSL* ssl = st_->tls->stream.native_handle();
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return false;
  const std::string& name = st_->peer_name;
  if (name.empty()) return true;
  if (util::is_ip_literal(name)) return X509_check_ip_asc(cert, name.c_str(), 0) == 1;
  return X509_check_host(cert, name.c_str(), name.size(), 0, nullptr) == 1;
}

bool Conn::has_buffered() const noexcept { return st_->begin < st_->end; }

void Conn::set_max_line(std::size_t octets, util::LineSplitter::Overlong mode) { st_->splitter.set_max(octets, mode); }
void Conn::set_idle(std::chrono::milliseconds idle) {
  st_->opts.idle = idle;
  st_->deadline.set_limit(idle);
}

void Conn::start_data_deadline(std::uint64_t min_rate) {
  st_->deadline.data_started(Clock::now(), min_rate);
  arm(*st_);
}

// A slow sender: pieces of about a tenth of a second's worth, each paid for before the next.
asio::awaitable<bool> Conn::write_paced(std::string_view bytes) {
  ConnState& st = *st_;
  while (!bytes.empty()) {
    std::string_view piece = bytes.substr(0, paced_size(st, bytes.size()));
    start_write(st);
    const auto buf = asio::buffer(piece.data(), piece.size());
    std::error_code ec;
    if (st.tls) std::tie(ec, std::ignore) = co_await asio::async_write(st.tls->stream, buf, kTuple);
    else std::tie(ec, std::ignore) = co_await asio::async_write(st.sock, buf, kTuple);
    if (ec) {
      st.peer_gone = true;
      co_return false;
    }
    bytes.remove_prefix(piece.size());
    co_await pace(st, piece.size());
  }
  co_return true;
}

asio::awaitable<void> Conn::pause(std::chrono::milliseconds d) {
  ConnState& st = *st_;
  st.deadline.write_started(Clock::now() + d);  // the server's own wait: no one's timeout
  asio::steady_timer t(st.sock.get_executor());
  t.expires_after(st.stopping || st.closed ? std::chrono::milliseconds(0) : d);
  st.pausing = &t;
  co_await t.async_wait(kTuple);
  st.pausing = nullptr;
}

void Conn::set_rate(std::uint64_t octets_per_second) {
  st_->rate = octets_per_second;
  st_->paced = Clock::now();
}

void Conn::end_data_deadline() { st_->deadline.data_ended(); }

void Conn::discard_buffered() {
  st_->begin = st_->end = 0;
  detail::return_buffer(*st_);
  st_->splitter.reset();
}

void Conn::shutdown() { detail::request_shutdown(*st_); }

bool Conn::stopping() const noexcept { return st_->stopping; }
const log::Context& Conn::log() const noexcept { return st_->log; }
const std::string& Conn::peer() const noexcept { return st_->log.peer(); }

std::string Conn::peer_ip() const { return detail::ip_of(peer()); }

std::string Conn::local() const { return detail::local_of(st_->sock); }

}  // namespace mail::net
