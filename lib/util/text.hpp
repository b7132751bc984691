// Small text helpers shared by every library: ASCII case folding, numbers, HOST:PORT.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace mail::util {

constexpr char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b) noexcept;
std::string_view trim(std::string_view s) noexcept;

/// Decimal digits only (no sign, no spaces), value <= max.
std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max) noexcept;

struct HostPort {
  std::string host;  // as written; brackets of an IPv6 literal removed
  std::uint16_t port = 0;
};
/// "host:port", "[v6]:port"; a missing port takes `default_port` when given, else is an error.
Result<HostPort> parse_host_port(std::string_view s, std::optional<std::uint16_t> default_port = std::nullopt);
/// "host:port" with brackets around an IPv6 address.
std::string format_host_port(std::string_view host, std::uint16_t port);
/// True for a numeric IPv4 or IPv6 address.
bool is_ip_literal(std::string_view s);

/// How a protocol core logs a command line it did not take apart, without showing what it holds: the
/// first word (after leading blanks, up to the first byte that is not printable ASCII) upper-cased when
/// `is_verb` says it names a command, then only the length: "AUTH <unparsed, 64 octets>".
std::string unparsed_line(std::string_view line, bool (*is_verb)(std::string_view word));

}  // namespace mail::util
