#include "dns/respond.hpp"

#include <algorithm>

namespace mail::dns {
namespace {

std::size_t size_limit(Transport t, const std::optional<Edns>& edns) {
  if (t == Transport::tcp) return 65535;
  if (!edns) return kClassicUdpSize;
  return std::clamp<std::size_t>(edns->udp_size, kClassicUdpSize, kEdnsUdpSize);
}

Message reply_to(const Header& q) {
  Message m;
  m.header.id = q.id;
  m.header.qr = true;
  m.header.opcode = q.opcode;
  m.header.rd = q.rd;
  return m;
}

}  // namespace

void respond(const Zone& zone, std::span<const std::uint8_t> query, Transport transport,
             std::vector<std::uint8_t>& answer) {
  answer.clear();
  Header h;
  if (!decode_header(query, h) || h.qr) return;  // nothing to answer to, or a response: never reply

  auto parsed = decode(query);
  if (!parsed) {
    Message m = reply_to(h);
    m.header.rcode = Rcode::formerr;
    encode(m, size_limit(transport, std::nullopt), answer);
    return;
  }
  Message& q = *parsed;
  Message m = reply_to(q.header);
  if (q.edns) m.edns = Edns{};
  std::size_t limit = size_limit(transport, q.edns);

  if (q.header.opcode != static_cast<std::uint8_t>(Opcode::query)) {
    m.header.rcode = Rcode::notimp;
  } else if (q.questions.size() != 1) {
    m.header.rcode = Rcode::formerr;
  } else if (q.edns && q.edns->version != 0) {
    m.header.rcode = Rcode::badvers;  // RFC 6891 6.1.3: no question in the reply
  } else {
    const Question& qq = q.questions.front();
    m.questions.push_back(qq);
    if (qq.klass != kClassIn && qq.klass != kClassAny) {
      m.header.rcode = Rcode::refused;
    } else if (qq.type == type::AXFR || qq.type == type::IXFR) {
      m.header.rcode = Rcode::notimp;  // no zone transfers
    } else {
      Answer a = zone.lookup(qq.name, qq.type);
      m.header.aa = true;
      m.header.rcode = a.rcode;
      m.answers = std::move(a.records);
      m.additional = std::move(a.additional);
    }
  }
  encode(m, limit, answer);
}

}  // namespace mail::dns
