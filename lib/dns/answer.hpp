// The outcome of one lookup, whoever produced it (a zone in process, a DNS server, the cache), and
// the typed views that callers want from it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dns/message.hpp"

namespace mail::dns {

struct Answer {
  Rcode rcode = Rcode::noerror;    // noerror or nxdomain; other codes are errors of the resolver
  std::vector<Record> records;     // the answer section
  std::vector<Record> additional;  // e.g. addresses of MX hosts
};

/// MX records of the answer, sorted by preference (stable, so equal preferences keep their order).
std::vector<MxRecord> mx_of(const Answer& a);
/// The first P record's port.
std::optional<std::uint16_t> port_of(const Answer& a);
std::vector<Ipv4> addresses_of(const Answer& a);
/// Lowest TTL of the answer records (0 when there are none).
std::uint32_t min_ttl(const Answer& a);

std::string to_string(const Ipv4& a);

/// A reply as the event feed shows it (docs/reference.md "Event feed", fdns's `query`): the question,
/// the rcode's name, and the answer records' text ("10 mx1.qq.com", "127.0.0.1"), comma-separated.
struct ReplySummary {
  std::string name, type, rcode, answer;
};
/// nullopt when `reply` does not decode or has no question.
std::optional<ReplySummary> summarize(std::span<const std::uint8_t> reply);

}  // namespace mail::dns
