#include "dns/respond.hpp"

#include <algorithm>

#include "dns/record_type.hpp"

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

// The rule that applies to this question, if any (the Event's views live only during the call).
std::optional<fault::Applied> ask_rules(const Asker& asker, const Question& q) {
  if (!asker.faults || asker.faults->empty()) return std::nullopt;
  std::string name = q.name.to_text();
  std::string type = type_name(q.type);
  fault::Event e;
  e.protocol = fault::Protocol::dns;
  e.stage = asker.transport == Transport::udp ? "udp" : "tcp";
  e.client = asker.client;
  e.name = name;
  e.type = type;
  return asker.faults->check(e);
}

// The rule's answer in place of the zone's: an rcode and no records, or TC (the client asks again over
// TCP, RFC 7766 5). False when the zone's answer stands (delay).
bool fault_answer(fault::Kind kind, const Question& q, Message& m) {
  switch (kind) {
    case fault::Kind::servfail: m.header.rcode = Rcode::servfail; break;
    case fault::Kind::refused: m.header.rcode = Rcode::refused; break;
    case fault::Kind::nxdomain:
      m.header.aa = true;
      m.header.rcode = Rcode::nxdomain;
      break;
    case fault::Kind::truncate:
      m.header.aa = true;
      m.header.tc = true;
      break;
    default: return false;
  }
  m.questions.push_back(q);
  return true;
}

// The zone's answer to a query of opcode QUERY with one question.
void zone_answer(const Zone& zone, const Message& q, Message& m) {
  if (q.edns && q.edns->version != 0) {
    m.header.rcode = Rcode::badvers;  // RFC 6891 6.1.3: no question in the reply
    return;
  }
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

}  // namespace

void respond(const Zone& zone, std::span<const std::uint8_t> query, Transport transport,
             std::vector<std::uint8_t>& answer) {
  respond(zone, query, Asker{transport, {}, nullptr}, answer);
}

Fate respond(const Zone& zone, std::span<const std::uint8_t> query, const Asker& asker,
             std::vector<std::uint8_t>& answer) {
  answer.clear();
  Fate fate;
  Header h;
  if (!decode_header(query, h) || h.qr) {  // nothing to answer to, or a response: never reply
    fate.send = false;
    return fate;
  }

  auto parsed = decode(query);
  if (!parsed) {
    Message m = reply_to(h);
    m.header.rcode = Rcode::formerr;
    encode(m, size_limit(asker.transport, std::nullopt), answer);
    return fate;
  }
  Message& q = *parsed;
  Message m = reply_to(q.header);
  if (q.edns) m.edns = Edns{};
  std::size_t limit = size_limit(asker.transport, q.edns);

  if (q.header.opcode != static_cast<std::uint8_t>(Opcode::query)) {
    m.header.rcode = Rcode::notimp;
  } else if (q.questions.size() != 1) {
    m.header.rcode = Rcode::formerr;
  } else {
    fate.fault = ask_rules(asker, q.questions.front());
    if (fate.fault && fate.fault->action->kind == fault::Kind::drop) {
      fate.send = false;
      return fate;
    }
    if (fate.fault && fate.fault->action->kind == fault::Kind::delay) fate.delay = fate.fault->action->delay;
    if (!fate.fault || !fault_answer(fate.fault->action->kind, q.questions.front(), m)) zone_answer(zone, q, m);
  }
  encode(m, limit, answer);
  return fate;
}

}  // namespace mail::dns
