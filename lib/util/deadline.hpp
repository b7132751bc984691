// When a connection's pending read or write must be done by, as Postfix's smtpd does it
// (smtpd_timeout with smtpd_per_record_deadline, smtpd_min_data_rate): a whole command line, reply
// or handshake within the idle limit however slowly its bytes trickle in; in DATA one deadline for
// the whole content, which each read of n octets pushes back by n / min_rate seconds, never to more
// than the idle limit from now. Pure: the caller passes the time.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace mail::util {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;
  using time_point = Clock::time_point;

  explicit Deadline(std::chrono::milliseconds limit) noexcept : limit_(limit) {}

  void set_limit(std::chrono::milliseconds limit) noexcept { limit_ = limit; }
  std::chrono::milliseconds limit() const noexcept { return limit_; }

  /// A line (or exact) read begins at `now`: it must finish within the limit. In DATA with a rate
  /// the content's deadline goes on instead.
  void read_started(time_point now) noexcept {
    if (min_rate_ == 0) at_ = now + limit_;
  }
  /// A write or a TLS handshake begins at `now`: the whole limit.
  void write_started(time_point now) noexcept { at_ = now + limit_; }
  /// Closing (TLS close_notify): at most `bound`, never more than the limit.
  void closing(time_point now, std::chrono::milliseconds bound) noexcept { at_ = now + std::min(bound, limit_); }

  /// Message content begins at `now`, to arrive at `min_rate` octets/s or more; 0: each line gets
  /// the limit, as outside DATA.
  void data_started(time_point now, std::uint64_t min_rate) noexcept {
    min_rate_ = min_rate;
    at_ = now + limit_;
  }
  void data_ended() noexcept { min_rate_ = 0; }
  bool rate_on() const noexcept { return min_rate_ != 0; }
  /// `n` octets were read at `now`: with a rate on, n / min_rate seconds more, up to the limit from now.
  void on_read(time_point now, std::size_t n) noexcept;

  /// Passed: nothing pending until the next *_started() (the watchdog fired).
  void clear() noexcept { at_ = time_point::max(); }
  time_point at() const noexcept { return at_; }

 private:
  std::chrono::milliseconds limit_;
  std::uint64_t min_rate_ = 0;
  time_point at_ = time_point::max();
};

}  // namespace mail::util
