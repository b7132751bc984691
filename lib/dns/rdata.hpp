// The record types we know (RFC 1035 3.2.2, 3.3; P is ours) and the typed RDATA of those that have a
// descriptor (dns/record_type.hpp). A new type adds its code, its RDATA struct and its alternative here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>

#include "dns/name.hpp"

namespace mail::dns {

namespace type {
constexpr std::uint16_t A = 1;
constexpr std::uint16_t NS = 2;
constexpr std::uint16_t CNAME = 5;
constexpr std::uint16_t SOA = 6;
constexpr std::uint16_t MX = 15;
constexpr std::uint16_t TXT = 16;
constexpr std::uint16_t AAAA = 28;
constexpr std::uint16_t OPT = 41;
constexpr std::uint16_t IXFR = 251;
constexpr std::uint16_t AXFR = 252;
constexpr std::uint16_t ANY = 255;
constexpr std::uint16_t P = 65280;  // private use (RFC 6895): the TCP port of a mail host
}  // namespace type

using Ipv4 = std::array<std::uint8_t, 4>;

struct ARecord {
  Ipv4 address{};
};
struct MxRecord {
  std::uint16_t preference = 10;
  Name exchange;
};
struct PortRecord {  // type P: RDATA is the port, 16 bits in network order
  std::uint16_t port = 0;
};
struct OpaqueRecord {  // any type without a descriptor, RDATA kept as bytes (RFC 3597)
  std::string bytes;
};
using Rdata = std::variant<ARecord, MxRecord, PortRecord, OpaqueRecord>;

/// The position of `T` among the alternatives of Rdata (what a descriptor reads and writes).
template <class T, class V = Rdata>
struct rdata_index;
template <class T, class... Ts>
struct rdata_index<T, std::variant<Ts...>> {
  static constexpr std::size_t value = [] {
    std::size_t i = 0;
    (void)((std::is_same_v<T, Ts> ? true : (++i, false)) || ...);
    return i;
  }();
};
template <class T>
constexpr std::size_t rdata_index_v = rdata_index<T>::value;

}  // namespace mail::dns
