#include "dns/answer.hpp"

#include <algorithm>

#include "dns/record_type.hpp"

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

namespace mail::dns {

std::optional<ReplySummary> summarize(std::span<const std::uint8_t> reply) {
  auto m = decode(reply);
  if (!m || m->questions.empty()) return std::nullopt;
  const auto& q = m->questions.front();
  ReplySummary s{q.name.to_text(), type_name(q.type), rcode_name(m->header.rcode), {}};
  for (const auto& r : m->answers) {
    if (!s.answer.empty()) s.answer += ',';
    auto text = to_text(r.type, r.data);  // "MX 10 mx.example.org": the type is the question's
    s.answer += text.substr(text.find(' ') == std::string::npos ? 0 : text.find(' ') + 1);
  }
  return s;
}

}  // namespace mail::dns
