// fdns's whole decision, dns::respond, over a small zone (the world's fdns/fdns.toml plus names with
// odd bytes and case). Checks: no answer exactly for packets shorter than a header or that are
// responses; otherwise the answer decodes, is a response to the same id and opcode, fits the
// transport (512 octets, or the client's EDNS size up to 1232, over UDP), echoes the question as sent,
// carries EDNS when the query did, and for a proper query holds exactly the zone's records (or TC).
// Under fault rules: a rule applies only to a proper query, and its answer is its action's (no answer
// for drop, the rcode and no records, TC only over UDP, the zone's answer for delay).
//
// Input: flags (bit 0: TCP; bits 1-3: which rule set, 0 = none), then the query bytes.
#include <algorithm>
#include <span>
#include <vector>

#include "config/document.hpp"
#include "dns/respond.hpp"
#include "fuzz.hpp"

using namespace mail;

namespace {

const char* kZone = R"(ttl = 60
[MX]
"mail.sustech.edu.cn." = "mxbiz1.qq.com."
"gmail.com." = [{ pref = 5, host = "gmail-smtp-in.l.google.com." }, { pref = 20, host = "alt1.gmail.com" }]
"Big.Example" = [{ pref = 1, host = "a.big.example" }, { pref = 2, host = "b.big.example" },
                 { pref = 3, host = "c.big.example" }, { pref = 4, host = "d.big.example" }]
[P]
"smtp.exmail.qq.com." = "1025"
"smtp.gmail.com." = "2025"
"pop.exmail.qq.com." = "3110"
"pop.gmail.com." = "2110"
"mxbiz1.qq.com." = "1025"
"gmail-smtp-in.l.google.com." = "2025"
"odd\\.dot\\032name.test" = 25
[A]
"alt1.gmail.com" = ["127.0.0.2", "127.0.0.3"]
"a.big.example" = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7"]
)";

const dns::Zone& zone() {
  static const dns::Zone z = [] {
    auto r = dns::Zone::parse(kZone, "fuzz-zone.toml");
    if (!r) fuzz::fail(__FILE__, __LINE__, r.error().detail.c_str());
    return std::move(*r);
  }();
  return z;
}

// One rule set per value of the flags' bits 1-3 (no counters: each input is judged on its own).
fault::Injector* rules(unsigned set) {
  static const char* kSets[] = {
      "",
      "rule = [{ when = \"dns query\", match = { name = \"*gmail*\" }, do = \"servfail\" }]",
      "rule = [{ when = \"dns query\", match = { type = \"MX\" }, do = \"nxdomain\" }]",
      "rule = [{ when = \"dns tcp\", match = { client = \"127.0.0.0/8\" }, do = \"refused\" }]",
      "rule = [{ when = \"dns query\", do = \"truncate\" }]",
      "rule = [{ when = \"dns udp\", do = \"drop\" }]",
      "rule = [{ when = \"dns query\", match = { type = \"?\" }, do = \"delay 10\" }]",
      "rule = [{ when = \"dns query\", match = { name = \"*.example\" }, do = \"truncate\" },\n"
      "        { when = \"dns query\", match = { name = \"*.com\", type = \"P\" }, do = \"drop\" },\n"
      "        { when = \"dns query\", match = { name = \"*.*\" }, do = \"refused\" }]",
  };
  static fault::Injector injectors[8];
  static bool loaded = [] {
    for (unsigned i = 1; i < 8; ++i) {
      auto doc = config::Document::parse(kSets[i], "rules.toml", config::Format::toml);
      if (!doc) fuzz::fail(__FILE__, __LINE__, doc.error().detail.c_str());
      auto r = fault::Rules::parse(*doc);
      if (!r) fuzz::fail(__FILE__, __LINE__, r.error().detail.c_str());
      injectors[i].replace(std::move(*r));
    }
    return true;
  }();
  (void)loaded;
  return set == 0 ? nullptr : &injectors[set];
}

bool same_records(const std::vector<dns::Record>& got, const std::vector<dns::Record>& want) {
  if (got.size() != want.size()) return false;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!(got[i].name == want[i].name) || got[i].type != want[i].type || got[i].ttl != want[i].ttl) return false;
    if (got[i].data.index() != want[i].data.index()) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto transport = (data[0] & 1) ? dns::Transport::tcp : dns::Transport::udp;
  std::span<const std::uint8_t> query(data + 1, size - 1);
  std::vector<std::uint8_t> answer;
  auto fate = dns::respond(zone(), query, dns::Asker{transport, "127.0.0.1", rules((data[0] >> 1) & 7)}, answer);

  bool is_query = query.size() >= dns::kHeaderSize && (query[2] & 0x80) == 0;
  auto q = dns::decode(query);
  bool proper = q && q->header.opcode == 0 && q->questions.size() == 1;
  FUZZ_CHECK(proper || !fate.fault);
  FUZZ_CHECK(answer.empty() == !fate.send);
  auto kind = fate.fault ? fate.fault->action->kind : fault::Kind::reply;
  FUZZ_CHECK((fate.delay.count() > 0) == (kind == fault::Kind::delay));
  if (fate.fault && kind == fault::Kind::drop) {
    FUZZ_CHECK(answer.empty());
    return 0;
  }
  FUZZ_CHECK(answer.empty() == !is_query);
  if (!is_query) return 0;

  auto a = dns::decode(answer);
  FUZZ_CHECK(a.has_value());
  dns::Header h;
  FUZZ_CHECK(dns::decode_header(query, h));
  FUZZ_CHECK(a->header.qr && a->header.id == h.id && a->header.opcode == h.opcode && a->header.rd == h.rd);
  std::size_t limit = 65535;
  if (transport == dns::Transport::udp)
    limit = q && q->edns ? std::clamp<std::size_t>(q->edns->udp_size, dns::kClassicUdpSize, dns::kEdnsUdpSize)
                         : dns::kClassicUdpSize;
  FUZZ_CHECK(answer.size() <= limit);
  if (!q) {
    FUZZ_CHECK(a->header.rcode == dns::Rcode::formerr && a->questions.empty() && a->answers.empty());
    return 0;
  }
  FUZZ_CHECK(a->edns.has_value() == q->edns.has_value());
  if (fate.fault && kind != fault::Kind::delay) {
    FUZZ_CHECK(a->questions.size() == 1 && a->questions[0].name.wire() == q->questions[0].name.wire());
    FUZZ_CHECK(a->answers.empty() && a->additional.empty());
    FUZZ_CHECK(a->header.tc == (kind == fault::Kind::truncate));
    FUZZ_CHECK(kind != fault::Kind::truncate || transport == dns::Transport::udp);
    auto want = kind == fault::Kind::servfail   ? dns::Rcode::servfail
                : kind == fault::Kind::nxdomain ? dns::Rcode::nxdomain
                : kind == fault::Kind::refused  ? dns::Rcode::refused
                                                : dns::Rcode::noerror;
    FUZZ_CHECK(a->header.rcode == want);
    return 0;
  }
  if (!proper || (q->edns && q->edns->version != 0)) {
    FUZZ_CHECK(a->header.rcode != dns::Rcode::noerror && a->answers.empty());
    return 0;
  }
  const auto& qq = q->questions.front();
  FUZZ_CHECK(a->questions.size() == 1 && a->questions[0].name.wire() == qq.name.wire() &&
             a->questions[0].type == qq.type && a->questions[0].klass == qq.klass);
  if (qq.klass != dns::kClassIn && qq.klass != dns::kClassAny) {
    FUZZ_CHECK(a->header.rcode == dns::Rcode::refused && a->answers.empty());
    return 0;
  }
  if (qq.type == dns::type::AXFR || qq.type == dns::type::IXFR) {
    FUZZ_CHECK(a->header.rcode == dns::Rcode::notimp && a->answers.empty());
    return 0;
  }
  auto want = zone().lookup(qq.name, qq.type);
  FUZZ_CHECK(a->header.aa && a->header.rcode == want.rcode);
  FUZZ_CHECK(want.rcode == (zone().find(qq.name) ? dns::Rcode::noerror : dns::Rcode::nxdomain));
  if (a->header.tc) {
    FUZZ_CHECK(transport == dns::Transport::udp && a->answers.empty());
    return 0;
  }
  FUZZ_CHECK(same_records(a->answers, want.records));
  FUZZ_CHECK(a->additional.size() <= want.additional.size());
  return 0;
}
