// Splits a byte stream into lines, holding at most `max_line` bytes of any line (RFC 5321 4.5.3.1:
// the limits count the CRLF). Pure code: the caller owns the socket and the read buffer.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mail::util {

class LineSplitter {
 public:
  enum class Ending { crlf, lf };  // a line ended by a bare LF is still a line; CR alone is a byte
  struct Line {
    std::string_view text;  // without the ending; empty when too_long
    Ending ending = Ending::crlf;
    bool too_long = false;  // the line exceeded max_line and was discarded up to its LF
  };

  explicit LineSplitter(std::size_t max_line) : max_(max_line) {}

  /// Consumes bytes of `input` up to and including the next LF. Returns the completed line, or nullopt
  /// when `input` ran out first (everything was consumed). The line's text stays valid until the
  /// next call or until the caller's buffer changes.
  std::optional<Line> next(std::string_view& input);

  /// Bytes of an unfinished line held inside (never more than max_line).
  std::size_t pending() const noexcept { return partial_.size(); }
  void set_max(std::size_t max_line) noexcept { max_ = max_line; }
  std::size_t max() const noexcept { return max_; }
  /// Forgets an unfinished line (after STARTTLS, or when switching framing).
  void reset() noexcept;

 private:
  std::size_t max_;
  std::string partial_;
  bool discarding_ = false;  // skipping the rest of an overlong line
  bool returned_partial_ = false;  // the last Line pointed into partial_
};

}  // namespace mail::util
