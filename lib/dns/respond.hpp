// The whole of fdns's decision: query bytes in, answer bytes out, and what the fault rules make of it
// (pure; the services only move bytes, and wait or stay silent when told to).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "dns/zone.hpp"
#include "fault/fault.hpp"

namespace mail::dns {

enum class Transport { udp, tcp };

/// Fills `answer` with the reply to `query` (cleared first; left empty when the packet deserves no
/// reply: shorter than a header, or itself a response). Malformed queries get FORMERR, opcodes other
/// than QUERY NOTIMP, EDNS versions above 0 BADVERS, classes other than IN REFUSED, names outside
/// the zone NXDOMAIN. Over UDP the answer fits in 512 octets, or in the EDNS size the client
/// offers (at most kEdnsUdpSize); otherwise TC is set.
void respond(const Zone& zone, std::span<const std::uint8_t> query, Transport transport,
             std::vector<std::uint8_t>& answer);

/// Who asks, and the fault rules in force (docs/reference.md "Fault rules in fdns").
struct Asker {
  Transport transport = Transport::udp;
  std::string_view client;            // the peer's IP address, for `match = { client = ... }`
  fault::Injector* faults = nullptr;  // null or empty: answer as the zone says
};

/// What the service does with `answer`.
struct Fate {
  bool send = true;                     // false: no answer at all (`drop`, or nothing to answer to)
  std::chrono::milliseconds delay{0};   // send it this much later (`delay MS`)
  std::optional<fault::Applied> fault;  // the rule that applied, for the `event=fault` line
};

/// respond(), with the fault rules asked (stage "udp" or "tcp") about each query that has one question
/// of opcode QUERY: servfail, nxdomain and refused answer with that rcode and no records, truncate
/// (over UDP only) with an empty answer and TC, drop with nothing, delay with the zone's answer later.
Fate respond(const Zone& zone, std::span<const std::uint8_t> query, const Asker& asker,
             std::vector<std::uint8_t>& answer);

}  // namespace mail::dns
