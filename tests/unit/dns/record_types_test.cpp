// The record type descriptors: for each type, the zone-file value, RDATA encode/decode and round
// trip, the text form, bad values (the zone's one-line error) and malformed RDATA; then the registry.
#include "dns/record_type.hpp"

#include <map>
#include <set>

#include "config/document.hpp"
#include "dns/zone.hpp"
#include "test_helpers.hpp"

using namespace mail;
using namespace mail::dns;
using dnstest::name;

namespace {

const RecordType& of(std::uint16_t code) {
  const RecordType* t = find_record_type(code);
  REQUIRE(t != nullptr);
  return *t;
}

// The value `v` of a one-line TOML document, as the zone loader hands it to a descriptor.
std::vector<Rdata> parse_value(const RecordType& t, const std::string& value) {
  auto doc = config::Document::parse("v = " + value + "\n", "t.toml", config::Format::toml);
  REQUIRE(doc);
  return t.parse(*config::root_node(*doc).find("v"));
}

std::string parse_error(const RecordType& t, const std::string& value) {
  try {
    parse_value(t, value);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  FAIL("no error for " << value);
  return {};
}

std::vector<std::uint8_t> encoded(const RecordType& t, const Rdata& d) {
  std::vector<std::uint8_t> out;
  Writer w(out);
  t.encode(d, w);
  return out;
}

Result<Rdata> decoded(const RecordType& t, const std::vector<std::uint8_t>& bytes) {
  Reader r(bytes);
  return t.decode(r, bytes.size());
}

std::string zone_error(const std::string& text) {
  auto z = Zone::parse(text, "fdns.toml");
  REQUIRE_FALSE(z);
  return z.error().detail;
}

}  // namespace

TEST_CASE("A: one address or a list, 4 octets, dotted quad; 127.0.0.1 for names without one") {
  const RecordType& a = of(type::A);
  CHECK(a.name == "A");
  CHECK(a.address);
  auto one = parse_value(a, "\"10.1.2.3\"");
  REQUIRE(one.size() == 1);
  CHECK(std::get<ARecord>(one[0]).address == Ipv4{10, 1, 2, 3});
  auto two = parse_value(a, "[\"10.0.0.2\", \"10.0.0.1\"]");  // listed order kept
  REQUIRE(two.size() == 2);
  CHECK(std::get<ARecord>(two[1]).address == Ipv4{10, 0, 0, 1});
  CHECK(encoded(a, one[0]) == dnstest::bytes({10, 1, 2, 3}));
  auto back = decoded(a, dnstest::bytes({10, 1, 2, 3}));
  REQUIRE(back);
  CHECK(std::get<ARecord>(*back).address == Ipv4{10, 1, 2, 3});
  CHECK(a.text(one[0]) == "10.1.2.3");
  CHECK(to_text(type::A, one[0]) == "A 10.1.2.3");
  REQUIRE(static_cast<bool>(a.fallback));
  CHECK(std::get<ARecord>(*a.fallback()).address == Ipv4{127, 0, 0, 1});
  CHECK_FALSE(static_cast<bool>(a.target));

  CHECK(parse_error(a, "\"1.2.3\"") == "t.toml:1: v: expected an IPv4 address such as \"127.0.0.1\"");
  CHECK(parse_error(a, "[]") == "t.toml:1: v: an empty list of addresses");
  CHECK(zone_error("[A]\n\"a.\" = [\"1.2.3.4\", 7]\n") == "fdns.toml:2: A.\"a.\"[1]: expected a string");
  CHECK(zone_error("[A]\n\"a.\" = \"::1\"\n") == "fdns.toml:2: A.\"a.\": expected an IPv4 address such as \"127.0.0.1\"");
  CHECK_FALSE(decoded(a, dnstest::bytes({1, 2, 3})));
  CHECK(decoded(a, dnstest::bytes({1, 2, 3, 4, 5})).error().detail == "A record RDATA is not 4 octets");
}

TEST_CASE("MX: a host, a { pref, host } table or a list, sorted by preference; points to its host") {
  const RecordType& mx = of(type::MX);
  CHECK(mx.name == "MX");
  CHECK_FALSE(mx.address);
  auto plain = parse_value(mx, "\"mx.example.org.\"");
  REQUIRE(plain.size() == 1);
  CHECK(std::get<MxRecord>(plain[0]).preference == 10);  // the default
  CHECK(std::get<MxRecord>(plain[0]).exchange == name("mx.example.org"));
  auto list = parse_value(mx, "[ { pref = 20, host = \"b.\" }, \"c.\", { host = \"d.\", pref = 5 }, { host = \"e.\" } ]");
  REQUIRE(list.size() == 4);
  std::vector<std::string> order;
  for (const auto& d : list) order.push_back(mx.text(d));
  CHECK(order == std::vector<std::string>{"5 d", "10 c", "10 e", "20 b"});  // stable among equals

  const Rdata d = MxRecord{0x0102, name("Mx.Ex")};
  auto bytes = encoded(mx, d);
  CHECK(bytes == dnstest::bytes({1, 2, 2, 'M', 'x', 2, 'E', 'x', 0}));
  auto back = decoded(mx, bytes);
  REQUIRE(back);
  CHECK(std::get<MxRecord>(*back).preference == 0x0102);
  CHECK(std::get<MxRecord>(*back).exchange.to_text() == "Mx.Ex");  // case kept
  CHECK(to_text(type::MX, *back) == "MX 258 Mx.Ex");
  REQUIRE(static_cast<bool>(mx.target));
  CHECK(*mx.target(d) == name("mx.ex"));

  CHECK(parse_error(mx, "5") == "t.toml:1: v: expected a table");
  CHECK(parse_error(mx, "[]") == "t.toml:1: v: an empty list of mail exchangers");
  CHECK(parse_error(mx, "{ pref = 1 }") == "t.toml:1: v: missing key \"host\"");
  CHECK(parse_error(mx, "{ pref = 70000, host = \"b\" }") == "t.toml:1: v.pref: value 70000 is out of range 0..65535");
  CHECK(parse_error(mx, "\"b..c\"") == "t.toml:1: v: empty label in 'b..c'");
  CHECK(zone_error("[MX]\n\"a\" = [\"b\", 5]\n") == "fdns.toml:2: MX.a[1]: expected a table");
  CHECK(zone_error("[MX]\n\"a.\" = { host = 5 }\n") == "fdns.toml:2: MX.\"a.\".host: expected a string");
  CHECK(decoded(mx, dnstest::bytes({0, 1})).error().detail == " at offset 0");  // too short for any name
  CHECK(decoded(mx, dnstest::bytes({0, 1, 3, 'a', 0})).error().detail == "truncated label at offset 2");
  CHECK(decoded(mx, dnstest::bytes({0, 1, 1, 'a', 0, 0})).error().detail == "MX RDATA length does not match");
}

TEST_CASE("P: a port as a number or a string of digits, 2 octets in network order") {
  const RecordType& p = of(type::P);
  CHECK(p.code == 65280);
  CHECK(p.name == "P");
  auto n = parse_value(p, "2025");
  auto s = parse_value(p, "\"1025\"");
  REQUIRE(n.size() == 1);
  REQUIRE(s.size() == 1);
  CHECK(std::get<PortRecord>(n[0]).port == 2025);
  CHECK(std::get<PortRecord>(s[0]).port == 1025);
  CHECK(encoded(p, n[0]) == dnstest::bytes({0x07, 0xE9}));
  auto back = decoded(p, dnstest::bytes({0x07, 0xE9}));
  REQUIRE(back);
  CHECK(std::get<PortRecord>(*back).port == 2025);
  CHECK(to_text(type::P, *back) == "P 2025");
  CHECK_FALSE(static_cast<bool>(p.target));
  CHECK_FALSE(static_cast<bool>(p.fallback));

  CHECK(parse_error(p, "0") == "t.toml:1: v: value 0 is out of range 1..65535");
  CHECK(parse_error(p, "\"port\"") == "t.toml:1: v: expected a number from 1 to 65535, got \"port\"");
  CHECK(zone_error("[P]\n\"a.\" = [1]\n") == "fdns.toml:2: P.\"a.\": expected an integer from 1 to 65535");
  CHECK(zone_error("[P]\n\"a.\" = 65536\n") == "fdns.toml:2: P.\"a.\": value 65536 is out of range 1..65535");
  CHECK(decoded(p, dnstest::bytes({1})).error().detail == "P record RDATA is not 2 octets");
  CHECK(decoded(p, dnstest::bytes({1, 2, 3})).error().detail == "P record RDATA is not 2 octets");
}

TEST_CASE("every type round-trips through a whole message; unknown types stay bytes") {
  // One zone-file value per registered type: a new type must add its own.
  const std::map<std::uint16_t, std::string> samples{
      {type::A, "\"10.1.2.3\""}, {type::MX, "{ pref = 7, host = \"h.example\" }"}, {type::P, "4242"}};
  for (const RecordType* t : record_types()) {
    CAPTURE(t->name);
    REQUIRE(samples.count(t->code) == 1);
    auto values = parse_value(*t, samples.at(t->code));
    REQUIRE(values.size() == 1);
    Message m;
    m.answers.push_back({name("x.example"), t->code, kClassIn, 9, values[0]});
    auto back = decode(encode(m));
    REQUIRE(back);
    REQUIRE(back->answers.size() == 1);
    CHECK(back->answers[0].data.index() == t->rdata_index);
    CHECK(to_text(t->code, back->answers[0].data) == to_text(t->code, values[0]));
    CHECK(encode(*back) == encode(m));
  }
  Message m;
  m.answers.push_back({name("x.example"), 99, kClassIn, 9, OpaqueRecord{"\1\2"}});
  auto back = decode(encode(m));
  REQUIRE(back);
  CHECK(std::get<OpaqueRecord>(back->answers[0].data).bytes == "\1\2");
  CHECK(to_text(99, back->answers[0].data) == "TYPE99");
}

TEST_CASE("the registry: distinct codes, names and RDATA alternatives, found every way") {
  std::set<std::uint16_t> codes;
  std::set<std::string_view> names;
  std::set<std::size_t> alternatives;
  for (const RecordType* t : record_types()) {
    codes.insert(t->code);
    names.insert(t->name);
    alternatives.insert(t->rdata_index);
    CHECK(find_record_type(t->code) == t);
    CHECK(find_record_type(t->name) == t);
    CHECK(static_cast<bool>(t->parse));
    CHECK(static_cast<bool>(t->encode));
    CHECK(static_cast<bool>(t->decode));
    CHECK(static_cast<bool>(t->text));
  }
  CHECK(codes.size() == record_types().size());
  CHECK(names.size() == record_types().size());
  CHECK(alternatives.size() == record_types().size());
  CHECK(find_record_type(type::OPT) == nullptr);
  CHECK(find_record_type(std::string_view("mx")) == nullptr);  // zone keys are case-sensitive
  CHECK(record_type_of(Rdata{PortRecord{1}}) == find_record_type(type::P));
  CHECK(record_type_of(Rdata{OpaqueRecord{}}) == nullptr);
  // The zone file's tables are the registry's names, in its order.
  CHECK(zone_error("[AAAA]\n\"a.\" = \"::1\"\n") == "fdns.toml:1: AAAA: unknown key (allowed here: ttl, MX, P, A)");
}

TEST_CASE("zone: ANY lists MX, P, A; additional records carry the host as spelled in [A]") {
  auto z = Zone::parse(R"([MX]
"Self.Test" = [ "Host.Test.", { pref = 5, host = "other.test" } ]
[P]
"HOST.test" = 25
"self.test" = 2525
[A]
"host.TEST" = ["10.0.0.1", "10.0.0.2"]
"SELF.test" = "10.0.0.9"
)",
                       "z.toml");
  REQUIRE(z);
  auto any = z->lookup(name("sElF.tEsT"), type::ANY);
  std::vector<std::string> got;
  for (const auto& r : any.records) got.push_back(r.name.to_text() + " " + to_text(r.type, r.data));
  CHECK(got == std::vector<std::string>{"sElF.tEsT MX 5 other.test", "sElF.tEsT MX 10 Host.Test", "sElF.tEsT P 2525",
                                        "sElF.tEsT A 10.0.0.9"});
  got.clear();
  for (const auto& r : any.additional) got.push_back(r.name.to_text() + " " + to_text(r.type, r.data));
  CHECK(got == std::vector<std::string>{"other.test A 127.0.0.1", "host.TEST A 10.0.0.1", "host.TEST A 10.0.0.2"});
  CHECK(z->lookup(name("other.test"), type::P).records.empty());
  CHECK(z->lookup(name("other.test"), type::P).rcode == Rcode::noerror);
}

TEST_CASE("zone: the first bad table in load order is the one reported") {
  // Address tables are read first, whatever their place in the file; then MX, P.
  CHECK(zone_error("[MX]\n\"y\" = 5\n[A]\n\"x\" = \"1.2.3.4.5\"\n").rfind("fdns.toml:4: A.x:", 0) == 0);
  CHECK(zone_error("[P]\n\"x\" = \"p\"\n[MX]\n\"y\" = 5\n").rfind("fdns.toml:4: MX.y:", 0) == 0);
}
