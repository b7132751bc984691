#include "dns/respond.hpp"

#include <random>

#include "test_helpers.hpp"

using namespace mail::dns;
using dnstest::bytes;
using dnstest::name;
using dnstest::query;

namespace {

const Zone& zone() {
  static const Zone z = [] {
    auto r = Zone::parse(R"([MX]
"gmail.com." = "gmail-smtp-in.l.google.com."
[P]
"smtp.gmail.com." = 2025
"gmail-smtp-in.l.google.com." = "2025"
)",
                         "z.toml");
    REQUIRE(r);
    return std::move(*r);
  }();
  return z;
}

Message ask(const std::vector<std::uint8_t>& q, Transport t = Transport::udp) {
  std::vector<std::uint8_t> out;
  respond(zone(), q, t, out);
  REQUIRE_FALSE(out.empty());
  auto m = decode(out);
  REQUIRE(m);
  return std::move(*m);
}

}  // namespace

TEST_CASE("an MX query gets the MX and its host's address, authoritatively") {
  auto m = ask(query("gmail.com", type::MX, false, 777));
  CHECK(m.header.id == 777);
  CHECK(m.header.qr);
  CHECK(m.header.aa);
  CHECK(m.header.rd);  // copied from the query
  CHECK_FALSE(m.header.ra);
  CHECK(m.header.rcode == Rcode::noerror);
  REQUIRE(m.questions.size() == 1);
  REQUIRE(m.answers.size() == 1);
  CHECK(std::get<MxRecord>(m.answers[0].data).exchange == name("gmail-smtp-in.l.google.com"));
  REQUIRE(m.additional.size() == 1);
  CHECK_FALSE(m.edns);  // no OPT without one in the query
}

TEST_CASE("P records carry the port in network order") {
  std::vector<std::uint8_t> out;
  respond(zone(), query("smtp.gmail.com", type::P), Transport::udp, out);
  // The last two octets are the RDATA: 2025 = 0x07E9.
  REQUIRE(out.size() > 2);
  CHECK(out[out.size() - 2] == 0x07);
  CHECK(out[out.size() - 1] == 0xE9);
  auto m = ask(query("smtp.gmail.com", type::P));
  CHECK(m.answers.at(0).type == 65280);
}

TEST_CASE("the case of the question is kept in the answer (0x20 randomization)") {
  auto m = ask(query("gMaIl.CoM", type::MX));
  CHECK(m.questions[0].name.to_text() == "gMaIl.CoM");
  CHECK(m.answers.at(0).name.to_text() == "gMaIl.CoM");
}

TEST_CASE("status codes: NXDOMAIN, NODATA, REFUSED, NOTIMP, FORMERR, BADVERS") {
  CHECK(ask(query("nowhere.example", type::A)).header.rcode == Rcode::nxdomain);
  auto nodata = ask(query("smtp.gmail.com", type::MX));
  CHECK(nodata.header.rcode == Rcode::noerror);
  CHECK(nodata.answers.empty());

  auto chaos = query("version.bind", type::TXT);
  chaos[chaos.size() - 1] = 3;  // class CH
  CHECK(ask(chaos).header.rcode == Rcode::refused);

  auto axfr = ask(query("gmail.com", type::AXFR), Transport::tcp);
  CHECK(axfr.header.rcode == Rcode::notimp);

  auto notify = query("gmail.com", type::SOA);
  notify[2] |= 4 << 3;  // opcode NOTIFY
  auto n = ask(notify);
  CHECK(n.header.rcode == Rcode::notimp);
  CHECK(n.header.opcode == 4);

  auto two = query("gmail.com", type::MX);
  two[5] = 2;  // qdcount 2, but only one question present: malformed
  auto f = ask(two);
  CHECK(f.header.rcode == Rcode::formerr);
  CHECK(f.header.id == 0x1234);
  CHECK(f.questions.empty());

  auto garbage = bytes({0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 63, 'x'});
  auto g = ask(garbage);
  CHECK(g.header.rcode == Rcode::formerr);
  CHECK(g.header.id == 0xABCD);

  auto v1 = query("gmail.com", type::MX, true);
  v1[v1.size() - 5] = 1;  // EDNS version 1 (the OPT TTL's second octet)
  auto bv = ask(v1);
  CHECK(bv.header.rcode == Rcode::badvers);
  CHECK(bv.edns);
}

TEST_CASE("a valid query followed by trailing garbage gets FORMERR, as NSD answers (issue 10, defect 11)") {
  for (bool edns : {false, true}) {
    auto q = query("gmail.com", type::MX, edns);
    CHECK(ask(q).header.rcode == Rcode::noerror);
    const std::vector<std::vector<std::uint8_t>> extras{bytes({0}), bytes({0xde, 0xad, 0xbe, 0xef}),
                                                        std::vector<std::uint8_t>(300, 'x')};
    for (const auto& extra : extras) {
      auto bad = q;
      bad.insert(bad.end(), extra.begin(), extra.end());
      auto m = ask(bad);
      CHECK(m.header.rcode == Rcode::formerr);
      CHECK(m.header.id == 0x1234);
      CHECK(m.answers.empty());
    }
  }
  auto trailing = query("gmail.com", type::MX);
  trailing.push_back(0);
  CHECK_FALSE(decode(trailing));
}

TEST_CASE("no reply to fragments shorter than a header, nor to responses") {
  std::vector<std::uint8_t> out{1};
  respond(zone(), bytes({1, 2, 3}), Transport::udp, out);
  CHECK(out.empty());
  auto resp = query("gmail.com", type::MX);
  resp[2] |= 0x80;  // QR
  respond(zone(), resp, Transport::udp, out);
  CHECK(out.empty());
}

TEST_CASE("UDP answers fit 512 octets without EDNS, the client's EDNS size with it, anything over TCP") {
  std::string text = "[MX]\n\"big.example.\" = [";
  for (int i = 0; i < 60; ++i)
    text += "{ pref = " + std::to_string(i) + ", host = \"a-rather-long-mail-exchanger-name-" + std::to_string(i) + ".example.\" },";
  text += "]\n";
  auto z = Zone::parse(text, "big.toml");
  REQUIRE(z);
  std::vector<std::uint8_t> out;
  respond(*z, query("big.example", type::MX), Transport::udp, out);
  CHECK(out.size() <= 512);
  CHECK(decode(out)->header.tc);
  respond(*z, query("big.example", type::MX, true), Transport::udp, out);
  CHECK(out.size() <= kEdnsUdpSize);
  CHECK(decode(out)->header.tc);
  respond(*z, query("big.example", type::MX), Transport::tcp, out);
  auto full = decode(out);
  REQUIRE(full);
  CHECK_FALSE(full->header.tc);
  CHECK(full->answers.size() == 60);
}

TEST_CASE("golden: a dig query for gmail.com MX and its exact answer") {
  // dig @127.0.0.1 -p PORT gmail.com MX +norec +nocookie (id 0x3a5f), as captured on the wire.
  auto q = bytes({0x3a, 0x5f, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x05, 'g', 'm', 'a',
                  'i', 'l', 0x03, 'c', 'o', 'm', 0x00, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0,
                  0x00, 0x00, 0x00, 0x00, 0x00, 0x00});
  std::vector<std::uint8_t> out;
  respond(zone(), q, Transport::udp, out);
  auto want = bytes({0x3a, 0x5f, 0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,  // AA, AD cleared
                     0x05, 'g', 'm', 'a', 'i', 'l', 0x03, 'c', 'o', 'm', 0x00, 0x00, 0x0f, 0x00, 0x01,
                     0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x1b, 0x00, 0x0a,
                     13, 'g', 'm', 'a', 'i', 'l', '-', 's', 'm', 't', 'p', '-', 'i', 'n', 1, 'l', 6, 'g', 'o', 'o',
                     'g', 'l', 'e', 0xc0, 0x12,
                     0xc0, 0x29, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 127, 0, 0, 1,
                     0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00});
  CHECK(out == want);
}

TEST_CASE("random and mutated packets never crash and always stay within the size limit") {
  std::mt19937 rng(12345);
  std::vector<std::uint8_t> out;
  auto base = query("gmail.com", type::MX, true);
  for (int i = 0; i < 200000; ++i) {
    std::vector<std::uint8_t> pkt;
    if (i % 2 == 0) {
      pkt.resize(rng() % 80);
      for (auto& b : pkt) b = static_cast<std::uint8_t>(rng());
      if (pkt.size() > 2) pkt[2] &= 0x7F;  // mostly queries, so that they are parsed
    } else {
      pkt = base;
      for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) pkt[rng() % pkt.size()] = static_cast<std::uint8_t>(rng());
      pkt.resize(rng() % (pkt.size() + 1));
    }
    respond(zone(), pkt, Transport::udp, out);
    CHECK(out.size() <= kEdnsUdpSize);
    if (!out.empty()) CHECK(decode(out));
  }
}

// fdns's `query` event (docs/reference.md "Event feed") describes each reply it sends.
TEST_CASE("a reply summarized for the event feed: question, rcode, answers as text") {
  std::vector<std::uint8_t> out;
  respond(zone(), query("gmail.com", type::MX), Transport::udp, out);
  auto s = summarize(out);
  REQUIRE(s);
  CHECK(s->name == "gmail.com");
  CHECK(s->type == "MX");
  CHECK(s->rcode == "NOERROR");
  CHECK(s->answer == "10 gmail-smtp-in.l.google.com");
  respond(zone(), query("smtp.gmail.com", type::P), Transport::udp, out);
  s = summarize(out);
  REQUIRE(s);
  CHECK(s->type == "P");
  CHECK(s->answer == "2025");
  respond(zone(), query("nowhere.example", type::A), Transport::udp, out);
  s = summarize(out);
  REQUIRE(s);
  CHECK(s->rcode == "NXDOMAIN");
  CHECK(s->answer == "");
  CHECK_FALSE(summarize(bytes({1, 2, 3})));
}
