#include "util/peer_count.hpp"

#include <doctest/doctest.h>

using mail::util::Cidr;
using mail::util::PeerCount;
using Admit = PeerCount::Admit;

TEST_CASE("the cap+1st session from one address is refused until one ends; others are apart") {
  PeerCount p(3, {});
  for (int i = 0; i < 3; ++i) CHECK(p.admit("192.0.2.7") == Admit::counted);
  CHECK(p.admit("192.0.2.7") == Admit::refused);
  CHECK(p.admit("192.0.2.7") == Admit::refused);  // a refusal counts nothing
  CHECK(p.sessions("192.0.2.7") == 3);
  CHECK(p.admit("192.0.2.8") == Admit::counted);
  CHECK(p.admit("2001:db8::1") == Admit::counted);
  p.release("192.0.2.7");
  CHECK(p.admit("192.0.2.7") == Admit::counted);
  CHECK(p.admit("192.0.2.7") == Admit::refused);
}

TEST_CASE("an address is forgotten when its last session ends") {
  PeerCount p(2, {});
  CHECK(p.admit("192.0.2.1") == Admit::counted);
  CHECK(p.admit("192.0.2.1") == Admit::counted);
  CHECK(p.admit("192.0.2.2") == Admit::counted);
  CHECK(p.addresses() == 2);
  p.release("192.0.2.1");
  p.release("192.0.2.1");
  p.release("192.0.2.2");
  CHECK(p.addresses() == 0);
  p.release("192.0.2.9");  // never counted: nothing happens
  CHECK(p.addresses() == 0);
}

TEST_CASE("exempt ranges and cap 0 are never counted") {
  PeerCount p(1, {*Cidr::parse("127.0.0.0/8"), *Cidr::parse("2001:db8::/32")});
  for (int i = 0; i < 5; ++i) {
    CHECK(p.admit("127.0.0.1") == Admit::exempt);
    CHECK(p.admit("127.9.9.9") == Admit::exempt);
    CHECK(p.admit("::ffff:127.0.0.1") == Admit::exempt);
    CHECK(p.admit("2001:db8::5") == Admit::exempt);
  }
  CHECK(p.addresses() == 0);
  CHECK(p.admit("128.0.0.1") == Admit::counted);
  CHECK(p.admit("128.0.0.1") == Admit::refused);
  PeerCount none(0, {});
  for (int i = 0; i < 100; ++i) CHECK(none.admit("192.0.2.1") == Admit::exempt);
  CHECK(none.addresses() == 0);
}
