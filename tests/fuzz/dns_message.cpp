// The DNS message decoder (RFC 1035 4.1, EDNS0 of RFC 6891) on any bytes. Checks: what decodes
// re-encodes (with name compression) to bytes that decode to the same message, and encoding that
// message again gives the same bytes; names hold at most 255 octets and labels at most 63; every
// name survives its text form (to_text, then from_text, also with a trailing dot).
//
// Input: the message bytes.
#include <span>
#include <vector>

#include "dns/message.hpp"
#include "fuzz.hpp"

using namespace mail;

namespace {

void check_name(const dns::Name& n) {
  FUZZ_CHECK(n.wire_size() <= dns::kMaxNameWire);
  const std::string& w = n.wire();
  for (std::size_t i = 0; i < w.size(); i += 1 + static_cast<unsigned char>(w[i])) {
    auto len = static_cast<unsigned char>(w[i]);
    FUZZ_CHECK(len >= 1 && len <= dns::kMaxLabel && i + 1 + len <= w.size());
  }
  auto text = n.to_text();
  auto back = dns::Name::from_text(text);
  FUZZ_CHECK(back && back->wire() == w);  // exactly, case included
  if (!n.is_root()) {
    auto dotted = dns::Name::from_text(text + ".");
    FUZZ_CHECK(dotted && dotted->wire() == w);
  }
}

bool same(const dns::Record& a, const dns::Record& b) {
  if (!(a.name == b.name) || a.type != b.type || a.klass != b.klass || a.ttl != b.ttl) return false;
  if (a.data.index() != b.data.index()) return false;
  if (auto* x = std::get_if<dns::ARecord>(&a.data)) return x->address == std::get<dns::ARecord>(b.data).address;
  if (auto* x = std::get_if<dns::MxRecord>(&a.data)) {
    const auto& y = std::get<dns::MxRecord>(b.data);
    return x->preference == y.preference && x->exchange == y.exchange;
  }
  if (auto* x = std::get_if<dns::PortRecord>(&a.data)) return x->port == std::get<dns::PortRecord>(b.data).port;
  return std::get<dns::OpaqueRecord>(a.data).bytes == std::get<dns::OpaqueRecord>(b.data).bytes;
}

bool same(const std::vector<dns::Record>& a, const std::vector<dns::Record>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!same(a[i], b[i])) return false;
  return true;
}

bool same(const dns::Message& a, const dns::Message& b) {
  const auto &x = a.header, &y = b.header;
  if (x.id != y.id || x.qr != y.qr || x.aa != y.aa || x.tc != y.tc || x.rd != y.rd || x.ra != y.ra || x.ad != y.ad ||
      x.cd != y.cd || x.opcode != y.opcode || x.rcode != y.rcode)
    return false;
  if (a.questions.size() != b.questions.size()) return false;
  for (std::size_t i = 0; i < a.questions.size(); ++i) {
    const auto &p = a.questions[i], &q = b.questions[i];
    if (!(p.name == q.name) || p.type != q.type || p.klass != q.klass) return false;
  }
  if (a.edns.has_value() != b.edns.has_value()) return false;
  if (a.edns && (a.edns->udp_size != b.edns->udp_size || a.edns->version != b.edns->version ||
                 a.edns->dnssec_ok != b.edns->dnssec_ok))
    return false;
  return same(a.answers, b.answers) && same(a.authority, b.authority) && same(a.additional, b.additional);
}

void check_names(const std::vector<dns::Record>& records) {
  for (const auto& r : records) {
    check_name(r.name);
    if (auto* mx = std::get_if<dns::MxRecord>(&r.data)) check_name(mx->exchange);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);
  dns::Header h;
  bool header = dns::decode_header(bytes, h);
  FUZZ_CHECK(header == (size >= dns::kHeaderSize));
  auto m = dns::decode(bytes);
  if (!m) {
    FUZZ_CHECK(!m.error().detail.empty());
    return 0;
  }
  FUZZ_CHECK(header && h.id == m->header.id && h.qr == m->header.qr && h.opcode == m->header.opcode);
  for (const auto& q : m->questions) check_name(q.name);
  check_names(m->answers);
  check_names(m->authority);
  check_names(m->additional);

  auto wire = dns::encode(*m);
  auto again = dns::decode(wire);
  FUZZ_CHECK(again.has_value());
  if (again->header.tc && !m->header.tc) return 0;  // grew past 65535 octets without the sender's compression
  FUZZ_CHECK(same(*m, *again));
  FUZZ_CHECK(dns::encode(*again) == wire);
  return 0;
}
