#include "util/event_batch.hpp"

#include <algorithm>

namespace mail::util {

namespace {
std::uint64_t lines_in(std::string_view s) { return static_cast<std::uint64_t>(std::count(s.begin(), s.end(), '\n')); }
}  // namespace

bool EventBatch::add(std::string_view line) {
  // A line that could never fit a datagram, or one the bounded buffer has no room for, is lost.
  if (line.size() + 1 > limits_.datagram / 2 || buf_.size() + line.size() + 1 > limits_.buffer) {
    ++dropped_;
    return buf_.size() >= limits_.flush_at;
  }
  buf_ += line;
  buf_ += '\n';
  return buf_.size() >= limits_.flush_at;
}

bool EventBatch::flush(const Send& send) {
  std::string datagram;
  std::size_t at = 0;
  while (at < buf_.size()) {
    datagram.clear();
    if (dropped_ > 0) {
      datagram = dropped_line_(dropped_);
      datagram += '\n';
    }
    // Whole lines up to the datagram's size (each line is at most half of it, so one always fits).
    std::size_t end = at;
    while (end < buf_.size()) {
      std::size_t nl = buf_.find('\n', end);
      if (datagram.size() + (nl + 1 - at) > limits_.datagram) break;
      end = nl + 1;
    }
    datagram.append(buf_, at, end - at);
    Sent sent = send(datagram);
    if (sent == Sent::full) {
      buf_.erase(0, at);
      return true;
    }
    if (sent == Sent::gone) {
      dropped_ += lines_in(std::string_view(buf_).substr(at));
      break;
    }
    dropped_ = 0;
    at = end;
  }
  buf_.clear();
  return false;
}

}  // namespace mail::util
