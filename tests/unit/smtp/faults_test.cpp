// Fault rules in the SMTP core (issue 13): where the session consults them (connect, greeting, each
// command line before it is handled, end-of-data) and what each action does to the session.
#include <doctest/doctest.h>

#include <string>

#include "config/document.hpp"
#include "smtp/server_session.hpp"
#include "util/text.hpp"

using namespace mail;
using namespace mail::smtp;
using Ending = util::LineSplitter::Ending;

namespace {

class OneAccount final : public Directory {
 public:
  bool is_local(std::string_view d) const override { return util::iequals(d, "gmail.com"); }
  std::optional<std::string> account(std::string_view a) const override {
    if (util::iequals(a, "usr@gmail.com")) return std::string("usr@gmail.com");
    return std::nullopt;
  }
};
const OneAccount kDir;

fault::Injector rules(std::string_view text) {
  auto doc = config::Document::parse(text, "faults.toml", config::Format::toml);
  REQUIRE(doc);
  auto r = fault::Rules::parse(*doc);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().detail));
  return fault::Injector(std::move(*r));
}

ServerSession session(fault::Injector* inj, Limits limits = {}) {
  SessionInfo info{"gmail.com", "127.0.0.1"};
  info.allow_plaintext_auth = true;
  info.faults = inj;
  return ServerSession(info, limits, kDir);
}

// The step as one line: "451 4.7.1 Greylisted [close] {drop}" (first line of each reply, the close,
// the fault the driver performs).
std::string show(const Step& step) {
  std::string out;
  for (const auto& r : step.replies) out += (out.empty() ? "" : " | ") + std::to_string(r.code) + " " + r.lines.front();
  if (step.effect == Effect::begin_data) out += (out.empty() ? "" : " ") + std::string("[begin_data]");
  if (step.effect == Effect::deliver) out += (out.empty() ? "" : " ") + std::string("[deliver]");
  if (step.effect == Effect::close) out += (out.empty() ? "" : " ") + std::string("[close]");
  if (step.fault) {
    const char* kinds[] = {"reply", "delay", "drop", "slow"};
    out += (out.empty() ? "{" : " {") + std::string(kinds[static_cast<int>(step.fault->kind)]) + "}";
  }
  return out;
}

std::string say(ServerSession& s, std::string_view line) { return show(s.on_line(line)); }

std::string field(const Step& step, std::string_view key) {
  REQUIRE(step.fault);
  for (const auto& [k, v] : step.fault->fields)
    if (k == key) return v;
  return "(none)";
}

void send_text(ServerSession& s) {
  REQUIRE(say(s, "DATA") == "[begin_data]");
  REQUIRE(s.on_data_started(true).replies.at(0).code == 354);
  REQUIRE(s.on_data_line("hello", Ending::crlf, false).store);
  REQUIRE(s.on_data_line(".", Ending::crlf, false).end);
}

}  // namespace

TEST_CASE("faults: without rules nothing changes (no injector, or an empty one)") {
  fault::Injector empty;
  for (fault::Injector* inj : {static_cast<fault::Injector*>(nullptr), &empty}) {
    auto s = session(inj);
    CHECK(show(s.on_connect()).empty());
    CHECK(show(s.on_greeting()) == "220 gmail.com ESMTP mailworld");
    CHECK(say(s, "EHLO c") == "250 gmail.com Hello c [127.0.0.1]");
    CHECK(say(s, "MAIL FROM:<a@x.org>") == "250 2.1.0 Ok");
    CHECK(say(s, "RCPT TO:<usr@gmail.com>") == "250 2.1.5 Ok");
    send_text(s);
    CHECK(show(s.end_of_data()) == "[deliver]");
  }
}

TEST_CASE("faults: greylisting at RCPT adds no recipient the first time, per client, sender and recipient") {
  auto inj = rules(R"([[rule]]
name = "grey"
when = "smtp RCPT"
do = "reply 451 4.7.1 Greylisted, try again later"
first = 1
per = ["client", "sender", "recipient"]
)");
  auto s = session(&inj);
  REQUIRE(say(s, "EHLO c") .rfind("250 ", 0) == 0);
  REQUIRE(say(s, "MAIL FROM:<a@x.org>") == "250 2.1.0 Ok");
  auto step = s.on_line("RCPT TO:<usr@gmail.com>");
  CHECK(show(step) == "451 4.7.1 Greylisted, try again later {reply}");
  CHECK(field(step, "rule") == "grey");
  CHECK(field(step, "sender") == "a@x.org");
  CHECK(field(step, "recipient") == "usr@gmail.com");
  CHECK(field(step, "client") == "127.0.0.1");
  CHECK(step.log_line == "RCPT TO:<usr@gmail.com>");
  CHECK(s.envelope().recipients() == 0);
  CHECK(s.phase() == Phase::mail);
  CHECK(say(s, "RCPT TO:<usr@gmail.com>") == "250 2.1.5 Ok");  // the retry passes
  CHECK(s.envelope().recipients() == 1);
  CHECK(say(s, "RSET") == "250 2.0.0 Ok");
  CHECK(say(s, "MAIL FROM:<b@x.org>") == "250 2.1.0 Ok");  // another sender: another triplet
  CHECK(say(s, "RCPT TO:<usr@gmail.com>") == "451 4.7.1 Greylisted, try again later {reply}");
}

TEST_CASE("faults: MAIL matches the sender it gives, EHLO the name; HELO counts as EHLO") {
  auto inj = rules(R"(rule = [
  { when = "smtp MAIL", match = { sender = "*@spam.example" }, do = "reply 550 5.7.1 Not from you" },
  { when = "smtp MAIL", match = { sender = "" }, do = "reply 550 5.7.1 No bounces here" },
  { when = "smtp EHLO", match = { helo = "bad.*" }, do = "reply 554 5.7.1 Bad name" },
])");
  auto s = session(&inj);
  CHECK(say(s, "HELO bad.example") == "554 5.7.1 Bad name {reply}");
  CHECK(say(s, "EHLO good.example").rfind("250 ", 0) == 0);
  CHECK(say(s, "MAIL FROM:<x@SPAM.example>") == "550 5.7.1 Not from you {reply}");
  CHECK(s.phase() == Phase::ready);
  CHECK(say(s, "MAIL FROM:<>") == "550 5.7.1 No bounces here {reply}");
  CHECK(say(s, "MAIL FROM:<a@ok.org>") == "250 2.1.0 Ok");
}

TEST_CASE("faults: a reply at end-of-data stores nothing and ends the transaction") {
  auto inj = rules(R"([[rule]]
name = "full"
when = "smtp end-of-data"
match = { recipient = "usr@*" }
do = "reply 552 5.2.2 Mailbox full"
)");
  auto s = session(&inj);
  REQUIRE(say(s, "EHLO c").rfind("250 ", 0) == 0);
  REQUIRE(say(s, "MAIL FROM:<a@x.org>") == "250 2.1.0 Ok");
  REQUIRE(say(s, "RCPT TO:<usr@gmail.com>") == "250 2.1.5 Ok");
  send_text(s);
  auto step = s.end_of_data();
  CHECK(show(step) == "552 5.2.2 Mailbox full {reply}");  // no [deliver]: nothing is stored
  CHECK(field(step, "recipient") == "usr@gmail.com");
  CHECK(s.phase() == Phase::ready);
  CHECK(s.envelope().recipients() == 0);
  CHECK(say(s, "MAIL FROM:<a@x.org>") == "250 2.1.0 Ok");  // the session goes on
}

TEST_CASE("faults: connect and greeting replies replace the greeting and close; drop closes without a reply") {
  SUBCASE("greeting") {
    auto inj = rules("rule = [ { when = \"smtp greeting\", do = \"reply 554 5.7.1 Go away\" } ]");
    auto s = session(&inj);
    CHECK(show(s.on_connect()).empty());
    CHECK(show(s.on_greeting()) == "554 5.7.1 Go away [close] {reply}");
    CHECK(s.phase() == Phase::closed);
  }
  SUBCASE("connect") {
    auto inj = rules("rule = [ { when = \"smtp connect\", do = \"reply 421 4.3.2 Not now\" } ]");
    auto s = session(&inj);
    CHECK(show(s.on_connect()) == "421 4.3.2 Not now [close] {reply}");
    CHECK(s.phase() == Phase::closed);
  }
  SUBCASE("drop at connect") {
    auto inj = rules("rule = [ { when = \"smtp connect\", do = \"drop\" } ]");
    auto s = session(&inj);
    CHECK(show(s.on_connect()) == "[close] {drop}");
  }
  SUBCASE("drop after RCPT twice, then accept") {
    auto inj = rules("rule = [ { when = \"smtp RCPT\", do = \"drop\", first = 2 } ]");
    for (int attempt = 1; attempt <= 3; ++attempt) {
      auto s = session(&inj);
      REQUIRE(say(s, "EHLO c").rfind("250 ", 0) == 0);
      REQUIRE(say(s, "MAIL FROM:<a@x.org>") == "250 2.1.0 Ok");
      CHECK(say(s, "RCPT TO:<usr@gmail.com>") == (attempt <= 2 ? "[close] {drop}" : "250 2.1.5 Ok"));
    }
  }
  SUBCASE("421 at a command closes") {
    auto inj = rules("rule = [ { when = \"smtp DATA\", do = \"reply 421 4.3.2 Closing\" } ]");
    auto s = session(&inj);
    REQUIRE(say(s, "EHLO c").rfind("250 ", 0) == 0);
    REQUIRE(say(s, "MAIL FROM:<a@x.org>") == "250 2.1.0 Ok");
    REQUIRE(say(s, "RCPT TO:<usr@gmail.com>") == "250 2.1.5 Ok");
    CHECK(say(s, "DATA") == "421 4.3.2 Closing [close] {reply}");
    CHECK(s.phase() == Phase::closed);
  }
}

TEST_CASE("faults: delay and slow ride on the step of the command, which proceeds") {
  auto inj = rules(R"(rule = [
  { when = "smtp MAIL", do = "delay 1500" },
  { when = "smtp DATA", do = "slow 1000" },
  { when = "smtp end-of-data", do = "delay 20" },
  { when = "smtp greeting", do = "delay 5" },
])");
  auto s = session(&inj);
  auto greet = s.on_greeting();
  CHECK(show(greet) == "220 gmail.com ESMTP mailworld {delay}");
  REQUIRE(say(s, "EHLO c").rfind("250 ", 0) == 0);
  auto mail = s.on_line("MAIL FROM:<a@x.org>");
  CHECK(show(mail) == "250 2.1.0 Ok {delay}");
  CHECK(mail.fault->delay == std::chrono::milliseconds(1500));
  REQUIRE(say(s, "RCPT TO:<usr@gmail.com>") == "250 2.1.5 Ok");
  auto data = s.on_line("DATA");
  CHECK(show(data) == "[begin_data] {slow}");
  CHECK(data.fault->rate == 1000);
  REQUIRE(s.on_data_started(true).replies.at(0).code == 354);
  REQUIRE(s.on_data_line(".", Ending::crlf, false).end);
  CHECK(show(s.end_of_data()) == "[deliver] {delay}");
}

TEST_CASE("faults: every Nth; a fault reply is no error of the client's; secrets stay masked") {
  auto inj = rules(R"(rule = [
  { when = "smtp NOOP", do = "reply 450 4.0.0 Busy", every = 2 },
  { when = "smtp AUTH", do = "reply 454 4.7.0 Try later" },
  { when = "smtp XYZZY", do = "reply 502 5.5.1 Not here either" },
])");
  auto s = session(&inj, Limits{100, 1000, 2});
  for (int i = 1; i <= 6; ++i) CHECK(say(s, "NOOP") == (i % 2 == 0 ? "450 4.0.0 Busy {reply}" : "250 2.0.0 Ok"));
  CHECK(s.phase() != Phase::closed);  // three 450s, and the error limit is 2
  REQUIRE(say(s, "EHLO c").rfind("250 ", 0) == 0);
  auto auth = s.on_line("AUTH PLAIN AHVzckBnbWFpbC5jb20AcGFzcw==");
  CHECK(show(auth) == "454 4.7.0 Try later {reply}");
  CHECK(auth.log_line == "AUTH PLAIN ***");
  CHECK(say(s, "xyzzy now") == "502 5.5.1 Not here either {reply}");  // any verb, known or not
}
