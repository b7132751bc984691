// DNS messages (RFC 1035 4.1) with EDNS0 (RFC 6891): decode from bytes, encode to bytes with name
// compression and truncation (TC) when the answer does not fit.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dns/name.hpp"
#include "dns/rdata.hpp"
#include "util/result.hpp"

namespace mail::dns {

constexpr std::uint16_t kClassIn = 1;
constexpr std::uint16_t kClassAny = 255;
constexpr std::size_t kHeaderSize = 12;
constexpr std::size_t kClassicUdpSize = 512;  // without EDNS (RFC 1035 4.2.1)
constexpr std::size_t kEdnsUdpSize = 1232;     // what we offer (DNS flag day 2020)

enum class Rcode : std::uint16_t {
  noerror = 0,
  formerr = 1,
  servfail = 2,
  nxdomain = 3,
  notimp = 4,
  refused = 5,
  badvers = 16,  // extended, needs OPT
};

enum class Opcode : std::uint8_t { query = 0, iquery = 1, status = 2, notify = 4, update = 5 };

struct Header {
  std::uint16_t id = 0;
  bool qr = false, aa = false, tc = false, rd = false, ra = false, ad = false, cd = false;
  std::uint8_t opcode = 0;
  Rcode rcode = Rcode::noerror;  // 12 bits: the header's 4 plus the OPT record's 8
};

struct Question {
  Name name;
  std::uint16_t type = type::A;
  std::uint16_t klass = kClassIn;
};

struct Record {
  Name name;
  std::uint16_t type = type::A;
  std::uint16_t klass = kClassIn;
  std::uint32_t ttl = 0;
  Rdata data;
};

struct Edns {
  std::uint16_t udp_size = kEdnsUdpSize;
  std::uint8_t version = 0;
  bool dnssec_ok = false;
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<Record> answers;
  std::vector<Record> authority;
  std::vector<Record> additional;  // without the OPT record, which is `edns`
  std::optional<Edns> edns;
};

/// Decodes a whole message. Errc::parse with a reason for anything out of bounds or malformed.
Result<Message> decode(std::span<const std::uint8_t> bytes);
/// Reads only the 12-byte header (false when shorter).
bool decode_header(std::span<const std::uint8_t> bytes, Header& out);

/// Appends the encoded message to `out` (cleared first), at most `max_size` bytes: when the answer or
/// authority records do not fit, they are all left out and TC is set; additional records that do not
/// fit are left out without TC (RFC 2181 9). The question and OPT always stay.
void encode(const Message& m, std::size_t max_size, std::vector<std::uint8_t>& out);
std::vector<std::uint8_t> encode(const Message& m, std::size_t max_size = 65535);

const char* rcode_name(Rcode r) noexcept;

}  // namespace mail::dns
