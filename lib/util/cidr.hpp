// Address ranges such as "127.0.0.0/8" or "::1/128" (a bare address is a /32 or /128), for
// [limits] per_peer_exempt. Pure: addresses are matched as text the way Conn::peer_ip() gives them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace mail::util {

class Cidr {
 public:
  /// "a.b.c.d/n", "v6::/n", or a bare address; an error says what is wrong.
  static Result<Cidr> parse(std::string_view text);
  /// True when `ip` (an IPv4 or IPv6 literal) lies in the range. An IPv4-mapped IPv6 address
  /// (::ffff:a.b.c.d) matches the IPv4 range it maps to.
  bool contains(std::string_view ip) const;
  const std::string& text() const noexcept { return text_; }

 private:
  std::array<std::uint8_t, 16> bytes_{};
  int bits_ = 0;
  bool v6_ = false;
  std::string text_;
};

/// True when any range of `ranges` contains `ip`.
bool any_contains(const std::vector<Cidr>& ranges, std::string_view ip);

}  // namespace mail::util
