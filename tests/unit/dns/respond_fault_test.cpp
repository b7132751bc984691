// dns::respond under fault rules (issue 13): each action's answer (or its absence), matching on name,
// type and client, truncate over UDP only, and the fields of the `event=fault` line.
#include <doctest/doctest.h>

#include <string>

#include "config/document.hpp"
#include "dns/record_type.hpp"
#include "dns/respond.hpp"
#include "test_helpers.hpp"

using namespace mail;
using namespace mail::dns;
using dnstest::query;

namespace {

const Zone& zone() {
  static const Zone z = [] {
    auto r = Zone::parse(R"([MX]
"gmail.com." = "gmail-smtp-in.l.google.com."
"exmail.qq.com." = "mxbiz1.qq.com."
[P]
"gmail-smtp-in.l.google.com." = 2025
)",
                         "z.toml");
    REQUIRE(r);
    return std::move(*r);
  }();
  return z;
}

fault::Injector rules(std::string_view text) {
  auto doc = config::Document::parse(text, "faults.toml", config::Format::toml);
  REQUIRE(doc);
  auto r = fault::Rules::parse(*doc);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().detail));
  return fault::Injector(std::move(*r));
}

struct Asked {
  Fate fate;
  std::vector<std::uint8_t> bytes;
  std::optional<Message> message() const {
    if (bytes.empty()) return std::nullopt;
    auto m = decode(bytes);
    REQUIRE(m);
    return std::move(*m);
  }
};

Asked ask(fault::Injector& inj, std::string_view name, std::uint16_t type, Transport t = Transport::udp,
          std::string_view client = "127.0.0.1") {
  Asked a;
  a.fate = respond(zone(), query(name, type, false, 4242), Asker{t, client, &inj}, a.bytes);
  return a;
}

std::string field(const Fate& f, std::string_view key) {
  REQUIRE(f.fault);
  for (const auto& [k, v] : f.fault->fields)
    if (k == key) return v;
  return "(none)";
}

}  // namespace

TEST_CASE("fault actions: SERVFAIL, NXDOMAIN and REFUSED answer the question with no records") {
  struct Row {
    const char* action;
    Rcode rcode;
    bool aa;
  };
  for (const Row& row : {Row{"servfail", Rcode::servfail, false}, Row{"nxdomain", Rcode::nxdomain, true},
                         Row{"refused", Rcode::refused, false}}) {
    CAPTURE(row.action);
    auto inj = rules(std::string("rule = [{ when = \"dns query\", do = \"") + row.action + "\" }]");
    for (auto t : {Transport::udp, Transport::tcp}) {
      auto a = ask(inj, "gmail.com", type::MX, t);
      CHECK(a.fate.send);
      CHECK(a.fate.delay.count() == 0);
      CHECK(a.fate.fault);
      auto m = a.message();
      REQUIRE(m);
      CHECK(m->header.id == 4242);
      CHECK(m->header.qr);
      CHECK(m->header.rcode == row.rcode);
      CHECK(m->header.aa == row.aa);
      CHECK_FALSE(m->header.tc);
      REQUIRE(m->questions.size() == 1);
      CHECK(m->questions[0].name.to_text() == "gmail.com");
      CHECK(m->answers.empty());
      CHECK(m->additional.empty());
    }
  }
}

TEST_CASE("fault actions: truncate gives an empty answer with TC over UDP, and does nothing over TCP") {
  auto inj = rules(R"(rule = [{ name = "tc", when = "dns query", do = "truncate" }])");
  auto udp = ask(inj, "gmail.com", type::MX, Transport::udp);
  CHECK(udp.fate.fault);
  auto m = udp.message();
  REQUIRE(m);
  CHECK(m->header.tc);
  CHECK(m->header.rcode == Rcode::noerror);
  CHECK(m->answers.empty());
  CHECK(m->questions.size() == 1);

  auto tcp = ask(inj, "gmail.com", type::MX, Transport::tcp);
  CHECK_FALSE(tcp.fate.fault);  // not applied, so not logged
  auto full = tcp.message();
  REQUIRE(full);
  CHECK_FALSE(full->header.tc);
  CHECK(full->answers.size() == 1);
}

TEST_CASE("fault actions: drop sends nothing; delay sends the zone's answer later") {
  auto drop = rules(R"(rule = [{ when = "dns udp", do = "drop" }])");
  auto d = ask(drop, "gmail.com", type::MX);
  CHECK_FALSE(d.fate.send);
  CHECK(d.bytes.empty());
  CHECK(d.fate.fault);
  auto over_tcp = ask(drop, "gmail.com", type::MX, Transport::tcp);  // "dns udp" only
  CHECK(over_tcp.fate.send);
  CHECK_FALSE(over_tcp.fate.fault);

  auto delay = rules(R"(rule = [{ when = "dns query", do = "delay 1500" }])");
  auto l = ask(delay, "gmail.com", type::MX);
  CHECK(l.fate.send);
  CHECK(l.fate.delay == std::chrono::milliseconds(1500));
  auto m = l.message();
  REQUIRE(m);
  CHECK(m->header.rcode == Rcode::noerror);
  CHECK(m->answers.size() == 1);
}

TEST_CASE("fault rules match the query's name, type and client; others get the zone's answer") {
  auto inj = rules(R"(rule = [
  { name = "mx", when = "dns query", match = { name = "GMAIL.com.", type = "mx" }, do = "servfail" },
  { name = "port", when = "dns query", match = { type = "P", client = "10.0.0.0/8" }, do = "refused" },
])");
  CHECK(ask(inj, "gmail.com", type::MX).message()->header.rcode == Rcode::servfail);
  CHECK(ask(inj, "Gmail.COM", type::MX).message()->header.rcode == Rcode::servfail);
  auto other_type = ask(inj, "gmail.com", type::A);
  CHECK_FALSE(other_type.fate.fault);
  CHECK(other_type.message()->header.rcode == Rcode::noerror);
  auto other_name = ask(inj, "exmail.qq.com", type::MX);
  CHECK_FALSE(other_name.fate.fault);
  CHECK(other_name.message()->answers.size() == 1);
  CHECK(ask(inj, "gmail-smtp-in.l.google.com", type::P, Transport::udp, "10.1.2.3").message()->header.rcode ==
        Rcode::refused);
  CHECK(ask(inj, "gmail-smtp-in.l.google.com", type::P, Transport::udp, "127.0.0.1").message()->header.rcode ==
        Rcode::noerror);
}

TEST_CASE("an applied rule carries the fields of its event=fault line") {
  auto inj = rules(R"(rule = [{ name = "flaky", when = "dns udp", do = "servfail", every = 2 }])");
  CHECK_FALSE(ask(inj, "gmail.com", type::MX).fate.fault);
  auto a = ask(inj, "gmail.com", type::MX, Transport::udp, "127.0.0.9");
  CHECK(field(a.fate, "rule") == "flaky");
  CHECK(field(a.fate, "when") == "dns udp");
  CHECK(field(a.fate, "do") == "servfail");
  CHECK(field(a.fate, "client") == "127.0.0.9");
  CHECK(field(a.fate, "name") == "gmail.com");
  CHECK(field(a.fate, "type") == "MX");
}

TEST_CASE("rules see only queries with one question: others get FORMERR or nothing, as without rules") {
  auto inj = rules(R"(rule = [{ when = "dns query", do = "drop" }])");
  std::vector<std::uint8_t> out;
  auto two = query("gmail.com", type::MX);
  two[5] = 2;  // qdcount 2 with one question: malformed
  auto f = respond(zone(), two, Asker{Transport::udp, "127.0.0.1", &inj}, out);
  CHECK(f.send);
  CHECK_FALSE(f.fault);
  CHECK(decode(out)->header.rcode == Rcode::formerr);
  auto resp = query("gmail.com", type::MX);
  resp[2] |= 0x80;  // a response
  CHECK_FALSE(respond(zone(), resp, Asker{Transport::udp, "127.0.0.1", &inj}, out).send);
  CHECK(out.empty());
}

TEST_CASE("without rules the answer is the zone's, byte for byte") {
  fault::Injector none;
  for (auto t : {Transport::udp, Transport::tcp}) {
    std::vector<std::uint8_t> plain, with;
    respond(zone(), query("gmail.com", type::MX), t, plain);
    auto f = respond(zone(), query("gmail.com", type::MX), Asker{t, "127.0.0.1", &none}, with);
    CHECK(with == plain);
    CHECK(f.send);
    CHECK_FALSE(f.fault);
  }
}

TEST_CASE("type names as rules write them") {
  CHECK(type_name(type::MX) == "MX");
  CHECK(type_name(type::P) == "P");
  CHECK(type_name(type::A) == "A");
  CHECK(type_name(type::SOA) == "SOA");
  CHECK(type_name(type::ANY) == "ANY");
  CHECK(type_name(12345) == "TYPE12345");
}
