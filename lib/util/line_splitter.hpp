// Splits a byte stream into lines, holding at most about `max_line` bytes of any line (RFC 5321
// 4.5.3.1: the limits count the CRLF). What happens to a longer line is the caller's choice: discard
// it (command lines, or DATA with a [limits] text_line) or hand it over in pieces (DATA without a
// limit: stored intact, never held whole). Pure code: the caller owns the socket and the read buffer.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mail::util {

class LineSplitter {
 public:
  enum class Ending { crlf, lf };  // a line ended by a bare LF is still a line; CR alone is a byte
  enum class Overlong {
    discard,  // report the line once as too_long (with its real ending), keep none of it
    split,    // return it in pieces of about max_line octets (partial = true) and then its last piece
  };
  struct Line {
    std::string_view text;  // without the ending; empty when too_long
    Ending ending = Ending::crlf;  // of the whole line (meaningless while partial)
    bool too_long = false;  // the line exceeded max_line and was discarded up to its LF
    bool partial = false;   // a piece of a long line: more of the same line follows
  };

  explicit LineSplitter(std::size_t max_line, Overlong mode = Overlong::discard) : max_(max_line), mode_(mode) {}

  /// Consumes bytes of `input` up to and including the next LF (or up to a piece's end). Returns the
  /// completed line or piece, or nullopt when `input` ran out first (everything was consumed). The
  /// text stays valid until the next call or until the caller's buffer changes.
  std::optional<Line> next(std::string_view& input);

  /// Bytes of an unfinished line held inside (bounded by max_line plus one read).
  std::size_t pending() const noexcept { return partial_.size(); }
  void set_max(std::size_t max_line, Overlong mode = Overlong::discard) noexcept {
    max_ = max_line;
    mode_ = mode;
  }
  std::size_t max() const noexcept { return max_; }
  /// Forgets an unfinished line (after STARTTLS, or when switching framing).
  void reset() noexcept;

 private:
  std::optional<Line> finish_line(std::string_view chunk);
  std::optional<Line> piece(std::string_view chunk);

  std::size_t max_;
  Overlong mode_;
  std::string partial_;
  bool discarding_ = false;  // skipping the rest of an overlong line
  bool last_cr_ = false;     // while discarding: the last octet skipped was CR (so LF makes CRLF)
  bool returned_partial_ = false;  // the last Line pointed into partial_
  bool held_cr_ = false;     // a piece ended in CR: kept back, it may begin the CRLF
};

}  // namespace mail::util
