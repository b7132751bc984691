#include "util/cidr.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "util/text.hpp"

namespace mail::util {
namespace {

// The address as 4 or 16 bytes; an IPv4-mapped IPv6 address becomes its IPv4 form.
bool to_bytes(std::string_view text, std::array<std::uint8_t, 16>& out, bool& v6) {
  std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
    v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.data()) != 1) return false;
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(out.data(), kMapped, 12) == 0) {
    std::memmove(out.data(), out.data() + 12, 4);
    v6 = false;
    return true;
  }
  v6 = true;
  return true;
}

}  // namespace

Result<Cidr> Cidr::parse(std::string_view text) {
  Cidr c;
  c.text_ = std::string(text);
  auto slash = text.find('/');
  if (!to_bytes(text.substr(0, slash), c.bytes_, c.v6_))
    return fail(Errc::invalid, "'" + std::string(text) + "' is not an address range such as 127.0.0.0/8");
  const int max = c.v6_ ? 128 : 32;
  c.bits_ = max;
  if (slash != std::string_view::npos) {
    auto n = parse_uint(text.substr(slash + 1), static_cast<std::uint64_t>(max));
    if (!n) return fail(Errc::invalid, "'" + std::string(text) + "': the prefix length must be 0-" + std::to_string(max));
    c.bits_ = static_cast<int>(*n);
  }
  return c;
}

bool Cidr::contains(std::string_view ip) const {
  std::array<std::uint8_t, 16> b{};
  bool v6 = false;
  if (!to_bytes(ip, b, v6) || v6 != v6_) return false;
  int full = bits_ / 8;
  if (std::memcmp(b.data(), bytes_.data(), static_cast<std::size_t>(full)) != 0) return false;
  int rest = bits_ % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (b[static_cast<std::size_t>(full)] & mask) == (bytes_[static_cast<std::size_t>(full)] & mask);
}

bool any_contains(const std::vector<Cidr>& ranges, std::string_view ip) {
  for (const auto& r : ranges)
    if (r.contains(ip)) return true;
  return false;
}

}  // namespace mail::util
