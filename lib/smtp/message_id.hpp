// Noting a message's Message-ID (RFC 5322 3.6.4) from its header lines as they go by, for the event
// feed (docs/reference.md "Event feed"): the SMTP core during DATA, the relay from a queued file.
#pragma once

#include <string>
#include <string_view>

namespace mail::smtp {

class MessageIdScanner {
 public:
  /// One line of the message (without its ending), in order; a no-op once the header has ended.
  void line(std::string_view text);
  /// The first Message-ID field's value, unfolded and trimmed (with its <>); "" when none so far.
  const std::string& value() const noexcept { return value_; }
  bool in_header() const noexcept { return in_header_; }
  void reset() { *this = MessageIdScanner{}; }

 private:
  std::string value_;
  bool in_header_ = true;
  bool in_field_ = false;  // the last field was the Message-ID: a folded line continues it
};

/// The Message-ID of a message's header text (lines ending in LF or CRLF).
std::string message_id_of(std::string_view headers);

}  // namespace mail::smtp
