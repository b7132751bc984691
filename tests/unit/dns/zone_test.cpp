#include "dns/zone.hpp"

#include "test_helpers.hpp"

using namespace mail::dns;
using dnstest::name;

namespace {

constexpr const char* kCourseZone = R"(ttl = 60

[MX]
"mail.sustech.edu.cn." = "mxbiz1.qq.com."
"gmail.com." = "gmail-smtp-in.l.google.com."
"example.org." = [ { pref = 20, host = "mx2.example.org." }, { pref = 10, host = "mx1.example.org." } ]

[P]
"smtp.exmail.qq.com." = "1025"
"smtp.gmail.com." = 2025
"mxbiz1.qq.com." = "1025"
"gmail-smtp-in.l.google.com." = "2025"

[A]
"gmail-smtp-in.l.google.com." = "127.0.0.5"
"mx2.example.org" = ["10.0.0.1", "10.0.0.2"]
)";

Zone load(std::string_view text) {
  auto z = Zone::parse(text, "fdns.toml");
  REQUIRE(z);
  return std::move(*z);
}

std::string error_of(std::string_view text) {
  auto z = Zone::parse(text, "fdns.toml");
  REQUIRE_FALSE(z);
  return z.error().detail;
}

}  // namespace

TEST_CASE("MX, P and A from the zone file, with the default address") {
  auto z = load(kCourseZone);
  CHECK(z.ttl() == 60);
  auto mx = mx_of(z.lookup(name("GMAIL.com"), type::MX));
  REQUIRE(mx.size() == 1);
  CHECK(mx[0].preference == 10);
  CHECK(mx[0].exchange.to_text() == "gmail-smtp-in.l.google.com");

  auto list = mx_of(z.lookup(name("example.org"), type::MX));
  REQUIRE(list.size() == 2);
  CHECK(list[0].exchange.to_text() == "mx1.example.org");
  CHECK(list[1].preference == 20);

  CHECK(port_of(z.lookup(name("smtp.gmail.com."), type::P)) == 2025);
  CHECK(port_of(z.lookup(name("smtp.exmail.qq.com"), type::P)) == 1025);
  // Every name has an A record: 127.0.0.1 unless [A] says otherwise (keys and MX targets alike).
  CHECK(addresses_of(z.lookup(name("smtp.gmail.com"), type::A)) == std::vector<Ipv4>{{127, 0, 0, 1}});
  CHECK(addresses_of(z.lookup(name("mx1.example.org"), type::A)) == std::vector<Ipv4>{{127, 0, 0, 1}});
  CHECK(addresses_of(z.lookup(name("gmail-smtp-in.l.google.com"), type::A)) == std::vector<Ipv4>{{127, 0, 0, 5}});
  CHECK(addresses_of(z.lookup(name("mx2.example.org"), type::A)).size() == 2);
  CHECK(addresses_of(z.lookup(name("gmail.com"), type::A)) == std::vector<Ipv4>{{127, 0, 0, 1}});
}

TEST_CASE("NXDOMAIN outside the zone, NOERROR without records for a missing type") {
  auto z = load(kCourseZone);
  auto nx = z.lookup(name("yahoo.com"), type::MX);
  CHECK(nx.rcode == Rcode::nxdomain);
  CHECK(nx.records.empty());
  CHECK(z.lookup(name("com"), type::MX).rcode == Rcode::nxdomain);
  auto nodata = z.lookup(name("smtp.gmail.com"), type::MX);
  CHECK(nodata.rcode == Rcode::noerror);
  CHECK(nodata.records.empty());
  CHECK(z.lookup(name("gmail.com"), type::AAAA).records.empty());
  CHECK_FALSE(port_of(z.lookup(name("gmail.com"), type::P)));
}

TEST_CASE("answers are owned by the name as asked; MX answers carry their hosts' addresses") {
  auto z = load(kCourseZone);
  auto a = z.lookup(name("GMail.Com"), type::MX);
  REQUIRE(a.records.size() == 1);
  CHECK(a.records[0].name.to_text() == "GMail.Com");
  CHECK(a.records[0].ttl == 60);
  REQUIRE(a.additional.size() == 1);
  CHECK(a.additional[0].name.to_text() == "gmail-smtp-in.l.google.com");
  CHECK(std::get<ARecord>(a.additional[0].data).address == Ipv4{127, 0, 0, 5});
  auto any = z.lookup(name("smtp.gmail.com"), type::ANY);
  CHECK(any.records.size() == 2);  // P and A
}

TEST_CASE("zone errors name the file, the line and the key") {
  CHECK(error_of("[P]\n\"a.\" = \"port\"\n") == "fdns.toml:2: P.\"a.\": expected a number from 1 to 65535, got \"port\"");
  CHECK(error_of("[P]\n\"a.\" = 0\n") == "fdns.toml:2: P.\"a.\": value 0 is out of range 1..65535");
  CHECK(error_of("[A]\n\"a.\" = \"1.2.3\"\n") == "fdns.toml:2: A.\"a.\": expected an IPv4 address such as \"127.0.0.1\"");
  CHECK(error_of("[MX]\n\"a.\" = 5\n") == "fdns.toml:2: MX.\"a.\": expected a table");
  CHECK(error_of("[MX]\n\"a.\" = [ { pref = 1 } ]\n") == "fdns.toml:2: MX.\"a.\"[0]: missing key \"host\"");
  CHECK(error_of("[MX]\n\"a.\" = [ { pref = 1, host = \"b.\", weight = 3 } ]\n")
            .rfind("fdns.toml:2: MX.\"a.\"[0].weight: unknown key", 0) == 0);
  CHECK(error_of("[MX]\n\"a..b\" = \"c.\"\n") == "fdns.toml:2: MX.\"a..b\": empty label in 'a..b'");
  CHECK(error_of("[P]\n\"Smtp.gmail.com.\" = 1\n\"smtp.gmail.com\" = 2\n").find("the same name as") != std::string::npos);
  CHECK(error_of("[AAAA]\n\"a.\" = \"::1\"\n").rfind("fdns.toml:1: AAAA: unknown key (allowed here: ttl, MX, P, A)", 0) == 0);
  CHECK(error_of("ttl = -1\n") == "fdns.toml:1: ttl: value -1 is out of range 0..2147483647");
}
