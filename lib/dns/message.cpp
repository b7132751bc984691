#include "dns/message.hpp"

#include "dns/record_type.hpp"
#include "dns/wire.hpp"

namespace mail::dns {
namespace {

std::uint16_t flags_of(const Header& h) {
  std::uint16_t f = 0;
  if (h.qr) f |= 0x8000;
  f |= static_cast<std::uint16_t>((h.opcode & 0xF) << 11);
  if (h.aa) f |= 0x0400;
  if (h.tc) f |= 0x0200;
  if (h.rd) f |= 0x0100;
  if (h.ra) f |= 0x0080;
  if (h.ad) f |= 0x0020;
  if (h.cd) f |= 0x0010;
  f |= static_cast<std::uint16_t>(static_cast<std::uint16_t>(h.rcode) & 0xF);
  return f;
}

void set_flags(Header& h, std::uint16_t f) {
  h.qr = f & 0x8000;
  h.opcode = static_cast<std::uint8_t>((f >> 11) & 0xF);
  h.aa = f & 0x0400;
  h.tc = f & 0x0200;
  h.rd = f & 0x0100;
  h.ra = f & 0x0080;
  h.ad = f & 0x0020;
  h.cd = f & 0x0010;
  h.rcode = static_cast<Rcode>(f & 0xF);
}

Error bad(const char* section, const Reader& r) {
  return fail(Errc::parse, std::string(section) + ": " + r.error() + " at offset " + std::to_string(r.pos()));
}

Result<Record> read_record(Reader& r, const char* section) {
  Record rec;
  std::uint16_t rdlen = 0;
  if (!r.name(rec.name) || !r.u16(rec.type) || !r.u16(rec.klass) || !r.u32(rec.ttl) || !r.u16(rdlen))
    return bad(section, r);
  if (r.remaining() < rdlen) return fail(Errc::parse, std::string(section) + ": RDATA runs past the end");
  if (const RecordType* t = find_record_type(rec.type)) {
    auto data = t->decode(r, rdlen);
    if (!data) return fail(Errc::parse, std::string(section) + ": " + data.error().detail);
    rec.data = std::move(*data);
  } else {  // RFC 3597: kept as bytes
    OpaqueRecord o;
    (void)r.bytes(rdlen, o.bytes);
    rec.data = std::move(o);
  }
  return rec;
}

void write_record(Writer& w, const Record& rec) {
  w.name(rec.name);
  w.u16(rec.type);
  w.u16(rec.klass);
  w.u32(rec.ttl);
  std::size_t len_at = w.size();
  w.u16(0);
  if (const RecordType* t = record_type_of(rec.data)) t->encode(rec.data, w);
  else w.bytes(std::get<OpaqueRecord>(rec.data).bytes);
  w.patch_u16(len_at, static_cast<std::uint16_t>(w.size() - len_at - 2));
}

constexpr std::size_t kOptSize = 11;  // root name, type, class, ttl, rdlength 0

void write_opt(Writer& w, const Edns& e, Rcode rcode) {
  w.u8(0);
  w.u16(type::OPT);
  w.u16(e.udp_size);
  auto ext = static_cast<std::uint32_t>((static_cast<std::uint16_t>(rcode) >> 4) & 0xFF);
  w.u32(ext << 24 | static_cast<std::uint32_t>(e.version) << 16 | (e.dnssec_ok ? 0x8000u : 0u));
  w.u16(0);
}

}  // namespace

bool decode_header(std::span<const std::uint8_t> bytes, Header& out) {
  Reader r(bytes);
  std::uint16_t flags = 0;
  if (!r.u16(out.id) || !r.u16(flags)) return false;
  if (bytes.size() < kHeaderSize) return false;
  set_flags(out, flags);
  return true;
}

Result<Message> decode(std::span<const std::uint8_t> bytes) {
  Message m;
  Reader r(bytes);
  std::uint16_t flags = 0, qd = 0, an = 0, ns = 0, ar = 0;
  if (!r.u16(m.header.id) || !r.u16(flags) || !r.u16(qd) || !r.u16(an) || !r.u16(ns) || !r.u16(ar))
    return fail(Errc::parse, "header: shorter than 12 octets");
  set_flags(m.header, flags);
  // Each question takes at least 5 octets and each record 11: counts beyond that are lies.
  if (static_cast<std::size_t>(qd) * 5 + (static_cast<std::size_t>(an) + ns + ar) * 11 > r.remaining())
    return fail(Errc::parse, "section counts exceed the message size");
  m.questions.reserve(qd);
  for (int i = 0; i < qd; ++i) {
    Question q;
    if (!r.name(q.name) || !r.u16(q.type) || !r.u16(q.klass)) return bad("question", r);
    m.questions.push_back(std::move(q));
  }
  auto section = [&](int count, std::vector<Record>& out, const char* name) -> Result<void> {
    for (int i = 0; i < count; ++i) {
      auto rec = read_record(r, name);
      if (!rec) return std::move(rec).error();
      out.push_back(std::move(*rec));
    }
    return {};
  };
  if (auto s = section(an, m.answers, "answer"); !s) return s.error();
  if (auto s = section(ns, m.authority, "authority"); !s) return s.error();
  std::vector<Record> additional;
  if (auto s = section(ar, additional, "additional"); !s) return s.error();
  for (auto& rec : additional) {
    if (rec.type != type::OPT) {
      m.additional.push_back(std::move(rec));
      continue;
    }
    if (m.edns) return fail(Errc::parse, "more than one OPT record");
    if (!rec.name.is_root()) return fail(Errc::parse, "OPT record with a name other than the root");
    Edns e;
    e.udp_size = rec.klass;
    e.version = static_cast<std::uint8_t>(rec.ttl >> 16);
    e.dnssec_ok = rec.ttl & 0x8000;
    auto ext = static_cast<std::uint16_t>((rec.ttl >> 24) << 4);
    m.header.rcode = static_cast<Rcode>(ext | (static_cast<std::uint16_t>(m.header.rcode) & 0xF));
    m.edns = e;
  }
  // Octets after the last record are not a DNS message (NSD answers FORMERR; so do we).
  if (r.remaining() != 0) return fail(Errc::parse, std::to_string(r.remaining()) + " octets after the last record");
  return m;
}

void encode(const Message& m, std::size_t max_size, std::vector<std::uint8_t>& out) {
  out.clear();
  Writer w(out);
  Header h = m.header;
  w.u16(h.id);
  w.u16(0);  // flags, patched at the end
  w.u16(static_cast<std::uint16_t>(m.questions.size()));
  w.u16(0);
  w.u16(0);
  w.u16(0);
  for (const auto& q : m.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.klass);
  }
  std::size_t reserve = m.edns ? kOptSize : 0;
  std::size_t after_question = w.size();
  std::uint16_t an = 0, ns = 0, ar = 0;
  for (const auto& rec : m.answers) {
    write_record(w, rec);
    ++an;
  }
  for (const auto& rec : m.authority) {
    write_record(w, rec);
    ++ns;
  }
  if (w.size() + reserve > max_size) {
    w.truncate(after_question);
    an = ns = 0;
    h.tc = true;
  }
  for (const auto& rec : m.additional) {
    std::size_t before = w.size();
    write_record(w, rec);
    if (w.size() + reserve > max_size) {
      w.truncate(before);
      break;
    }
    ++ar;
  }
  if (m.edns) {
    write_opt(w, *m.edns, h.rcode);
    ++ar;
  }
  w.patch_u16(2, flags_of(h));
  w.patch_u16(6, an);
  w.patch_u16(8, ns);
  w.patch_u16(10, ar);
}

std::vector<std::uint8_t> encode(const Message& m, std::size_t max_size) {
  std::vector<std::uint8_t> out;
  encode(m, max_size, out);
  return out;
}

const char* rcode_name(Rcode r) noexcept {
  switch (r) {
    case Rcode::noerror: return "NOERROR";
    case Rcode::formerr: return "FORMERR";
    case Rcode::servfail: return "SERVFAIL";
    case Rcode::nxdomain: return "NXDOMAIN";
    case Rcode::notimp: return "NOTIMP";
    case Rcode::refused: return "REFUSED";
    case Rcode::badvers: return "BADVERS";
  }
  return "RCODE?";
}

}  // namespace mail::dns
