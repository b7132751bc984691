// Turns stored text (LF line ends, the Maildir convention) into the wire form of SMTP DATA and POP3
// multi-line replies (RFC 5321 4.5.2, RFC 1939 3): CRLF line ends, a dot doubled at the start of a
// line. Streams: input may be cut anywhere. Optionally stops after the header and N body lines (TOP).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mail::util {

class DotStuffer {
 public:
  /// `body_lines`: stop after the header, the blank line and this many body lines (POP3 TOP).
  explicit DotStuffer(std::optional<std::uint64_t> body_lines = std::nullopt) : body_limit_(body_lines) {}

  /// Appends the wire form of `in` to `out`. A CRLF already in the input stays one CRLF; a bare CR is
  /// kept as a byte.
  void feed(std::string_view in, std::string& out);
  /// Ends the text: a CRLF if the last line had none, then the terminating ".\r\n".
  void finish(std::string& out);
  /// True once a TOP limit has been reached: the rest of the input can be skipped.
  bool done() const noexcept { return done_; }

 private:
  std::optional<std::uint64_t> body_limit_;
  bool at_line_start_ = true;
  bool pending_cr_ = false;    // the previous input byte was a CR not yet written
  bool in_body_ = false;       // the blank line after the header was seen
  bool line_empty_ = true;     // nothing but possibly a CR on the current line so far
  std::uint64_t body_count_ = 0;
  bool done_ = false;
};

}  // namespace mail::util
