// Fault rules (issue 13, item 1): the file format, matching in order, first/every/probability with a
// seed, counters per tuple, and one-line errors naming file, line and key.
#include "fault/fault.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/document.hpp"

using namespace mail;
using fault::Event;
using fault::Injector;
using fault::Kind;
using fault::Protocol;
using fault::Rules;

namespace {

Result<Rules> parse(std::string_view text) {
  auto doc = config::Document::parse(text, "faults.toml", config::Format::toml);
  if (!doc) return std::move(doc).error();
  return Rules::parse(*doc);
}

Injector injector(std::string_view text) {
  auto rules = parse(text);
  REQUIRE_MESSAGE(rules.has_value(), (rules ? "" : rules.error().detail));
  return Injector(std::move(*rules));
}

std::string error_of(std::string_view text) {
  auto rules = parse(text);
  REQUIRE_FALSE(rules.has_value());
  return rules.error().detail;
}

Event smtp(std::string_view stage, std::string_view sender = "", const std::vector<std::string>* rcpts = nullptr) {
  Event e;
  e.protocol = Protocol::smtp;
  e.stage = stage;
  e.client = "127.0.0.1";
  e.sender = sender;
  e.has_sender = !sender.empty();
  if (rcpts) e.recipients = *rcpts;
  return e;
}

// Which of `n` identical events the injector applies a rule to, as a string of 'x' and '.'.
std::string pattern(Injector& inj, const Event& e, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += inj.check(e) ? 'x' : '.';
  return out;
}

}  // namespace

TEST_CASE("a rule with no count applies to every matching event, and only to its stage and protocol") {
  auto inj = injector(R"(
[[rule]]
when = "smtp RCPT"
do = "reply 552 5.2.2 Mailbox full"
)");
  std::vector<std::string> r{"usr2@mail.sustech.edu.cn"};
  auto hit = inj.check(smtp("RCPT", "a@b.c", &r));
  REQUIRE(hit);
  CHECK(hit->action->kind == Kind::reply);
  CHECK(hit->action->code == 552);
  CHECK(hit->action->text == "5.2.2 Mailbox full");
  CHECK(hit->rule->name == "1");
  CHECK(inj.check(smtp("RCPT", "a@b.c", &r)));
  CHECK_FALSE(inj.check(smtp("MAIL", "a@b.c")));
  Event pop = smtp("RCPT");
  pop.protocol = Protocol::pop3;
  CHECK_FALSE(inj.check(pop));
}

TEST_CASE("match: sender and recipient globs ignore case; a recipient matches any of the envelope's") {
  auto inj = injector(R"(
rule = [ { when = "smtp end-of-data", match = { recipient = "USR2@*", sender = "*@gmail.com" }, do = "reply 552 5.3.4 no" } ]
)");
  std::vector<std::string> both{"usr1@mail.sustech.edu.cn", "usr2@mail.sustech.edu.cn"};
  std::vector<std::string> one{"usr1@mail.sustech.edu.cn"};
  CHECK(inj.check(smtp("end-of-data", "bob@GMAIL.com", &both)));
  CHECK_FALSE(inj.check(smtp("end-of-data", "bob@gmail.com", &one)));
  CHECK_FALSE(inj.check(smtp("end-of-data", "bob@qq.com", &both)));
  CHECK_FALSE(inj.check(smtp("end-of-data", "", &both)));  // no MAIL yet: the sender is unknown
}

TEST_CASE("match: client ranges, one or a list") {
  auto inj = injector(R"(
rule = [ { when = "smtp connect", match = { client = ["10.0.0.0/8", "::1"] }, do = "drop" } ]
)");
  Event e = smtp("connect");
  e.client = "10.1.2.3";
  CHECK(inj.check(e));
  e.client = "::1";
  CHECK(inj.check(e));
  e.client = "127.0.0.1";
  CHECK_FALSE(inj.check(e));
}

TEST_CASE("first N applies to the first N matches, every N to each Nth") {
  auto first = injector(R"(rule = [ { when = "smtp RCPT", do = "drop", first = 2 } ])");
  CHECK(pattern(first, smtp("RCPT"), 5) == "xx...");
  auto every = injector(R"(rule = [ { when = "smtp RCPT", do = "drop", every = 3 } ])");
  CHECK(pattern(every, smtp("RCPT"), 7) == "..x..x.");
}

TEST_CASE("probability with a seed: the same seed gives the same sequence, another seed another one") {
  const char* text = R"(rule = [ { when = "pop3 RETR", do = "reply -ERR busy", probability = 0.5, seed = 42 } ])";
  Event e;
  e.protocol = Protocol::pop3;
  e.stage = "RETR";
  auto a = injector(text);
  auto b = injector(text);
  std::string first = pattern(a, e, 64);
  CHECK(first == pattern(b, e, 64));
  CHECK(first.find('x') != std::string::npos);
  CHECK(first.find('.') != std::string::npos);
  auto c = injector(R"(rule = [ { when = "pop3 RETR", do = "reply -ERR busy", probability = 0.5, seed = 43 } ])");
  CHECK(first != pattern(c, e, 64));
  // About half: 64 draws at p = 0.5 land well inside 16..48 (the seed fixes it; this guards the scaling).
  auto hits = std::count(first.begin(), first.end(), 'x');
  CHECK(hits > 16);
  CHECK(hits < 48);
  // A reload starts the sequence afresh.
  a.replace(*parse(text));
  CHECK(pattern(a, e, 64) == first);
}

TEST_CASE("per: greylisting counts each (client, sender, recipient) separately") {
  auto inj = injector(R"(
[[rule]]
name = "greylist"
when = "smtp RCPT"
do = "reply 451 4.7.1 Greylisted, try again later"
first = 1
per = ["client", "sender", "recipient"]
)");
  std::vector<std::string> r1{"usr1@x.y"}, r2{"usr2@x.y"};
  CHECK(inj.check(smtp("RCPT", "a@b.c", &r1)));
  CHECK_FALSE(inj.check(smtp("RCPT", "a@b.c", &r1)));  // the retry passes
  CHECK(inj.check(smtp("RCPT", "a@b.c", &r2)));        // a new triplet is greylisted once
  CHECK(inj.check(smtp("RCPT", "z@b.c", &r1)));
  CHECK_FALSE(inj.check(smtp("RCPT", "z@b.c", &r1)));
  auto hit = inj.check(smtp("RCPT", "new@b.c", &r1));
  REQUIRE(hit);
  CHECK(hit->rule->name == "greylist");
  bool logged_sender = false;
  for (const auto& [k, v] : hit->fields) logged_sender |= (k == "sender" && v == "new@b.c");
  CHECK(logged_sender);
}

TEST_CASE("rules are tried in order; a matching rule that does not apply lets the next one decide") {
  auto inj = injector(R"(
rule = [
  { name = "twice", when = "smtp RCPT", do = "drop", first = 2 },
  { name = "then", when = "smtp RCPT", do = "reply 452 4.2.2 full" },
]
)");
  std::string names;
  for (int i = 0; i < 4; ++i) names += inj.check(smtp("RCPT"))->rule->name + " ";
  CHECK(names == "twice twice then then ");
}

TEST_CASE("HELO and EHLO are one stage; verbs are case-insensitive") {
  auto inj = injector(R"(rule = [ { when = "smtp helo", do = "delay 250" } ])");
  auto hit = inj.check(smtp("EHLO"));
  REQUIRE(hit);
  CHECK(hit->action->kind == Kind::delay);
  CHECK(hit->action->delay == std::chrono::milliseconds(250));
}

TEST_CASE("dns rules: name and type globs, udp/tcp/query stages, rcode actions") {
  auto inj = injector(R"(
rule = [
  { when = "dns udp", match = { name = "gmail.com.", type = "mx" }, do = "truncate" },
  { when = "dns query", match = { name = "*.qq.com" }, do = "servfail" },
]
)");
  Event e;
  e.protocol = Protocol::dns;
  e.stage = "udp";
  e.name = "GMAIL.com";
  e.type = "MX";
  REQUIRE(inj.check(e));
  CHECK(inj.check(e)->action->kind == Kind::truncate);
  e.stage = "tcp";
  CHECK_FALSE(inj.check(e));
  e.name = "smtp.exmail.qq.com";
  e.type = "P";
  REQUIRE(inj.check(e));
  CHECK(inj.check(e)->action->kind == Kind::servfail);
}

TEST_CASE("dns truncate has no effect over TCP: such a query neither counts nor stops the next rule") {
  auto inj = injector(R"(
rule = [
  { name = "tc", when = "dns query", do = "truncate", first = 1 },
  { name = "slow", when = "dns query", do = "delay 5" },
]
)");
  Event e;
  e.protocol = Protocol::dns;
  e.name = "gmail.com";
  e.type = "MX";
  e.stage = "tcp";
  auto over_tcp = inj.check(e);
  REQUIRE(over_tcp);
  CHECK(over_tcp->rule->name == "slow");
  e.stage = "udp";  // the first UDP query is still the first match of "tc"
  auto over_udp = inj.check(e);
  REQUIRE(over_udp);
  CHECK(over_udp->rule->name == "tc");
}

TEST_CASE("bad rules: one line naming file, line and key") {
  CHECK(error_of("[[rule]]\nwhen = \"smtp RCPT\"\ndo = \"explode\"\n").starts_with("faults.toml:3: rule[0].do: expected reply"));
  CHECK(error_of("[[rule]]\nwhen = \"smtp RCPT\"\n").find("needs \"do\"") != std::string::npos);
  CHECK(error_of("[[rule]]\nwhen = \"imap FETCH\"\ndo = \"drop\"\n").starts_with("faults.toml:2: rule[0].when:"));
  CHECK(error_of("[[rule]]\nwhen = \"smtp end-of-dta\"\ndo = \"drop\"\n").find("unknown stage") != std::string::npos);
  CHECK(error_of("[[rule]]\nwhen = \"smtp RCPT\"\ndo = \"reply 250 ok\"\n").find("reply code 400..599") !=
        std::string::npos);
  CHECK(error_of("[[rule]]\nwhen = \"pop3 RETR\"\ndo = \"reply 451 no\"\n").find("-ERR") != std::string::npos);
  CHECK(error_of("[[rule]]\nwhen = \"smtp RCPT\"\ndo = \"servfail\"\n").find("expected reply") != std::string::npos);
  CHECK(error_of("[[rule]]\nwhen = \"dns query\"\ndo = \"slow 10\"\n").find("expected delay") != std::string::npos);
  CHECK(error_of("[[rule]]\nwhen = \"smtp RCPT\"\ndo = \"drop\"\nfirst = 1\nevery = 2\n").find("at most one of") !=
        std::string::npos);
  CHECK(error_of("[[rule]]\nwhen = \"smtp RCPT\"\ndo = \"drop\"\nprobability = 1.5\n").find("0 < p <= 1") !=
        std::string::npos);
  CHECK(error_of("[[rule]]\nwhen = \"smtp RCPT\"\ndo = \"drop\"\nmatch = { user = \"x\" }\n").find("user") !=
        std::string::npos);
  CHECK(error_of("[[rule]]\nwhen = \"smtp RCPT\"\ndo = \"drop\"\nper = [\"colour\"]\n").find("one of client") !=
        std::string::npos);
  CHECK(error_of("[[rule]]\nwhen = \"smtp RCPT\"\ndo = \"drop\"\ncolour = 1\n").find("colour") != std::string::npos);
  CHECK(error_of("[[rule]]\nwhen = \"smtp RCPT\"\ndo = \"reply 451 a\\u0001b\"\n").find("printable") !=
        std::string::npos);
  for (auto text : {"[[rule]]\nwhen = \"smtp RCPT\"\ndo = \"explode\"\n", "rule = 3\n", "[rule]\nwhen = 1\n"})
    CHECK(error_of(text).find('\n') == std::string::npos);
}

TEST_CASE("an empty file is no rules; a file for another server's protocol is refused by load(allowed)") {
  auto none = parse("");
  REQUIRE(none);
  CHECK(none->empty());
  Injector inj(std::move(*none));
  CHECK_FALSE(inj.check(smtp("RCPT")));
}

TEST_CASE("glob_match") {
  CHECK(fault::glob_match("*", ""));
  CHECK(fault::glob_match("a*b?d", "AxxxbCd"));
  CHECK_FALSE(fault::glob_match("a*b?d", "axxxbd"));
  CHECK(fault::glob_match("*@*.com", "x@y.z.com"));
  CHECK_FALSE(fault::glob_match("", "x"));
  // No exponential backtracking: this returns at once.
  CHECK_FALSE(fault::glob_match("*a*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST_CASE("per-tuple counters are bounded: the oldest are forgotten") {
  auto inj = injector(R"(rule = [ { when = "smtp MAIL", do = "drop", first = 1, per = ["sender"] } ])");
  std::vector<std::string> senders;
  for (std::size_t i = 0; i < Injector::kMaxKeys + 1; ++i) senders.push_back("s" + std::to_string(i) + "@x");
  std::size_t applied = 0;
  for (const auto& s : senders) applied += inj.check(smtp("MAIL", s)) ? 1 : 0;
  CHECK(applied == senders.size());
  // The very first sender was forgotten when the last one came: it counts as new again.
  CHECK(inj.check(smtp("MAIL", senders.front())));
  CHECK_FALSE(inj.check(smtp("MAIL", senders.back())));
}

TEST_CASE("per-tuple keys stay small: a long tuple is kept as a 16-octet digest, and distinct tuples stay distinct") {
  std::vector<std::string> per{"sender", "recipient"};
  std::vector<std::string> many, reordered;
  for (int i = 0; i < 100; ++i) many.push_back("recipient-with-a-long-local-part-" + std::to_string(i) + "@example.org");
  reordered = many;
  std::swap(reordered[0], reordered[1]);
  auto key = fault::tuple_key(per, smtp("end-of-data", "a@b.c", &many));
  CHECK(key.size() <= fault::kMaxKeyLength);
  CHECK(key != fault::tuple_key(per, smtp("end-of-data", "a@b.c", &reordered)));
  CHECK(key == fault::tuple_key(per, smtp("end-of-data", "a@b.c", &many)));
  std::vector<std::string> one{"u@x.y"};
  CHECK(fault::tuple_key(per, smtp("RCPT", "a@b.c", &one)) == std::string("a@b.c\0u@x.y\0", 12));
}
