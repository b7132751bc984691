#include "dns/message.hpp"

#include "dns/wire.hpp"
#include "test_helpers.hpp"

using namespace mail::dns;
using dnstest::bytes;
using dnstest::name;

namespace {

Message sample() {
  Message m;
  m.header.id = 0xBEEF;
  m.header.qr = true;
  m.header.aa = true;
  m.header.rd = true;
  m.questions.push_back({name("gmail.com"), type::MX, kClassIn});
  m.answers.push_back({name("gmail.com"), type::MX, kClassIn, 60, MxRecord{10, name("mx1.gmail.com")}});
  m.answers.push_back({name("gmail.com"), type::MX, kClassIn, 60, MxRecord{20, name("MX2.gmail.com")}});
  m.answers.push_back({name("smtp.gmail.com"), type::P, kClassIn, 60, PortRecord{2025}});
  m.additional.push_back({name("mx1.gmail.com"), type::A, kClassIn, 30, ARecord{{127, 0, 0, 2}}});
  m.additional.push_back({name("x.example"), type::TXT, kClassIn, 5, OpaqueRecord{"\3abc"}});
  m.edns = Edns{4096, 0, true};
  return m;
}

}  // namespace

TEST_CASE("encode then decode gives the same message") {
  auto m = sample();
  auto wire = encode(m);
  auto d = decode(wire);
  REQUIRE(d);
  CHECK(d->header.id == 0xBEEF);
  CHECK(d->header.qr);
  CHECK(d->header.aa);
  CHECK(d->header.rd);
  CHECK_FALSE(d->header.tc);
  REQUIRE(d->questions.size() == 1);
  CHECK(d->questions[0].name == name("gmail.com"));
  CHECK(d->questions[0].type == type::MX);
  REQUIRE(d->answers.size() == 3);
  CHECK(std::get<MxRecord>(d->answers[1].data).preference == 20);
  CHECK(std::get<MxRecord>(d->answers[1].data).exchange.to_text() == "MX2.gmail.com");  // case kept
  CHECK(std::get<PortRecord>(d->answers[2].data).port == 2025);
  REQUIRE(d->additional.size() == 2);
  CHECK(std::get<ARecord>(d->additional[0].data).address == Ipv4{127, 0, 0, 2});
  CHECK(d->additional[0].ttl == 30);
  CHECK(std::get<OpaqueRecord>(d->additional[1].data).bytes == "\3abc");
  REQUIRE(d->edns);
  CHECK(d->edns->udp_size == 4096);
  CHECK(d->edns->dnssec_ok);
  CHECK(encode(*d) == wire);  // and the same bytes again
}

TEST_CASE("names are compressed against earlier ones, ignoring case") {
  Message m;
  m.questions.push_back({name("gmail.com"), type::MX, kClassIn});
  m.answers.push_back({name("GMAIL.com"), type::MX, kClassIn, 60, MxRecord{10, name("mx1.gmail.com")}});
  auto wire = encode(m);
  // header 12 | question: 7gmail3com0 (11) + 4 | answer name: pointer C0 0C | type class ttl rdlen (10) |
  // pref (2) + 3mx1 + pointer C0 0C (6)
  REQUIRE(wire.size() == 12 + 15 + 2 + 10 + 2 + 6);
  CHECK(wire[27] == 0xC0);
  CHECK(wire[28] == 0x0C);
  CHECK(wire[41] == 3);  // "mx1" label, then a pointer to gmail.com
  CHECK(wire[45] == 0xC0);
  CHECK(wire[46] == 0x0C);
  CHECK(wire[37] == 0);
  CHECK(wire[38] == 8);  // rdlength: 2 + 4 + 2
}

TEST_CASE("answers that do not fit get TC; additional records are dropped silently") {
  Message m;
  m.header.qr = true;
  m.questions.push_back({name("big.example"), type::MX, kClassIn});
  for (int i = 0; i < 40; ++i)
    m.answers.push_back({name("big.example"), type::MX, kClassIn, 60,
                         MxRecord{static_cast<std::uint16_t>(i), name("host-number-" + std::to_string(i) + ".mail.example")}});
  auto full = encode(m, 65535);
  CHECK(full.size() > 512);
  auto cut = encode(m, 512);
  auto d = decode(cut);
  REQUIRE(d);
  CHECK(d->header.tc);
  CHECK(d->answers.empty());
  CHECK(d->questions.size() == 1);
  CHECK(cut.size() <= 512);

  Message a;
  a.questions.push_back({name("x.example"), type::A, kClassIn});
  a.answers.push_back({name("x.example"), type::A, kClassIn, 60, ARecord{{1, 2, 3, 4}}});
  for (int i = 0; i < 40; ++i)
    a.additional.push_back({name("filler-" + std::to_string(i) + ".example"), type::A, kClassIn, 60, ARecord{}});
  a.edns = Edns{};
  auto small = encode(a, 512);
  auto ds = decode(small);
  REQUIRE(ds);
  CHECK_FALSE(ds->header.tc);
  CHECK(ds->answers.size() == 1);
  CHECK(ds->additional.size() < 40);
  CHECK(ds->edns);  // OPT always stays
  CHECK(small.size() <= 512);
}

TEST_CASE("malformed input is rejected, never read out of bounds") {
  auto good = dnstest::query("gmail.com", type::MX);
  SUBCASE("every truncation of a valid query") {
    for (std::size_t n = 0; n < good.size(); ++n) {
      CAPTURE(n);
      CHECK_FALSE(decode(std::span(good.data(), n)));
    }
  }
  SUBCASE("a pointer to itself (a loop)") {
    auto q = bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1});
    auto r = decode(q);
    REQUIRE_FALSE(r);
    CHECK(r.error().detail.find("does not point backwards") != std::string::npos);
  }
  SUBCASE("two pointers pointing at each other") {
    // Answer name at 29 points to 31, which points back to 29.
    auto q = bytes({0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1,
                    0xC0, 21, 0xC0, 19, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0});
    CHECK_FALSE(decode(q));
  }
  SUBCASE("a pointer forward or beyond the end") {
    CHECK_FALSE(decode(bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 200, 0, 1, 0, 1})));
    CHECK_FALSE(decode(bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 16, 0, 1, 0, 1})));
  }
  SUBCASE("the reserved label types 0x40 and 0x80") {
    CHECK_FALSE(decode(bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 'a', 0, 0, 1, 0, 1})));
    CHECK_FALSE(decode(bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x81, 'a', 0, 0, 1, 0, 1})));
  }
  SUBCASE("a name longer than 255 octets, built with pointers") {
    // Question i is a 63-octet label followed by a pointer to question i-1: the fourth is 257 octets.
    std::vector<std::uint8_t> q = bytes({0, 1, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0});
    std::size_t prev = 0;
    for (int i = 0; i < 4; ++i) {
      std::size_t start = q.size();
      q.push_back(63);
      q.insert(q.end(), 63, 'x');
      if (i == 0) {
        q.push_back(0);
      } else {
        q.push_back(static_cast<std::uint8_t>(0xC0 | (prev >> 8)));
        q.push_back(static_cast<std::uint8_t>(prev & 0xFF));
      }
      for (int b : {0, 1, 0, 1}) q.push_back(static_cast<std::uint8_t>(b));
      prev = start;
    }
    auto r = decode(q);
    REQUIRE_FALSE(r);
    CHECK(r.error().detail.find("longer than 255") != std::string::npos);
    q[5] = 3;  // three questions: 193 octets, fine (without the fourth: trailing octets are FORMERR)
    q.resize(prev);
    CHECK(decode(q));
  }
  SUBCASE("RDATA that runs past the end, or has the wrong size for its type") {
    Message m;
    m.answers.push_back({name("a"), type::A, kClassIn, 1, ARecord{}});
    auto w = encode(m);
    auto longer = w;
    longer[longer.size() - 5] = 5;  // rdlength 5 for an A record
    longer.push_back(0);
    CHECK_FALSE(decode(longer));
    auto past = w;
    past[past.size() - 5] = 9;
    CHECK_FALSE(decode(past));
  }
  SUBCASE("section counts larger than the message can hold") {
    CHECK_FALSE(decode(bytes({0, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0})));
  }
  SUBCASE("two OPT records, or OPT with a name") {
    Message m;
    m.questions.push_back({name("a"), type::A, kClassIn});
    m.edns = Edns{};
    auto w = encode(m);
    auto two = w;
    two[11] = 2;
    two.insert(two.end(), w.end() - 11, w.end());
    CHECK_FALSE(decode(two));
    Message n;
    n.additional.push_back({name("x"), type::OPT, 512, 0, OpaqueRecord{}});
    CHECK_FALSE(decode(encode(n)));
  }
}

TEST_CASE("EDNS extended rcode is split between the header and OPT") {
  Message m;
  m.header.qr = true;
  m.header.rcode = Rcode::badvers;
  m.edns = Edns{};
  auto w = encode(m);
  CHECK((w[3] & 0xF) == 0);  // BADVERS = 16: low bits 0 in the header
  auto d = decode(w);
  REQUIRE(d);
  CHECK(d->header.rcode == Rcode::badvers);
}
