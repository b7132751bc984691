// The event feed's buffer (docs/reference.md "Event feed"), without the socket: event lines wait here
// until the driver (net::EventFeed) sends them as datagrams of whole lines. Bounded; whatever cannot
// be kept or sent is counted, and the next datagram that gets through starts with the count.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mail::util {

struct EventBatchLimits {
  std::size_t datagram = 60 * 1024;     // octets per datagram, whole lines only
  std::size_t flush_at = 32 * 1024;     // add() asks for a flush at once past this
  std::size_t buffer = 256 * 1024;      // lines beyond this are dropped (and counted)
};

class EventBatch {
 public:
  /// What became of one datagram: sent; `full`, the receiver is there but its queue is full (it
  /// will read: try again later); `gone`, no receiver or any other error (drop it).
  enum class Sent { ok, full, gone };
  using Send = std::function<Sent(std::string_view datagram)>;
  /// Makes the line that reports `n` dropped lines (with its own timestamp), without the newline.
  using DroppedLine = std::function<std::string(std::uint64_t n)>;

  EventBatch(EventBatchLimits limits, DroppedLine dropped_line)
      : limits_(limits), dropped_line_(std::move(dropped_line)) {}

  /// Takes one line (without its newline). True when the buffer has passed flush_at.
  bool add(std::string_view line);
  /// Sends everything buffered, a datagram at a time. When a send is `gone`, that datagram and the
  /// rest of the buffer are dropped and counted; when it is `full`, the rest stays for the next flush
  /// (the buffer's bound still holds). True when lines still wait.
  bool flush(const Send& send);

  bool empty() const noexcept { return buf_.empty(); }
  std::uint64_t dropped() const noexcept { return dropped_; }  // not yet reported

 private:
  EventBatchLimits limits_;
  DroppedLine dropped_line_;
  std::string buf_;  // whole lines, each ending in '\n'
  std::uint64_t dropped_ = 0;
};

}  // namespace mail::util
