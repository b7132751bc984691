#include "dns/name.hpp"

#include "test_helpers.hpp"

using mail::dns::Name;

TEST_CASE("names from text: trailing dot optional, case kept, compared without case") {
  auto a = dnstest::name("Gmail.COM.");
  auto b = dnstest::name("gmail.com");
  CHECK(a == b);
  CHECK(mail::dns::NameHash{}(a) == mail::dns::NameHash{}(b));
  CHECK(a.to_text() == "Gmail.COM");
  CHECK(a.wire() == std::string("\5Gmail\3COM"));
  CHECK(a.wire_size() == 11);
  CHECK(dnstest::name(".").is_root());
  CHECK(dnstest::name(".").to_text() == ".");
  CHECK_FALSE(dnstest::name("gmail.com") == dnstest::name("gmail.co"));
}

TEST_CASE("escapes round-trip") {
  auto n = dnstest::name(R"(a\.b.c\\d.\032x)");
  CHECK(n.wire() == std::string("\3a.b\3c\\d\2 x"));
  CHECK(n.to_text() == R"(a\.b.c\\d.\032x)");
}

TEST_CASE("a trailing dot after an escaped backslash is the root's dot") {
  // Found by fuzz_dns_message: the text of a label ending in '\\' plus "." was refused.
  auto n = Name::from_text(R"(a\\.)");
  REQUIRE(n);
  CHECK(n->wire() == std::string("\2a\\"));
  CHECK(n->to_text() == R"(a\\)");
  auto dotted = Name::from_text(n->to_text() + ".");
  REQUIRE(dotted);
  CHECK(dotted->wire() == n->wire());
  auto escaped_dot = Name::from_text(R"(a\\\.)");  // a, backslash, escaped dot: no root dot here
  REQUIRE(escaped_dot);
  CHECK(escaped_dot->wire() == std::string("\3a\\."));
}

TEST_CASE("bad names are refused") {
  CHECK_FALSE(Name::from_text(""));
  CHECK_FALSE(Name::from_text("a..b"));
  CHECK_FALSE(Name::from_text(".a"));
  CHECK_FALSE(Name::from_text(std::string(64, 'x') + ".com"));
  CHECK(Name::from_text(std::string(63, 'x') + ".com"));
  std::string long_name;
  for (int i = 0; i < 4; ++i) long_name += std::string(63, 'a') + ".";  // 4*64 + 1 = 257 octets
  CHECK_FALSE(Name::from_text(long_name));
  CHECK_FALSE(Name::from_text("a\\"));
  CHECK_FALSE(Name::from_text("a\\25"));
  CHECK_FALSE(Name::from_text("a\\256"));
}
