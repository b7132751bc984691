// The small shared pieces: dot-stuffing, base64, SASL PLAIN, constant-time compare, the throttle.
#include <doctest/doctest.h>

#include "util/auth.hpp"
#include "util/dot_stuffer.hpp"

using namespace mail::util;

namespace {
std::string stuff(std::string_view in, std::optional<std::uint64_t> top = std::nullopt, std::size_t cut = 0) {
  DotStuffer s(top);
  std::string out;
  if (cut == 0 || cut >= in.size()) {
    s.feed(in, out);
  } else {
    s.feed(in.substr(0, cut), out);
    s.feed(in.substr(cut), out);
  }
  s.finish(out);
  return out;
}
}  // namespace

TEST_CASE("dot-stuffing: CRLF line ends, dots doubled, bare CR kept, the same at every cut") {
  const std::string in = "Subject: x\n\n.dot\n..two\nmid.dot\na\rb\r\nalready crlf\n.\nlast";
  const std::string want = "Subject: x\r\n\r\n..dot\r\n...two\r\nmid.dot\r\na\rb\r\nalready crlf\r\n..\r\nlast\r\n.\r\n";
  for (std::size_t cut = 0; cut <= in.size(); ++cut) {
    CAPTURE(cut);
    CHECK(stuff(in, std::nullopt, cut) == want);
  }
  CHECK(stuff("") == ".\r\n");
  CHECK(stuff("x\n") == "x\r\n.\r\n");
  CHECK(stuff("trailing cr\r") == "trailing cr\r\r\n.\r\n");
}

TEST_CASE("dot-stuffing with a TOP limit: the header, the blank line, N body lines") {
  const std::string msg = "A: 1\nB: 2\n\nline1\n.line2\nline3\n";
  CHECK(stuff(msg, 0) == "A: 1\r\nB: 2\r\n\r\n.\r\n");
  CHECK(stuff(msg, 2) == "A: 1\r\nB: 2\r\n\r\nline1\r\n..line2\r\n.\r\n");
  CHECK(stuff(msg, 99) == "A: 1\r\nB: 2\r\n\r\nline1\r\n..line2\r\nline3\r\n.\r\n");
  for (std::size_t cut = 0; cut <= msg.size(); ++cut) CHECK(stuff(msg, 1, cut) == "A: 1\r\nB: 2\r\n\r\nline1\r\n.\r\n");
  CHECK(stuff("no body at all\n", 3) == "no body at all\r\n.\r\n");
}

TEST_CASE("base64 round trips and rejects what is not base64") {
  for (std::string s : {std::string(""), std::string("f"), std::string("fo"), std::string("foo"), std::string("foob"),
                        std::string("\0\xff\x10 binary", 10)}) {
    CHECK(base64_decode(base64_encode(s)) == s);
  }
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_decode("Zm9vYg==") == std::string("foob"));
  CHECK_FALSE(base64_decode("Zm9vYg="));
  CHECK_FALSE(base64_decode("Zm9v!mFy"));
  CHECK_FALSE(base64_decode("Zg==Zm9v"));
  CHECK_FALSE(base64_decode("Z==="));
}

TEST_CASE("SASL PLAIN messages") {
  auto c = parse_sasl_plain(std::string("\0usr@gmail.com\0p w", 18));
  REQUIRE(c);
  CHECK(c->authzid.empty());
  CHECK(c->user == "usr@gmail.com");
  CHECK(c->password == "p w");
  CHECK_FALSE(parse_sasl_plain("nonul"));
  CHECK_FALSE(parse_sasl_plain(std::string("\0\0pw", 4)));
  CHECK_FALSE(parse_sasl_plain(std::string("a\0b\0c\0d", 7)));
}

TEST_CASE("constant-time comparison") {
  CHECK(constant_time_equals("secret", "secret"));
  CHECK_FALSE(constant_time_equals("secret", "secreT"));
  CHECK_FALSE(constant_time_equals("secret", "secret2"));
  CHECK_FALSE(constant_time_equals("", "x"));
  CHECK(constant_time_equals("", ""));
}
