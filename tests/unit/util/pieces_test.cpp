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

// The rules of DotStuffer::feed spelled out byte by byte, for the random comparison below.
std::string reference_stuff(std::string_view in) {
  std::string out;
  bool at_start = true;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\n' || (c == '\r' && i + 1 < in.size() && in[i + 1] == '\n')) {
      if (c == '\r') ++i;
      out += "\r\n";
      at_start = true;
      continue;
    }
    if (at_start && c == '.') out += '.';
    at_start = false;
    out += c;
  }
  if (!at_start) out += "\r\n";
  return out + ".\r\n";
}

TEST_CASE("dot-stuffing agrees with the byte-by-byte rules on random text cut anywhere") {
  std::uint32_t seed = 12345;
  auto next = [&seed] { return (seed = seed * 1103515245u + 12345u) >> 16; };
  const char alphabet[] = {'a', 'b', '.', '\r', '\n', 'x'};
  for (int round = 0; round < 2000; ++round) {
    std::string in;
    const std::size_t len = next() % 64;
    for (std::size_t i = 0; i < len; ++i) in += alphabet[next() % sizeof alphabet];
    const std::size_t cut = len == 0 ? 0 : next() % len;
    INFO("input: ", in, " cut: ", cut);
    REQUIRE(stuff(in, std::nullopt, cut) == reference_stuff(in));
  }
  // Bare CRs and no LF (each CR ends a run of ordinary bytes): exact, and quick.
  std::string crs;
  for (int i = 0; i < 100000; ++i) crs += "ab\r";
  CHECK(stuff(crs) == reference_stuff(crs));
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
