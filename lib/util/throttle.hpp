// At most one log line per interval for an event that can repeat thousands of times a second
// (accept failures, refused connections); the next line allowed says how many were held back. Pure:
// the caller passes the time.
#pragma once

#include <chrono>
#include <cstdint>

namespace mail::util {

class Throttle {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit Throttle(std::chrono::milliseconds every = std::chrono::seconds(1)) noexcept : every_(every) {}

  /// True when the event happening at `now` is to be logged; suppressed() then counts the events
  /// held back since the last one logged.
  bool allow(time_point now) noexcept {
    if (logged_ && now - last_ < every_) {
      ++held_;
      return false;
    }
    suppressed_ = held_;
    held_ = 0;
    last_ = now;
    logged_ = true;
    return true;
  }
  std::uint64_t suppressed() const noexcept { return suppressed_; }

 private:
  std::chrono::milliseconds every_;
  time_point last_{};
  bool logged_ = false;
  std::uint64_t held_ = 0;
  std::uint64_t suppressed_ = 0;
};

}  // namespace mail::util
