// The event feed (docs/reference.md "Event feed", issue 14): with --events PATH a server publishes what
// happens (sessions, their lines, messages, relay attempts, DNS questions) as log-format lines in Unix
// datagrams to PATH, where mailview listens. Lines wait in memory (util::EventBatch) and a 50 ms timer (armed only while lines wait)
// on the event loop sends them with non-blocking sendto(): the loop never waits on the feed, and
// what cannot be sent is dropped and counted. Without --events, each hook costs one bool test.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "util/log.hpp"
#include "util/result.hpp"

namespace asio {
class io_context;
}

namespace mail::net::feed {

namespace detail {
extern bool g_on;
}

/// True once start() succeeded: every hook tests this before making its fields.
inline bool on() noexcept { return detail::g_on; }

/// Publishes to the datagram socket at `path` as `prog` (the server's name), timed on `io` (whose
/// thread makes every event: the committer's threads only fsync). Errors: the socket could not be made.
Result<void> start(asio::io_context& io, const std::string& path, std::string prog);
/// The server is stopping: the timer ends so the event loop can; lines still come (closing sessions)
/// and wait for finish().
void stop();
/// After the event loop: sends what is left, once.
void finish();

/// One event line (call only when on()).
void emit(std::string_view event, std::span<const log::Field> fields);
inline void emit(std::string_view event, std::initializer_list<log::Field> fields) {
  emit(event, std::span<const log::Field>(fields.begin(), fields.size()));
}

/// A session id for a session the server starts itself (a relay attempt), unique in the process as
/// the listeners' sids are.
std::string next_sid();

/// `event=close` when a session that was announced with `event=open` ends, however it ends.
class CloseOnExit {
 public:
  CloseOnExit() = default;
  CloseOnExit(const CloseOnExit&) = delete;
  CloseOnExit& operator=(const CloseOnExit&) = delete;
  ~CloseOnExit() {
    if (!sid_.empty()) emit("close", {{"sid", sid_}});
  }
  void arm(std::string sid) { sid_ = std::move(sid); }

 private:
  std::string sid_;
};

/// Emits one event per line of `text` (lines end in CRLF or LF), each as `line=...` with `sid`.
void emit_lines(std::string_view event, const std::string& sid, std::string_view text);

}  // namespace mail::net::feed
