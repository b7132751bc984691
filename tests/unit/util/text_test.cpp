#include "util/text.hpp"

#include <doctest/doctest.h>

#include "util/cidr.hpp"
#include "util/cli.hpp"
#include "util/log.hpp"

using namespace mail;
using namespace mail::util;

TEST_CASE("parse_host_port") {
  auto a = parse_host_port("127.0.0.1:10053");
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 10053);
  auto b = parse_host_port("[::1]:53");
  REQUIRE(b);
  CHECK(b->host == "::1");
  CHECK(b->port == 53);
  auto c = parse_host_port("smtp.gmail.com", 25);
  REQUIRE(c);
  CHECK(c->port == 25);
  CHECK_FALSE(parse_host_port("smtp.gmail.com"));
  CHECK_FALSE(parse_host_port("h:0"));
  CHECK_FALSE(parse_host_port("h:65536"));
  CHECK_FALSE(parse_host_port("h:12x"));
  CHECK_FALSE(parse_host_port(":25"));
  CHECK_FALSE(parse_host_port("::1:53"));
  CHECK(format_host_port("::1", 53) == "[::1]:53");
}

TEST_CASE("parse_uint rejects signs, spaces and overflow") {
  CHECK(parse_uint("0", 10) == 0u);
  CHECK(parse_uint("65535", 65535) == 65535u);
  CHECK_FALSE(parse_uint("65536", 65535));
  CHECK_FALSE(parse_uint("-1", 100));
  CHECK_FALSE(parse_uint(" 1", 100));
  CHECK_FALSE(parse_uint("", 100));
  CHECK_FALSE(parse_uint("99999999999999999999999", UINT64_MAX));
}

TEST_CASE("iequals and to_lower fold ASCII only") {
  CHECK(iequals("Gmail.COM", "gmail.com"));
  CHECK_FALSE(iequals("gmail.com", "gmail.co"));
  CHECK(to_lower("MX1.Example") == "mx1.example");
}

TEST_CASE("command-line options in every spelling") {
  constexpr OptSpec specs[] = {{'z', "zone", "FILE", ""}, {'v', "verbose", "", ""}, {0, "dns", "HOST:PORT", ""}};
  const char* argv[] = {"fdns", "-z", "a.toml", "--dns=1.2.3.4:53", "-v", "-zb.toml", "extra"};
  auto r = parse_args(specs, 7, argv);
  REQUIRE(r);
  CHECK(r->get("zone") == "b.toml");
  CHECK(r->all("zone").size() == 2);
  CHECK(r->get("dns") == "1.2.3.4:53");
  CHECK(r->has("verbose"));
  CHECK(r->positional == std::vector<std::string>{"extra"});

  const char* bad[] = {"fdns", "--nope"};
  auto e = parse_args(specs, 2, bad);
  REQUIRE_FALSE(e);
  CHECK(e.error().detail == "unknown option '--nope' (see --help)");
  const char* missing[] = {"fdns", "-z"};
  CHECK_FALSE(parse_args(specs, 2, missing));
  const char* flagval[] = {"fdns", "--verbose=1"};
  CHECK_FALSE(parse_args(specs, 2, flagval));

  const char* sub[] = {"agent", "-v", "send", "--to", "x"};
  auto s = parse_args(specs, 5, sub, true);
  REQUIRE(s);
  CHECK(s->positional == std::vector<std::string>{"send", "--to", "x"});
}

TEST_CASE("log lines: fixed fields first, values quoted when needed") {
  log::init("fdns", log::Level::info);
  auto line = log::format(log::Level::info, "dns", "listening", {{"proto", "dns"}, {"addr", "127.0.0.1:10053"}});
  CHECK(line.rfind("ts=", 0) == 0);
  CHECK(line.find(" prog=fdns lvl=info svc=dns event=listening proto=dns addr=127.0.0.1:10053") != std::string::npos);
  CHECK(line.find('\n') == std::string::npos);

  auto q = log::format(log::Level::warn, "smtp", "bad", {{"why", "two words"}, {"raw", "a\"b\r\n"}, {"n", 42}, {"e", ""}});
  CHECK(q.find(R"(why="two words" raw="a\"b\x0d\x0a" n=42 e="")") != std::string::npos);

  std::vector<std::string> lines;
  log::set_sink([&](std::string_view l) { lines.emplace_back(l); });
  log::Context ctx("smtp", "7f3a", "127.0.0.1:51234");
  ctx.info("connect", {{"tls", "no"}});
  ctx.debug("hidden");  // below the level
  log::set_sink({});
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("lvl=info svc=smtp sid=7f3a peer=127.0.0.1:51234 event=connect tls=no") != std::string::npos);
}

TEST_CASE("Cidr: ranges, bare addresses, IPv4-mapped IPv6, bad input") {
  auto lo = Cidr::parse("127.0.0.0/8");
  REQUIRE(lo);
  CHECK(lo->contains("127.0.0.1"));
  CHECK(lo->contains("127.255.3.4"));
  CHECK(lo->contains("::ffff:127.0.0.1"));  // what a dual-stack socket reports
  CHECK_FALSE(lo->contains("128.0.0.1"));
  CHECK_FALSE(lo->contains("::1"));
  CHECK_FALSE(lo->contains("not an address"));
  auto odd = Cidr::parse("198.18.0.0/15");
  REQUIRE(odd);
  CHECK(odd->contains("198.19.255.255"));
  CHECK_FALSE(odd->contains("198.20.0.0"));
  auto one = Cidr::parse("10.1.2.3");
  REQUIRE(one);
  CHECK(one->contains("10.1.2.3"));
  CHECK_FALSE(one->contains("10.1.2.4"));
  auto v6 = Cidr::parse("::1/128");
  REQUIRE(v6);
  CHECK(v6->contains("::1"));
  CHECK_FALSE(v6->contains("127.0.0.1"));
  auto all = Cidr::parse("0.0.0.0/0");
  REQUIRE(all);
  CHECK(all->contains("8.8.8.8"));
  CHECK_FALSE(Cidr::parse("127.0.0.0/33"));
  CHECK_FALSE(Cidr::parse("127.0.0.0/"));
  CHECK_FALSE(Cidr::parse("127.0.0/8"));
  CHECK_FALSE(Cidr::parse("localhost"));
  std::vector<Cidr> ranges{*lo, *v6};
  CHECK(any_contains(ranges, "::1"));
  CHECK_FALSE(any_contains(ranges, "192.0.2.1"));
  CHECK_FALSE(any_contains({}, "127.0.0.1"));
}
