// The whole of fdns's decision: query bytes in, answer bytes out (pure; the services only move bytes).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dns/zone.hpp"

namespace mail::dns {

enum class Transport { udp, tcp };

/// Fills `answer` with the reply to `query` (cleared first; left empty when the packet deserves no
/// reply: shorter than a header, or itself a response). Malformed queries get FORMERR, opcodes other
/// than QUERY NOTIMP, EDNS versions above 0 BADVERS, classes other than IN REFUSED, names outside
/// the zone NXDOMAIN. Over UDP the answer fits in 512 octets, or in the EDNS size the client
/// offers (at most kEdnsUdpSize); otherwise TC is set.
void respond(const Zone& zone, std::span<const std::uint8_t> query, Transport transport,
             std::vector<std::uint8_t>& answer);

}  // namespace mail::dns
