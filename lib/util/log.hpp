// One line per event on stderr, `key=value` fields (docs/reference.md "Log lines"):
//   ts=2026-11-22T01:02:03.456Z prog=fdns lvl=info svc=dns event=listening proto=dns addr=127.0.0.1:10053
#pragma once

#include <concepts>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace mail::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

/// One `key=value` pair; the value is quoted when it holds spaces, quotes, `=` or control bytes.
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  template <std::integral I>
  Field(std::string_view k, I v) : key(k), value(std::to_string(v)) {}
  std::string_view key;
  std::string value;
};
using Fields = std::initializer_list<Field>;

/// Sets the program name on every line and the lowest level written. Call once in main.
void init(std::string_view prog, Level min);
bool enabled(Level level) noexcept;
/// Tests capture lines here; an empty function restores stderr.
void set_sink(std::function<void(std::string_view)> sink);

/// Formats one line without the trailing newline (exposed for tests).
std::string format(Level level, std::string_view svc, std::string_view event, Fields fields);
/// Appends an event line for the event feed (docs/reference.md "Event feed"): the log's format and
/// quoting without `lvl=` and `svc=`, `prog` as given: `ts=... prog=gmail.com event=c sid=7f3a line="EHLO a"`.
void append_event(std::string& out, std::string_view prog, std::string_view event, std::span<const Field> fields);
void write(Level level, std::string_view svc, std::string_view event, Fields fields);
/// The same with fields known only at run time (a fault rule's `event=fault` line).
void write(Level level, std::string_view svc, std::string_view event, std::span<const Field> fields);

inline void error(std::string_view svc, std::string_view event, Fields f = {}) { write(Level::error, svc, event, f); }
inline void warn(std::string_view svc, std::string_view event, Fields f = {}) { write(Level::warn, svc, event, f); }
inline void info(std::string_view svc, std::string_view event, Fields f = {}) { write(Level::info, svc, event, f); }
inline void debug(std::string_view svc, std::string_view event, Fields f = {}) {
  if (enabled(Level::debug)) write(Level::debug, svc, event, f);
}

/// The fields every line of one connection carries: `svc=smtp sid=7f3a peer=127.0.0.1:51234`.
class Context {
 public:
  Context(std::string_view svc, std::string sid, std::string peer)
      : svc_(svc), sid_(std::move(sid)), peer_(std::move(peer)) {}
  void write(Level level, std::string_view event, Fields fields) const;
  /// The same with fields made at run time (a fault rule's: fault::Applied::fields).
  void write_fields(Level level, std::string_view event, std::span<const Field> fields) const;
  void error(std::string_view event, Fields f = {}) const { write(Level::error, event, f); }
  void warn(std::string_view event, Fields f = {}) const { write(Level::warn, event, f); }
  void info(std::string_view event, Fields f = {}) const { write(Level::info, event, f); }
  void debug(std::string_view event, Fields f = {}) const {
    if (enabled(Level::debug)) write(Level::debug, event, f);
  }
  const std::string& sid() const noexcept { return sid_; }
  const std::string& peer() const noexcept { return peer_; }

 private:
  std::string_view svc_;
  std::string sid_;
  std::string peer_;
};

}  // namespace mail::log
