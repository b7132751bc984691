// SMTP replies (RFC 5321 4.2): one formatter for the server and one parser for the client side
// (multi-line replies with "250-" continuations, enhanced status codes of RFC 3463 kept in the text).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mail::smtp {

struct Reply {
  int code = 250;
  std::vector<std::string> lines;  // text of each line, e.g. "2.1.0 Ok"; at least one

  bool positive() const noexcept { return code >= 200 && code < 400; }
  bool transient() const noexcept { return code >= 400 && code < 500; }
  bool permanent() const noexcept { return code >= 500; }
  /// All lines joined by "; " (for logs and bounces).
  std::string text() const;
};

/// A one-line reply.
inline Reply reply(int code, std::string text) { return Reply{code, {std::move(text)}}; }

/// "250-first\r\n250 last\r\n".
std::string format(const Reply& r);
void append(std::string& out, const Reply& r);

/// Reads reply lines one at a time (CRLF stripped) and returns each complete reply.
class ReplyParser {
 public:
  /// Lines kept of one reply; later ones are read but dropped, so a server sending endless "250-"
  /// lines cannot grow the relay's memory (Postfix's client also stops keeping reply text).
  static constexpr std::size_t kMaxLines = 100;

  /// A complete reply when `line` was its last line; nullopt while more lines are due. A line that
  /// is not "DDD-text" or "DDD text" (or changes code mid-reply) sets error().
  std::optional<Reply> feed(std::string_view line);
  bool error() const noexcept { return error_; }

 private:
  Reply partial_;
  bool in_reply_ = false;
  bool error_ = false;
};

}  // namespace mail::smtp
