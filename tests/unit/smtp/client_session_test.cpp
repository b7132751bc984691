#include "smtp/client_session.hpp"

#include <doctest/doctest.h>

#include "smtp/dsn.hpp"

using namespace mail::smtp;

namespace {

// A scripted server: each reply is text as a server would send it ("250-a\r\n250 b").
Reply r(const std::string& text) {
  ReplyParser p;
  std::optional<Reply> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find("\r\n", pos);
    out = p.feed(std::string_view(text).substr(pos, end - pos));
    pos = end == std::string::npos ? text.size() : end + 2;
  }
  REQUIRE(out);
  return *out;
}

ClientSession greeted(const std::string& ehlo_reply, std::string peer = "the server") {
  ClientSession c("exmail.qq.com", std::move(peer));
  auto s = c.on_reply(r("220 gmail.com ESMTP"));
  REQUIRE(s.out == "EHLO exmail.qq.com\r\n");
  auto ready = c.on_reply(r(ehlo_reply));
  REQUIRE(ready.event == ClientEvent::ready);
  return c;
}

}  // namespace

TEST_CASE("with PIPELINING: MAIL, every RCPT and DATA in one write; results per recipient") {
  auto c = greeted("250-gmail.com Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME");
  CHECK(c.pipelining());
  CHECK(c.size_limit() == 1000u);
  auto s = c.begin({"usr1@mail.sustech.edu.cn", {"usr@gmail.com", "error@gmail.com"}, 120});
  CHECK(s.out == "MAIL FROM:<usr1@mail.sustech.edu.cn> SIZE=120\r\nRCPT TO:<usr@gmail.com>\r\nRCPT TO:<error@gmail.com>\r\nDATA\r\n");
  CHECK(c.on_reply(r("250 2.1.0 Ok")).event == ClientEvent::none);
  CHECK(c.on_reply(r("250 2.1.5 Ok")).event == ClientEvent::none);
  CHECK(c.on_reply(r("550 5.1.1 no such user")).event == ClientEvent::none);
  CHECK(c.on_reply(r("354 go ahead")).event == ClientEvent::send_body);
  auto done = c.on_reply(r("250 2.0.0 Ok: queued as X"));
  CHECK(done.event == ClientEvent::message_done);
  REQUIRE(c.results().size() == 2);
  CHECK(c.results()[0].reply.code == 250);
  CHECK(std::string(c.results()[0].command) == "end of DATA");
  CHECK(c.results()[1].reply.code == 550);
  CHECK(std::string(c.results()[1].command) == "RCPT TO");
  // The next message on the same connection.
  auto next = c.begin({"", {"usr@gmail.com"}, 10});
  CHECK(next.out.rfind("MAIL FROM:<> SIZE=10\r\n", 0) == 0);
  CHECK(c.quit() == "QUIT\r\n");
}

TEST_CASE("without PIPELINING: one command per reply, RSET when no recipient was taken") {
  auto c = greeted("250 old.example");
  CHECK_FALSE(c.pipelining());
  CHECK_FALSE(c.size_limit());
  CHECK(c.begin({"a@x.org", {"b@y.org", "c@y.org"}, 5}).out == "MAIL FROM:<a@x.org>\r\n");  // no SIZE= unless offered
  CHECK(c.on_reply(r("250 ok")).out == "RCPT TO:<b@y.org>\r\n");
  CHECK(c.on_reply(r("451 4.3.0 try later")).out == "RCPT TO:<c@y.org>\r\n");
  CHECK(c.on_reply(r("550 no")).out == "RSET\r\n");
  auto done = c.on_reply(r("250 reset"));
  CHECK(done.event == ClientEvent::message_done);
  CHECK(c.results()[0].reply.code == 451);
  CHECK(c.results()[1].reply.code == 550);

  CHECK(c.begin({"a@x.org", {"b@y.org"}, 5}).out == "MAIL FROM:<a@x.org>\r\n");
  CHECK(c.on_reply(r("250 ok")).out == "RCPT TO:<b@y.org>\r\n");
  CHECK(c.on_reply(r("250 ok")).out == "DATA\r\n");
  CHECK(c.on_reply(r("354 go")).event == ClientEvent::send_body);
  CHECK(c.on_reply(r("554 5.7.1 spam")).event == ClientEvent::message_done);
  CHECK(c.results()[0].reply.code == 554);
  CHECK(std::string(c.results()[0].command) == "end of DATA");
}

TEST_CASE("a 2xx reply to DATA instead of 354 delivers nothing: the connection is of no more use") {
  // Found by fuzz_smtp_reply: "250" to DATA marked the recipients delivered without sending the body.
  for (const char* ehlo : {"250 old.example", "250-gmail.com\r\n250 PIPELINING"}) {
    CAPTURE(ehlo);
    auto c = greeted(ehlo);
    c.begin({"a@x.org", {"b@y.org"}, 5});
    if (!c.pipelining()) {
      CHECK(c.on_reply(r("250 ok")).out == "RCPT TO:<b@y.org>\r\n");
      CHECK(c.on_reply(r("250 ok")).out == "DATA\r\n");
    } else {
      CHECK(c.on_reply(r("250 ok")).event == ClientEvent::none);
      CHECK(c.on_reply(r("250 ok")).event == ClientEvent::none);
    }
    auto s = c.on_reply(r("250 2.0.0 Ok: queued"));  // the reply to DATA
    CHECK(s.event == ClientEvent::failed);
    for (const auto& res : c.results()) CHECK_FALSE(res.reply.positive());
  }
}

TEST_CASE("a refused MAIL decides every recipient; with pipelining the rest of the replies are read") {
  auto plain = greeted("250 x");
  plain.begin({"a@x.org", {"b@y.org"}, 5});
  auto done = plain.on_reply(r("553 5.7.1 sender rejected"));
  CHECK(done.event == ClientEvent::message_done);
  CHECK(plain.results()[0].reply.code == 553);
  CHECK(std::string(plain.results()[0].command) == "MAIL FROM");

  auto piped = greeted("250-x\r\n250 PIPELINING");
  piped.begin({"a@x.org", {"b@y.org"}, 5});
  CHECK(piped.on_reply(r("553 no")).event == ClientEvent::none);
  CHECK(piped.on_reply(r("503 need MAIL")).event == ClientEvent::none);
  CHECK(piped.on_reply(r("503 need RCPT")).event == ClientEvent::message_done);
  CHECK(piped.results()[0].reply.code == 553);
}

TEST_CASE("EHLO refused: HELO; greeting refused or HELO refused: the connection is useless") {
  ClientSession c("me");
  c.on_reply(r("220 hi"));
  CHECK(c.on_reply(r("502 no EHLO here")).out == "HELO me\r\n");
  CHECK(c.on_reply(r("250 ok")).event == ClientEvent::ready);
  ClientSession busy("me");
  CHECK(busy.on_reply(r("421 4.3.2 too busy")).event == ClientEvent::failed);
  CHECK(busy.failure().code == 421);
  ClientSession temp("me");
  temp.on_reply(r("220 hi"));
  CHECK(temp.on_reply(r("421 closing")).event == ClientEvent::failed);
}

TEST_CASE("a message larger than the server's SIZE is refused here, before sending anything; the bounce says so") {
  auto c = greeted("250-x\r\n250 SIZE 100", "host mx.y.org[10.0.0.1]:25");
  auto s = c.begin({"a@x.org", {"b@y.org"}, 101});
  CHECK(s.out.empty());
  CHECK(s.event == ClientEvent::message_done);
  REQUIRE(c.results().size() == 1);
  CHECK(c.results()[0].local);
  // Our own finding (no server said anything): no code, no remote MTA, no command it answered.
  auto o = outcome_of(c.results()[0], "mx.y.org[10.0.0.1]:25", "none");
  CHECK(o.permanent());
  CHECK(o.code == 0);
  CHECK(o.mta.empty());
  CHECK(o.command.empty());
  CHECK(o.line() == "5.3.4 message size 101 exceeds the size limit 100 announced by host mx.y.org[10.0.0.1]:25");
  DsnInput in{"me.example", "a@x.org", "Q1", 0, 0, "B1@me.example", "=_B", {{"b@y.org", o}}, "Subject: hi\n"};
  auto m = build_dsn(in);
  CHECK(m.find("<b@y.org>: 5.3.4 message size 101 exceeds the size limit 100 announced by host mx.y.org[10.0.0.1]:25\n") !=
        std::string::npos);
  CHECK(m.find("said:") == std::string::npos);
  CHECK(m.find("in reply to") == std::string::npos);
  CHECK(m.find("Remote-MTA") == std::string::npos);
  CHECK(m.find("Status: 5.3.4\nDiagnostic-Code: x-mailworld; 5.3.4 message size 101") != std::string::npos);
  // Within the limit: MAIL goes out with SIZE=, and a server's reply stays the server's.
  auto ok = c.begin({"a@x.org", {"b@y.org"}, 100});
  CHECK(ok.out == "MAIL FROM:<a@x.org> SIZE=100\r\n");
  c.on_reply(r("552 5.3.4 too big after all"));
  auto theirs = outcome_of(c.results()[0], "mx.y.org[10.0.0.1]:25", "none");
  CHECK_FALSE(c.results()[0].local);
  CHECK(theirs.line() == "552 5.3.4 too big after all");
  CHECK(theirs.mta == "mx.y.org[10.0.0.1]:25");
  CHECK(theirs.command == "MAIL FROM");
  CHECK(theirs.tls == "none");
}

TEST_CASE("BODY=8BITMIME with 8-bit content when the server offers 8BITMIME (RFC 6152); else the message goes as is") {
  struct Row {
    const char* ehlo;
    bool eight_bit;
    const char* mail;
  };
  const Row rows[] = {
      {"250-x\r\n250 8BITMIME", true, "MAIL FROM:<a@x.org> BODY=8BITMIME\r\n"},
      {"250-x\r\n250-SIZE 1000\r\n250 8bitmime", true, "MAIL FROM:<a@x.org> SIZE=5 BODY=8BITMIME\r\n"},
      {"250-x\r\n250 8BITMIME", false, "MAIL FROM:<a@x.org>\r\n"},
      {"250 x", true, "MAIL FROM:<a@x.org>\r\n"},  // not offered: sent anyway, as Postfix does by default
  };
  for (const auto& row : rows) {
    CAPTURE(row.ehlo);
    CAPTURE(row.eight_bit);
    auto c = greeted(row.ehlo);
    CHECK(c.begin({"a@x.org", {"b@y.org"}, 5, row.eight_bit}).out == row.mail);
  }
  // STARTTLS: what the server offered before is forgotten.
  auto c = greeted("250-x\r\n250-8BITMIME\r\n250 STARTTLS");
  c.starttls();
  REQUIRE(c.on_reply(r("220 go ahead")).event == ClientEvent::tls);
  c.restart();
  REQUIRE(c.on_reply(r("250 x")).event == ClientEvent::ready);
  CHECK(c.begin({"a@x.org", {"b@y.org"}, 5, true}).out == "MAIL FROM:<a@x.org>\r\n");
}

TEST_CASE("DSN: status codes and the three parts of a bounce") {
  CHECK(status_of("550 5.1.1 no such user") == "5.1.1");
  CHECK(status_of("5.4.6 too many hops") == "5.4.6");
  CHECK(status_of("550 rejected") == "5.0.0");
  CHECK(status_of("451 later") == "4.0.0");
  CHECK(status_of("550 5.1 odd") == "5.0.0");
  DsnInput in{"exmail.qq.com", "usr1@mail.sustech.edu.cn", "Q1", 0, 86400, "B1@exmail.qq.com", "=_B",
              {{"error@gmail.com", "gmail-smtp-in.l.google.com[127.0.0.1]:2025", "550 5.1.1 user unknown", "RCPT TO"},
               {"x@nowhere.example", "", "5.1.2 Host or domain name not found", ""}},
              "Subject: hi\nFrom: usr1@mail.sustech.edu.cn\n"};
  auto m = build_dsn(in);
  CHECK(m.rfind("From: Mail Delivery System <MAILER-DAEMON@exmail.qq.com>\nTo: <usr1@mail.sustech.edu.cn>\n", 0) == 0);
  CHECK(m.find("Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"=_B\"\n") != std::string::npos);
  CHECK(m.find("<error@gmail.com>: host gmail-smtp-in.l.google.com[127.0.0.1]:2025 said: 550 5.1.1 user unknown "
               "(in reply to RCPT TO command)\n") != std::string::npos);
  CHECK(m.find("Final-Recipient: rfc822; error@gmail.com\nOriginal-Recipient: rfc822; error@gmail.com\nAction: failed\n"
               "Status: 5.1.1\nRemote-MTA: dns; gmail-smtp-in.l.google.com\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\n") !=
        std::string::npos);
  CHECK(m.find("Status: 5.1.2\nDiagnostic-Code: x-mailworld; 5.1.2 Host or domain name not found\n") != std::string::npos);
  CHECK(m.find("Content-Type: text/rfc822-headers\n\nSubject: hi\nFrom: usr1@mail.sustech.edu.cn\n\n--=_B--\n") != std::string::npos);
  CHECK(m.find("Date: Fri, 02 Jan 1970 00:00:00 +0000\n") != std::string::npos);
}

TEST_CASE("a cached session is checked with RSET before its next message: 250 ready, else of no more use") {
  auto c = greeted("250-gmail.com Hello\r\n250 PIPELINING");
  auto s = c.begin({"a@qq.com", {"b@gmail.com"}, 10});
  c.on_reply(r("250 2.1.0 Ok"));
  c.on_reply(r("250 2.1.5 Ok"));
  CHECK(c.on_reply(r("354 go")).event == ClientEvent::send_body);
  CHECK(c.on_reply(r("250 2.0.0 queued")).event == ClientEvent::message_done);
  CHECK(c.reset() == "RSET\r\n");
  CHECK(c.on_reply(r("250 2.0.0 Ok")).event == ClientEvent::ready);
  CHECK(c.pipelining());  // what EHLO said still holds
  CHECK(c.begin({"a@qq.com", {"c@gmail.com"}, 10}).out.starts_with("MAIL FROM:<a@qq.com>"));

  auto gone = greeted("250 gmail.com");
  CHECK(gone.reset() == "RSET\r\n");
  CHECK(gone.on_reply(r("421 4.4.2 gmail.com Error: timeout exceeded")).event == ClientEvent::failed);
  CHECK(gone.failure().code == 421);
}
