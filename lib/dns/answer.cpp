#include "dns/answer.hpp"

#include <algorithm>

namespace mail::dns {

std::vector<MxRecord> mx_of(const Answer& a) {
  std::vector<MxRecord> out;
  for (const auto& r : a.records)
    if (const auto* mx = std::get_if<MxRecord>(&r.data); mx && r.type == type::MX) out.push_back(*mx);
  std::stable_sort(out.begin(), out.end(),
                   [](const MxRecord& x, const MxRecord& y) { return x.preference < y.preference; });
  return out;
}

std::optional<std::uint16_t> port_of(const Answer& a) {
  for (const auto& r : a.records)
    if (const auto* p = std::get_if<PortRecord>(&r.data); p && r.type == type::P) return p->port;
  return std::nullopt;
}

std::vector<Ipv4> addresses_of(const Answer& a) {
  std::vector<Ipv4> out;
  for (const auto& r : a.records)
    if (const auto* x = std::get_if<ARecord>(&r.data); x && r.type == type::A) out.push_back(x->address);
  return out;
}

std::uint32_t min_ttl(const Answer& a) {
  if (a.records.empty()) return 0;
  std::uint32_t t = a.records.front().ttl;
  for (const auto& r : a.records) t = std::min(t, r.ttl);
  return t;
}

std::string to_string(const Ipv4& a) {
  return std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." + std::to_string(a[3]);
}

}  // namespace mail::dns
