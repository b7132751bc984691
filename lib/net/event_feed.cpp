#include "net/event_feed.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "net/conn_state.hpp"
#include "util/event_batch.hpp"

namespace mail::net::feed {

namespace detail {
bool g_on = false;
}

namespace {

constexpr std::chrono::milliseconds kPeriod{50};

struct Feed {
  Feed(asio::io_context& io, int f, sockaddr_un a, std::string p)
      : timer(io), fd(f), addr(a), prog(std::move(p)), batch({}, [this](std::uint64_t n) { return dropped_line(n); }) {}
  ~Feed() { ::close(fd); }

  asio::steady_timer timer;
  int fd;
  sockaddr_un addr;
  std::string prog;
  // Every event comes from the event loop's thread today; the lock keeps the feed right should a
  // committer thread ever emit (uncontended, it costs a few nanoseconds).
  std::mutex mutex;
  util::EventBatch batch;
  bool stopped = false;

  std::string dropped_line(std::uint64_t n) {
    std::string out;
    const log::Field f[] = {{"lines", n}};
    log::append_event(out, prog, "dropped", f);
    return out;
  }

  util::EventBatch::Sent send(std::string_view datagram) {
    // MSG_DONTWAIT: a full receiver is EAGAIN, never a wait; no receiver is ENOENT or ECONNREFUSED.
    if (::sendto(fd, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == static_cast<ssize_t>(datagram.size()))
      return util::EventBatch::Sent::ok;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ? util::EventBatch::Sent::full
                                                                        : util::EventBatch::Sent::gone;
  }

  // While the receiver is full, lines wait for the timer's next try: no sendto per event meanwhile.
  bool backoff = false;

  void flush() {
    backoff = batch.flush([this](std::string_view d) { return send(d); });
    if (backoff) arm();
  }

  // The timer runs only while lines wait (an idle server, or a world of a hundred of them, is never
  // woken for nothing): the first line added to an empty batch arms it, under the lock; posted, so the
  // timer is only ever touched on the event loop's thread.
  bool armed = false;

  void arm() {
    if (armed || stopped) return;
    armed = true;
    asio::post(timer.get_executor(), [this] {
      std::lock_guard lock(mutex);
      if (stopped) return void(armed = false);  // finish() sends what waits
      timer.expires_after(kPeriod);
      timer.async_wait([this](const std::error_code& ec) {
        if (ec) return;  // cancelled: stop() (then finish() sends what waits), or the feed is gone
        std::lock_guard lock(mutex);
        armed = false;
        flush();
      });
    });
  }
};

// Made by start(), ended by finish() while the event loop still exists (its timer belongs to it); a
// start-up error after start() leaves it to the process's exit.
Feed* g_feed = nullptr;

}  // namespace

Result<void> start(asio::io_context& io, const std::string& path, std::string prog) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return fail(Errc::invalid, "--events: a socket path of 1 to " + std::to_string(sizeof addr.sun_path - 1) + " octets");
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(Errc::io, std::string("--events: socket: ") + std::strerror(errno));
  g_feed = new Feed(io, fd, addr, std::move(prog));
  detail::g_on = true;
  return {};
}

void stop() {
  if (!g_feed) return;
  std::lock_guard lock(g_feed->mutex);
  g_feed->stopped = true;
  g_feed->timer.cancel();
}

void finish() {
  if (!g_feed) return;
  detail::g_on = false;
  {
    std::lock_guard lock(g_feed->mutex);
    g_feed->flush();
  }
  delete std::exchange(g_feed, nullptr);
}

void emit(std::string_view event, std::span<const log::Field> fields) {
  if (!g_feed) return;
  std::string line;
  line.reserve(160);
  log::append_event(line, g_feed->prog, event, fields);
  std::lock_guard lock(g_feed->mutex);
  // Past flush_at the batch goes now rather than at the next tick (a busy server's burst); after
  // stop() lines wait for finish().
  bool was_empty = g_feed->batch.empty();
  if (g_feed->batch.add(line) && !g_feed->stopped && !g_feed->backoff) g_feed->flush();
  else if (was_empty) g_feed->arm();
}

std::string next_sid() { return net::detail::next_sid(); }

void emit_lines(std::string_view event, const std::string& sid, std::string_view text) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    emit(event, {{"sid", sid}, {"line", line}});
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

}  // namespace mail::net::feed
