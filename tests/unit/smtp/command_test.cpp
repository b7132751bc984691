#include "smtp/command.hpp"

#include <doctest/doctest.h>

#include "smtp/reply.hpp"
#include "smtp/trace.hpp"

using namespace mail::smtp;

TEST_CASE("parse_command splits verb and argument") {
  auto c = parse_command("mail FROM:<a@b.c>  ");
  CHECK(c.verb == Verb::mail);
  CHECK(c.name == "mail");
  CHECK(c.arg == "FROM:<a@b.c>");
  CHECK(parse_command("QUIT").verb == Verb::quit);
  CHECK(parse_command("QUIT").arg.empty());
  CHECK(parse_command("MAILX").verb == Verb::unknown);
}

TEST_CASE("paths: brackets, spaces, source routes, parameters") {
  std::string why;
  auto p = parse_path("FROM:<a@b.c> SIZE=12 body=8bitmime", "FROM", why);
  REQUIRE(p);
  CHECK(p->address == "a@b.c");
  REQUIRE(p->params.size() == 2);
  CHECK(p->params[0] == std::pair<std::string, std::string>{"SIZE", "12"});
  CHECK(p->params[1] == std::pair<std::string, std::string>{"BODY", "8bitmime"});
  CHECK(parse_path("from: <a@b.c>", "FROM", why)->address == "a@b.c");
  CHECK(parse_path("FROM:a@b.c", "FROM", why)->address == "a@b.c");
  CHECK(parse_path("FROM:<>", "FROM", why)->address.empty());
  CHECK(parse_path("TO:<@relay.x,@r2.y:u@h.z>", "TO", why)->address == "u@h.z");
  CHECK(parse_path("TO:<\"odd > name\"@x.org>", "TO", why)->address == "\"odd > name\"@x.org");
  CHECK_FALSE(parse_path("TO <a@b.c>", "TO", why));
  CHECK_FALSE(parse_path("TO:<a@b.c", "TO", why));
  CHECK_FALSE(parse_path("TO:<a b@c.d>", "TO", why));
}

TEST_CASE("mailbox syntax of RFC 5321 4.1.2") {
  for (const char* good : {"a@b.c", "first.last@example.com", "x+tag@mail.sustech.edu.cn", "\"a b\"@x.org",
                           "u@[127.0.0.1]", "u@[IPv6:::1]", "o'neil@x-y.org", "usr1@mail.sustech.edu.cn"}) {
    CAPTURE(good);
    CHECK(valid_mailbox(good));
  }
  for (const char* bad : {"", "a", "a@", "@b.c", ".a@b.c", "a.@b.c", "a..b@c.d", "a@-b.c", "a@b-.c", "a@b..c",
                          "a b@c.d", "a@[1.2.3]", "a@b_c.d", "\"unterminated@x.org"}) {
    CAPTURE(bad);
    CHECK_FALSE(valid_mailbox(bad));
  }
  CHECK_FALSE(valid_mailbox(std::string(65, 'a') + "@b.c"));  // local part > 64 octets
  CHECK(domain_of("a@B.c") == "B.c");
}

TEST_CASE("replies: formatting and the parser the client side shares") {
  CHECK(format(reply(250, "2.0.0 Ok")) == "250 2.0.0 Ok\r\n");
  CHECK(format(Reply{250, {"a", "b", "c"}}) == "250-a\r\n250-b\r\n250 c\r\n");
  ReplyParser p;
  CHECK_FALSE(p.feed("250-mail.example Hello"));
  CHECK_FALSE(p.feed("250-PIPELINING"));
  auto r = p.feed("250 SIZE 1000");
  REQUIRE(r);
  CHECK(r->code == 250);
  CHECK(r->lines == std::vector<std::string>{"mail.example Hello", "PIPELINING", "SIZE 1000"});
  auto bare = p.feed("354");
  REQUIRE(bare);
  CHECK(bare->code == 354);
  CHECK_FALSE(p.feed("hello"));
  CHECK(p.error());
  CHECK_FALSE(p.feed("250-a"));
  CHECK_FALSE(p.feed("251 b"));  // a code change inside a reply
  CHECK(p.error());
  CHECK(p.feed("550 5.1.1 no")->permanent());
}

TEST_CASE("a reply with endless continuation lines keeps a bounded number of them (relay memory)") {
  ReplyParser p;
  for (int i = 0; i < 100000; ++i) REQUIRE_FALSE(p.feed("250-line " + std::to_string(i)));
  auto r = p.feed("250 last");
  REQUIRE(r);
  CHECK(r->code == 250);
  CHECK(r->lines.size() <= 100);
  CHECK(r->lines.front() == "line 0");
  auto next = p.feed("221 bye");  // the parser goes on normally
  REQUIRE(next);
  CHECK(next->lines == std::vector<std::string>{"bye"});
}

TEST_CASE("the Received trace field of RFC 5321 4.4") {
  TraceInfo t{"client.example", "127.0.0.1", "gmail.com", true, "ABC", "usr@gmail.com", 1795316797};
  CHECK(received_header(t) ==
        "Received: from client.example ([127.0.0.1])\n\tby gmail.com (mailworld) with ESMTP id ABC\n"
        "\tfor <usr@gmail.com>; Sun, 22 Nov 2026 03:06:37 +0000\n");
  t.esmtp = false;
  t.for_address.clear();
  CHECK(received_header(t) ==
        "Received: from client.example ([127.0.0.1])\n\tby gmail.com (mailworld) with SMTP id ABC; "
        "Sun, 22 Nov 2026 03:06:37 +0000\n");
  CHECK(return_path_header("") == "Return-Path: <>\n");
  CHECK(local_received_header("gmail.com", "B1", 0) == "Received: by gmail.com (mailworld) id B1; Thu, 01 Jan 1970 00:00:00 +0000\n");
  CHECK(rfc5322_date(0) == "Thu, 01 Jan 1970 00:00:00 +0000");
}

TEST_CASE("Received: the protocol of RFC 3848 (ESMTPS over TLS, ESMTPA authenticated, ESMTPSA both)") {
  struct Row {
    bool esmtp, tls, authenticated;
    const char* with;
  };
  const Row rows[] = {
      {false, false, false, " with SMTP id"},   {true, false, false, " with ESMTP id"},
      {true, true, false, " with ESMTPS id"},    {true, false, true, " with ESMTPA id"},
      {true, true, true, " with ESMTPSA id"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.with);
    TraceInfo t{"client.example", "127.0.0.1", "gmail.com", r.esmtp, "ABC", "", 0};
    t.tls = r.tls;
    t.authenticated = r.authenticated;
    CHECK(received_header(t).find(r.with) != std::string::npos);
  }
}
