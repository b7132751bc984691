#include "util/deadline.hpp"

namespace mail::util {

void Deadline::on_read(time_point now, std::size_t n) noexcept {
  if (min_rate_ == 0) return;
  const auto cap = now + limit_;
  const std::uint64_t octets = n;
  const std::uint64_t whole = octets / min_rate_;
  if (at_ >= cap || whole >= static_cast<std::uint64_t>(std::chrono::ceil<std::chrono::seconds>(limit_).count())) {
    at_ = cap;  // (also keeps the sums below within range)
    return;
  }
  // n / rate seconds in nanoseconds: rate < 2^31, so (n % rate) * 1e9 < 2^61.
  const auto credit = std::chrono::duration_cast<Clock::duration>(
      std::chrono::seconds(whole) + std::chrono::nanoseconds((octets % min_rate_) * 1'000'000'000ULL / min_rate_));
  at_ = cap - at_ <= credit ? cap : at_ + credit;
}

}  // namespace mail::util
