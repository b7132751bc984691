#include "util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace mail::log {
namespace {

std::string g_prog = "mailworld";
std::atomic<int> g_min{static_cast<int>(Level::info)};
std::mutex g_sink_mutex;
std::function<void(std::string_view)> g_sink;

constexpr std::string_view level_name(Level l) {
  switch (l) {
    case Level::error: return "error";
    case Level::warn: return "warn";
    case Level::info: return "info";
    case Level::debug: return "debug";
  }
  return "info";
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (unsigned char c : v)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) return true;
  return false;
}

void append_value(std::string& out, std::string_view v) {
  if (!needs_quotes(v)) {
    out += v;
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < ' ' || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);  // UTF-8 stays readable
    }
  }
  out += '"';
}

void append_timestamp(std::string& out) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  out += buf;
}

void emit(std::string line) {
  {
    std::lock_guard lock(g_sink_mutex);
    if (g_sink) {
      g_sink(line);
      return;
    }
  }
  line += '\n';
  // One write(2) per line, so lines of concurrent threads or processes never interleave.
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) return;
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

void init(std::string_view prog, Level min) {
  g_prog = std::string(prog);
  g_min = static_cast<int>(min);
}

bool enabled(Level level) noexcept { return static_cast<int>(level) <= g_min.load(std::memory_order_relaxed); }

void set_sink(std::function<void(std::string_view)> sink) {
  std::lock_guard lock(g_sink_mutex);
  g_sink = std::move(sink);
}

namespace {

void append_fields(std::string& out, std::span<const Field> fields) {
  for (const auto& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    append_value(out, f.value);
  }
}

std::span<const Field> span_of(Fields fields) { return {fields.begin(), fields.size()}; }

std::string format_line(Level level, std::string_view svc, Fields before, std::string_view event,
                        std::span<const Field> after) {
  std::string out;
  out.reserve(160);
  out += "ts=";
  append_timestamp(out);
  out += " prog=";
  out += g_prog;
  out += " lvl=";
  out += level_name(level);
  if (!svc.empty()) {
    out += " svc=";
    append_value(out, svc);
  }
  append_fields(out, span_of(before));
  out += " event=";
  append_value(out, event);
  append_fields(out, after);
  return out;
}

}  // namespace

void append_event(std::string& out, std::string_view prog, std::string_view event, std::span<const Field> fields) {
  out += "ts=";
  append_timestamp(out);
  out += " prog=";
  append_value(out, prog);
  out += " event=";
  append_value(out, event);
  append_fields(out, fields);
}

std::string format(Level level, std::string_view svc, std::string_view event, Fields fields) {
  return format_line(level, svc, {}, event, span_of(fields));
}

void write(Level level, std::string_view svc, std::string_view event, Fields fields) {
  write(level, svc, event, span_of(fields));
}

void write(Level level, std::string_view svc, std::string_view event, std::span<const Field> fields) {
  if (!enabled(level)) return;
  emit(format_line(level, svc, {}, event, fields));
}

void Context::write(Level level, std::string_view event, Fields fields) const {
  write_fields(level, event, span_of(fields));
}

void Context::write_fields(Level level, std::string_view event, std::span<const Field> fields) const {
  if (!enabled(level)) return;
  emit(format_line(level, svc_, {{"sid", sid_}, {"peer", peer_}}, event, fields));
}

}  // namespace mail::log
