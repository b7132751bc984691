#include "smtp/server_session.hpp"

#include <doctest/doctest.h>

#include <set>

#include "util/text.hpp"

using namespace mail;
using namespace mail::smtp;
using Ending = util::LineSplitter::Ending;

namespace {

class FakeDirectory final : public Directory {
 public:
  bool is_local(std::string_view d) const override { return util::iequals(d, "gmail.com") || util::iequals(d, "mail.sustech.edu.cn"); }
  std::optional<std::string> account(std::string_view a) const override {
    for (const char* acc : {"usr@gmail.com", "usr1@mail.sustech.edu.cn", "Bob@gmail.com"}) {
      std::string_view s(acc);
      auto at = s.rfind('@');
      if (a.size() == s.size() && a.substr(0, at) == s.substr(0, at) && util::iequals(a.substr(at), s.substr(at))) return std::string(acc);
    }
    return std::nullopt;
  }
};

const FakeDirectory kDir;

ServerSession make(Limits limits = {}, bool requires_auth = false) {
  return ServerSession({"gmail.com", "127.0.0.1", requires_auth}, limits, kDir);
}

// The first line of each reply to `line`: "250 2.1.0 Ok".
std::string say(ServerSession& s, std::string_view line) {
  auto step = s.on_line(line);
  std::string out;
  for (const auto& r : step.replies) out += (out.empty() ? "" : " | ") + std::to_string(r.code) + " " + r.lines.front();
  if (step.effect == Effect::begin_data) out += (out.empty() ? "" : " ") + std::string("[begin_data]");
  if (step.effect == Effect::close) out += " [close]";
  return out;
}

int code(ServerSession& s, std::string_view line) {
  auto step = s.on_line(line);
  REQUIRE_FALSE(step.replies.empty());
  return step.replies.front().code;
}

// Feeds a whole DATA section and returns the stored lines.
std::vector<std::string> body(ServerSession& s, const std::vector<std::pair<std::string, Ending>>& lines) {
  std::vector<std::string> stored;
  for (const auto& [text, ending] : lines) {
    auto d = s.on_data_line(text, ending, false);
    if (d.store) stored.emplace_back(d.content);
    if (d.end) break;
  }
  return stored;
}

void to_data(ServerSession& s, const std::string& from = "<a@example.org>", const std::string& to = "<usr@gmail.com>") {
  REQUIRE(code(s, "EHLO client.example") == 250);
  REQUIRE(code(s, "MAIL FROM:" + from) == 250);
  REQUIRE(code(s, "RCPT TO:" + to) == 250);
  REQUIRE(say(s, "DATA") == "[begin_data]");
  auto st = s.on_data_started(true);
  REQUIRE(st.replies.at(0).code == 354);
}

}  // namespace

TEST_CASE("greeting and EHLO advertise the extensions") {
  auto s = make();
  CHECK(format(s.greeting()) == "220 gmail.com ESMTP mailworld\r\n");
  auto step = s.on_line("EHLO client.example");
  REQUIRE(step.replies.size() == 1);
  CHECK(format(step.replies[0]) ==
        "250-gmail.com Hello client.example [127.0.0.1]\r\n250-PIPELINING\r\n250-SIZE 33554432\r\n250-8BITMIME\r\n"
        "250 ENHANCEDSTATUSCODES\r\n");
  CHECK(s.phase() == Phase::ready);
  CHECK(say(s, "HELO other") == "250 gmail.com");
  CHECK_FALSE(s.envelope().esmtp);
}

TEST_CASE("commands are case-insensitive, arguments keep their case, 'MAIL FROM: <a>' with a space works") {
  auto s = make();
  CHECK(say(s, "ehlo x") .rfind("250 gmail.com Hello x", 0) == 0);
  CHECK(say(s, "mail from: <Someone@Example.ORG>") == "250 2.1.0 Ok");
  CHECK(s.envelope().sender == "Someone@Example.ORG");
  CHECK(say(s, "rCpT To:<usr@GMAIL.com>") == "250 2.1.5 Ok");
  CHECK(s.envelope().local == std::vector<std::string>{"usr@gmail.com"});  // as configured
}

TEST_CASE("wrong order gets 503 and keeps the phase; telnet users can go on after errors") {
  auto s = make();
  CHECK(say(s, "MAIL FROM:<a@example.org>") == "503 5.5.1 Error: send HELO/EHLO first");
  CHECK(s.phase() == Phase::greeted);
  CHECK(say(s, "RCPT TO:<usr@gmail.com>") == "503 5.5.1 Error: need MAIL command");
  CHECK(say(s, "DATA") == "503 5.5.1 Error: need RCPT command");
  CHECK(say(s, "d") == "500 5.5.2 Error: command not recognized");
  CHECK(say(s, "quit now") == "221 2.0.0 Bye [close]");  // QUIT with an argument still quits
  auto t = make();
  CHECK(code(t, "HELO x") == 250);
  CHECK(code(t, "MAIL FROM:<a@example.org>") == 250);
  CHECK(say(t, "MAIL FROM:<a@example.org>") == "503 5.5.1 Error: nested MAIL command");
  CHECK(say(t, "DATA") == "554 5.5.1 Error: no valid recipients");
  CHECK(code(t, "RCPT TO:<usr@gmail.com>") == 250);
  CHECK(say(t, "MAIL FROM:<a@example.org>") == "503 5.5.1 Error: nested MAIL command");
  CHECK(say(t, "RSET") == "250 2.0.0 Ok");
  CHECK(t.phase() == Phase::ready);
  CHECK(t.envelope().local.empty());
  CHECK(code(t, "MAIL FROM:<a@example.org>") == 250);
}

TEST_CASE("syntax errors get 501; unknown parameters 555; unknown commands 500") {
  auto s = make();
  CHECK(say(s, "EHLO") == "501 5.5.4 Syntax: EHLO hostname");
  CHECK(code(s, "EHLO x") == 250);
  CHECK(say(s, "MAIL TO:<a@b.c>") == "501 5.5.4 Syntax: MAIL FROM:<address>");
  CHECK(say(s, "MAIL FROM:<a@b.c") == "501 5.5.4 Missing '>' after the address");
  CHECK(say(s, "MAIL FROM:<not an address>") == "501 5.5.4 Bad address syntax");
  CHECK(say(s, "MAIL FROM:<a@b.c> FOO=1") == "555 5.5.4 Unsupported parameter: FOO");
  CHECK(say(s, "MAIL FROM:<a@b.c> BODY=9BIT") == "501 5.5.4 Bad BODY parameter");
  CHECK(say(s, "MAIL FROM:<a@b.c> SIZE=x") == "501 5.5.4 Bad SIZE parameter");
  CHECK(say(s, "VRFY") == "501 5.5.4 Syntax: VRFY address");
  CHECK(say(s, "VRFY usr@gmail.com").rfind("252 ", 0) == 0);  // never tells whether it exists
  CHECK(say(s, "VRFY nobody@gmail.com").rfind("252 ", 0) == 0);
  CHECK(say(s, "EXPN list") == "502 5.5.1 Error: command not implemented");
  CHECK(say(s, "NOOP anything") == "250 2.0.0 Ok");
  CHECK(say(s, "HELP") == "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA");
  CHECK(say(s, "") == "500 5.5.2 Error: command not recognized");
  CHECK(say(s, "MAIL\tFROM:<a@b.c>") == "500 5.5.2 Error: command not recognized");  // control bytes
  auto step = s.on_line("", true);
  CHECK(step.replies.at(0).code == 500);
  CHECK(step.replies.at(0).lines.at(0) == "5.5.2 Error: line too long");
  CHECK(code(s, "MAIL FROM:<a@b.c> SIZE=100 BODY=8BITMIME") == 250);
  CHECK(s.envelope().eight_bit);
  CHECK(say(s, "RCPT TO:<>") == "501 5.1.3 Bad recipient address syntax");
  CHECK(say(s, "RCPT TO:<usr@gmail.com> NOTIFY=NEVER") == "555 5.5.4 Unsupported parameter: NOTIFY");
}

TEST_CASE("the sender and recipient rules of SPEC.md, in order") {
  SUBCASE("a local sender must exist (550 5.1.0) and may send anywhere") {
    auto s = make();
    CHECK(code(s, "EHLO x") == 250);
    CHECK(say(s, "MAIL FROM:<nobody@gmail.com>") == "550 5.1.0 Sender address rejected: user unknown");
    CHECK(say(s, "MAIL FROM:<usr@GMAIL.com>") == "250 2.1.0 Ok");
    CHECK(s.envelope().submission);
    CHECK(say(s, "RCPT TO:<friend@yahoo.com>") == "250 2.1.5 Ok");
    CHECK(say(s, "RCPT TO:<usr1@mail.sustech.edu.cn>") == "250 2.1.5 Ok");
    CHECK(say(s, "RCPT TO:<ghost@mail.sustech.edu.cn>") == "550 5.1.1 Recipient address rejected: user unknown");
    CHECK(s.envelope().remote == std::vector<std::string>{"friend@yahoo.com"});
    CHECK(s.envelope().local == std::vector<std::string>{"usr1@mail.sustech.edu.cn"});
  }
  SUBCASE("local parts are exact") {
    auto s = make();
    CHECK(code(s, "EHLO x") == 250);
    CHECK(code(s, "MAIL FROM:<Usr@gmail.com>") == 550);
    CHECK(code(s, "MAIL FROM:<bob@gmail.com>") == 550);
    CHECK(code(s, "MAIL FROM:<Bob@gmail.com>") == 250);
  }
  SUBCASE("a remote sender (another server) reaches local accounts only: no open relay") {
    auto s = make();
    CHECK(code(s, "EHLO x") == 250);
    CHECK(code(s, "MAIL FROM:<someone@yahoo.com>") == 250);
    CHECK_FALSE(s.envelope().submission);
    CHECK(say(s, "RCPT TO:<friend@hotmail.com>") == "550 5.7.1 Relay access denied");
    CHECK(say(s, "RCPT TO:<nobody@gmail.com>") == "550 5.1.1 Recipient address rejected: user unknown");
    CHECK(code(s, "RCPT TO:<usr@gmail.com>") == 250);
  }
  SUBCASE("the null sender counts as another server") {
    auto s = make();
    CHECK(code(s, "EHLO x") == 250);
    CHECK(code(s, "MAIL FROM:<>") == 250);
    CHECK(s.envelope().sender.empty());
    CHECK(code(s, "RCPT TO:<friend@hotmail.com>") == 550);
    CHECK(code(s, "RCPT TO:<usr@gmail.com>") == 250);
  }
  SUBCASE("submission_requires_auth: 530 before the account check") {
    auto s = make({}, true);
    CHECK(code(s, "EHLO x") == 250);
    CHECK(say(s, "MAIL FROM:<usr@gmail.com>") == "530 5.7.0 Authentication required");
    CHECK(say(s, "MAIL FROM:<nobody@gmail.com>") == "530 5.7.0 Authentication required");
    CHECK(code(s, "MAIL FROM:<x@yahoo.com>") == 250);  // other servers need no AUTH
  }
  SUBCASE("an authenticated session may only use its own address") {
    auto s = make({}, true);
    s.set_authenticated("usr@gmail.com");
    CHECK(code(s, "EHLO x") == 250);
    CHECK(say(s, "MAIL FROM:<Bob@gmail.com>") == "553 5.7.1 Sender address rejected: not owned by user");
    CHECK(say(s, "MAIL FROM:<usr@gmail.com>") == "250 2.1.0 Ok");
    CHECK(code(s, "RCPT TO:<anyone@yahoo.com>") == 250);
  }
}

TEST_CASE("recipient limit: 452 4.5.3, duplicates count once") {
  Limits l;
  l.recipients = 2;
  auto s = make(l);
  CHECK(code(s, "EHLO x") == 250);
  CHECK(code(s, "MAIL FROM:<usr@gmail.com>") == 250);
  CHECK(code(s, "RCPT TO:<a@yahoo.com>") == 250);
  CHECK(code(s, "RCPT TO:<a@YAHOO.com>") == 250);  // the same remote address (local parts are exact: A@ is another)
  CHECK(code(s, "RCPT TO:<usr@gmail.com>") == 250);
  CHECK(code(s, "RCPT TO:<usr@gmail.com>") == 250);
  CHECK(say(s, "RCPT TO:<b@yahoo.com>") == "452 4.5.3 Error: too many recipients");
  CHECK(s.envelope().recipients() == 2);
}

TEST_CASE("SIZE larger than the limit is refused at MAIL") {
  Limits l;
  l.message_size = 1000;
  auto s = make(l);
  CHECK(code(s, "EHLO x") == 250);
  CHECK(say(s, "MAIL FROM:<a@b.org> SIZE=1001") == "552 5.3.4 Error: message too big");
  CHECK(code(s, "MAIL FROM:<a@b.org> SIZE=1000") == 250);
}

TEST_CASE("too many errors close the session with 421") {
  Limits l;
  l.max_errors = 3;
  auto s = make(l);
  CHECK(code(s, "bad") == 500);
  CHECK(code(s, "bad") == 500);
  CHECK(say(s, "bad") == "500 5.5.2 Error: command not recognized | 421 4.7.0 gmail.com Error: too many errors [close]");
  CHECK(s.phase() == Phase::closed);
  CHECK(s.on_line("NOOP").replies.empty());
}

TEST_CASE("DATA: dot-unstuffing is exact and only CRLF.CRLF ends the message") {
  auto s = make();
  to_data(s);
  auto stored = body(s, {{"Subject: x", Ending::crlf},
                         {"", Ending::crlf},
                         {"..leading dot", Ending::crlf},
                         {"...", Ending::crlf},
                         {"..", Ending::crlf},
                         {"bare lf line", Ending::lf},
                         {"a\rb", Ending::crlf},
                         {".", Ending::lf},  // LF.LF: content, not the end (SMTP smuggling)
                         {"MAIL FROM:<evil@x.org>", Ending::crlf},
                         {".", Ending::crlf},  // after a bare-LF line? no: after a CRLF line, so this ends it
                         {".", Ending::crlf}});
  CHECK(stored == std::vector<std::string>{"Subject: x", "", ".leading dot", "..", ".", "bare lf line", "a\rb", "",
                                           "MAIL FROM:<evil@x.org>"});
  auto step = s.end_of_data();
  CHECK(step.effect == Effect::deliver);
  CHECK(s.data_size() == 10 + 2 + 0 + 2 + 12 + 2 + 2 + 2 + 1 + 2 + 12 + 2 + 3 + 2 + 0 + 2 + 22 + 2);
  auto done = s.on_delivered(std::string("ABC123"));
  CHECK(format(done.replies.at(0)) == "250 2.0.0 Ok: queued as ABC123\r\n");
  CHECK(s.phase() == Phase::ready);
  CHECK(s.envelope().local.empty());
}

TEST_CASE("8-bit octets in the content are noticed, declared with BODY=8BITMIME or not; TLS and AUTH are recorded") {
  for (const bool declared : {false, true}) {
    CAPTURE(declared);
    auto s = make();
    to_data(s, declared ? "<a@example.org> BODY=8BITMIME" : "<a@example.org>");
    CHECK(s.envelope().eight_bit == declared);
    body(s, {{"Subject: x", Ending::crlf}, {"", Ending::crlf}});
    CHECK_FALSE(s.envelope().eight_bit_seen);
    CHECK(s.envelope().body_8bit() == declared);
    body(s, {{"caf\xc3\xa9", Ending::crlf}, {".", Ending::crlf}});
    CHECK(s.envelope().eight_bit_seen);
    CHECK(s.envelope().body_8bit());
    CHECK(s.envelope().eight_bit_unannounced() == !declared);
    CHECK_FALSE(s.envelope().tls);
    CHECK_FALSE(s.envelope().authenticated);
    s.end_of_data();
    s.on_delivered(std::string("ABC"));
    CHECK_FALSE(s.envelope().eight_bit_seen);  // the next transaction starts afresh
    CHECK_FALSE(s.envelope().eight_bit);
  }
  // An implicit-TLS session with AUTH: the envelope says both (the Received field's ESMTPSA).
  ServerSession s({"gmail.com", "127.0.0.1", false, true, true}, {}, kDir);
  REQUIRE(code(s, "EHLO x") == 250);
  s.set_authenticated("usr@gmail.com");
  REQUIRE(code(s, "MAIL FROM:<usr@gmail.com>") == 250);
  CHECK(s.envelope().tls);
  CHECK(s.envelope().authenticated);
}

TEST_CASE("smuggling variants never end DATA early") {
  // Each variant as the line splitter delivers it: (text, ending) pairs, then the real end.
  using V = std::vector<std::pair<std::string, Ending>>;
  const std::vector<std::pair<const char*, V>> variants = {
      {"LF.LF", {{"text", Ending::lf}, {".", Ending::lf}}},
      {"LF.CRLF", {{"text", Ending::lf}, {".", Ending::crlf}}},
      {"CRLF.LF", {{"text", Ending::crlf}, {".", Ending::lf}}},
      {"CR.CR", {{"text\r.\r", Ending::crlf}}},
      {"dot-space", {{"text", Ending::crlf}, {". ", Ending::crlf}}},
  };
  for (const auto& [name, lines] : variants) {
    CAPTURE(std::string(name));
    auto s = make();
    to_data(s);
    for (const auto& [text, ending] : lines) CHECK_FALSE(s.on_data_line(text, ending, false).end);
    CHECK_FALSE(s.on_data_line("MAIL FROM:<evil@x.org>", Ending::crlf, false).end);
    CHECK(s.phase() == Phase::data);
    CHECK(s.on_data_line(".", Ending::crlf, false).end);  // CRLF . CRLF
  }
  auto s = make();
  to_data(s);
  CHECK(s.on_data_line(".", Ending::crlf, false).end);  // right after DATA: an empty message
}

TEST_CASE("DATA over the size limit or with an overlong line: 552 after the end, nothing more stored") {
  Limits l;
  l.message_size = 20;
  auto s = make(l);
  to_data(s);
  CHECK(s.on_data_line("0123456789", Ending::crlf, false).store);  // 12
  CHECK_FALSE(s.on_data_line("0123456789", Ending::crlf, false).store);  // 24 > 20
  CHECK_FALSE(s.on_data_line("more", Ending::crlf, false).store);
  CHECK(s.on_data_line(".", Ending::crlf, false).end);
  CHECK(format(s.end_of_data().replies.at(0)) == "552 5.3.4 Error: message too big\r\n");
  CHECK(s.phase() == Phase::ready);

  auto t = make();
  to_data(t);
  CHECK_FALSE(t.on_data_line("", Ending::lf, true).store);
  CHECK_FALSE(t.on_data_line("after", Ending::crlf, false).store);
  CHECK(t.on_data_line(".", Ending::crlf, false).end);
  CHECK(format(t.end_of_data().replies.at(0)) == "552 5.3.4 Error: message has a line longer than allowed\r\n");
}

TEST_CASE("storage failures are temporary: 451, and the transaction is gone") {
  auto s = make();
  CHECK(code(s, "EHLO x") == 250);
  CHECK(code(s, "MAIL FROM:<a@b.org>") == 250);
  CHECK(code(s, "RCPT TO:<usr@gmail.com>") == 250);
  CHECK(say(s, "DATA") == "[begin_data]");
  CHECK(format(s.on_data_started(false).replies.at(0)) == "451 4.3.0 Error: local storage failure, try again later\r\n");
  CHECK(s.phase() == Phase::ready);
  to_data(s);
  CHECK(s.on_data_line(".", Ending::crlf, false).end);
  CHECK(s.end_of_data().effect == Effect::deliver);
  CHECK(s.on_delivered(fail(Errc::io, "disk full")).replies.at(0).code == 451);
}

TEST_CASE("a pipelined batch gets its replies in order") {
  auto s = make();
  std::vector<int> codes;
  for (const char* l : {"EHLO x", "MAIL FROM:<a@b.org>", "RCPT TO:<usr@gmail.com>", "RCPT TO:<nobody@gmail.com>",
                        "RCPT TO:<usr1@mail.sustech.edu.cn>", "DATA"}) {
    auto step = s.on_line(l);
    for (auto& r : step.replies) codes.push_back(r.code);
    if (step.effect == Effect::begin_data) codes.push_back(s.on_data_started(true).replies.at(0).code);
  }
  CHECK(codes == std::vector<int>{250, 250, 250, 550, 250, 354});
  CHECK(s.phase() == Phase::data);
  CHECK(s.on_line("QUIT").replies.empty());  // in DATA, lines are message content, not commands
}

TEST_CASE("timeout and shutdown say 421 and close") {
  auto s = make();
  auto t = s.on_timeout();
  CHECK(format(t.replies.at(0)) == "421 4.4.2 gmail.com Error: timeout exceeded\r\n");
  CHECK(t.effect == Effect::close);
  auto u = make();
  CHECK(format(u.on_shutdown().replies.at(0)) == "421 4.3.2 gmail.com Service shutting down\r\n");
}

TEST_CASE("a discarded overlong line ended by CRLF lets the next CRLF.CRLF end the data (issue 10, defect 1)") {
  auto s = make();
  to_data(s);
  CHECK(s.on_data_line("Subject: long", Ending::crlf, false).store);
  CHECK(s.on_data_line("", Ending::crlf, false).store);
  CHECK_FALSE(s.on_data_line("", Ending::crlf, true).store);  // the 1001 B's, over [limits] text_line
  CHECK(s.on_data_line(".", Ending::crlf, false).end);
  CHECK(format(s.end_of_data().replies.at(0)) == "552 5.3.4 Error: message has a line longer than allowed\r\n");
  CHECK(s.phase() == Phase::ready);
  CHECK(code(s, "MAIL FROM:<a@example.org>") == 250);  // the session goes on
}

TEST_CASE("without a text_line limit a long line comes in pieces: stored whole, dots only at line starts") {
  Limits l;
  l.message_size = 1000;
  auto s = make(l);
  to_data(s);
  std::string stored;
  auto feed = [&](std::string_view text, bool partial, Ending e = Ending::crlf) {
    auto d = s.on_data_line(text, e, false, partial);
    if (d.store) stored += std::string(d.content) + (d.newline ? "\n" : "");
    return d;
  };
  CHECK_FALSE(feed("..starts", true).end);   // first piece: one dot removed
  CHECK_FALSE(feed(".", true).end);          // a dot inside a line is content, never the end
  CHECK_FALSE(feed(".middle", true).end);
  CHECK_FALSE(feed(".", false).end);         // the line's last piece
  CHECK(s.data_size() == std::string(".starts..middle.").size() + 2);
  CHECK_FALSE(feed("..x", false).end);       // a whole line after it: dot rules again
  CHECK(feed(".", false).end);
  CHECK(stored == ".starts..middle.\n.x\n");
  CHECK(s.end_of_data().effect == Effect::deliver);

  // Pieces count towards message_size like any octet.
  auto t = make(l);
  to_data(t);
  CHECK(t.on_data_line(std::string(600, 'a'), Ending::crlf, false, true).store);
  CHECK_FALSE(t.on_data_line(std::string(600, 'a'), Ending::crlf, false, true).store);
  CHECK_FALSE(t.on_data_line("", Ending::crlf, false, false).store);
  CHECK(t.on_data_line(".", Ending::crlf, false).end);
  CHECK(t.end_of_data().replies.at(0).code == 552);
}

// The event feed's `message` event names the message by its Message-ID (docs/reference.md "Event feed"):
// the core notes it while the header lines go by, and only there.
TEST_CASE("DATA: the Message-ID header is remembered, folded or not, in any case; never from the body") {
  struct Case {
    const char* name;
    std::vector<std::pair<std::string, Ending>> lines;
    const char* msgid;
  };
  const std::vector<Case> cases = {
      {"plain", {{"From: a@example.org", Ending::crlf}, {"Message-ID: <1@x.org>", Ending::crlf}, {"", Ending::crlf},
                 {"body", Ending::crlf}}, "<1@x.org>"},
      {"case and spaces", {{"message-id:   <2@x.org>  ", Ending::crlf}, {"", Ending::crlf}}, "<2@x.org>"},
      {"folded", {{"Message-Id:", Ending::crlf}, {"\t<3@x.org>", Ending::crlf}, {"Subject: s", Ending::crlf}}, "<3@x.org>"},
      {"only in the body", {{"Subject: s", Ending::crlf}, {"", Ending::crlf}, {"Message-ID: <4@x.org>", Ending::crlf}}, ""},
      {"the first of two", {{"Message-ID: <5@x.org>", Ending::crlf}, {"Message-ID: <6@x.org>", Ending::crlf}}, "<5@x.org>"},
      {"none", {{"Subject: s", Ending::crlf}}, ""},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.name));
    auto s = make();
    to_data(s);
    auto lines = c.lines;
    lines.emplace_back(".", Ending::crlf);
    body(s, lines);
    CHECK(s.message_id() == c.msgid);
  }
  // The next transaction starts without the last one's.
  auto s = make();
  to_data(s);
  body(s, {{"Message-ID: <7@x.org>", Ending::crlf}, {".", Ending::crlf}});
  REQUIRE(s.message_id() == "<7@x.org>");
  s.end_of_data();
  s.on_delivered(std::string("id1"));
  REQUIRE(code(s, "MAIL FROM:<a@example.org>") == 250);
  REQUIRE(code(s, "RCPT TO:<usr@gmail.com>") == 250);
  REQUIRE(say(s, "DATA") == "[begin_data]");
  s.on_data_started(true);
  body(s, {{"Subject: none", Ending::crlf}, {".", Ending::crlf}});
  CHECK(s.message_id() == "");
}
