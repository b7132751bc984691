#include "smtp/outcome.hpp"

#include <doctest/doctest.h>

#include "smtp/dsn.hpp"

using namespace mail::smtp;

TEST_CASE("an outcome reads a reply line and quotes it back the same") {
  struct Row {
    const char* line;
    int code;
    const char* enhanced;
    const char* mta;
    const char* command;
    const char* text;
    const char* back;  // line(): what logs and bounces quote
    const char* status;
    bool positive, permanent;
  };
  const Row rows[] = {
      {"250 2.0.0 Ok: queued as X", 250, "2.0.0", "", "", "Ok: queued as X", "250 2.0.0 Ok: queued as X", "2.0.0", true, false},
      {"451 4.3.0 try later", 451, "4.3.0", "", "", "try later", "451 4.3.0 try later", "4.3.0", false, false},
      {"451 later", 451, "", "", "", "later", "451 later", "4.0.0", false, false},
      {"550 rejected", 550, "", "", "", "rejected", "550 rejected", "5.0.0", false, true},
      {"550 5.1 odd", 550, "", "", "", "5.1 odd", "550 5.1 odd", "5.0.0", false, true},
      {"550 5.1.1", 550, "5.1.1", "", "", "", "550 5.1.1", "5.1.1", false, true},
      {"h[1.2.3.4]:25|RCPT TO|550 5.1.1 no such user", 550, "5.1.1", "h[1.2.3.4]:25", "RCPT TO", "no such user",
       "550 5.1.1 no such user", "5.1.1", false, true},
      {"5.1.2 Host or domain name not found: x (NXDOMAIN)", 0, "5.1.2", "", "", "Host or domain name not found: x (NXDOMAIN)",
       "5.1.2 Host or domain name not found: x (NXDOMAIN)", "5.1.2", false, true},
      {"4.4.1 connect to h[1.2.3.4]:25: refused", 0, "4.4.1", "", "", "connect to h[1.2.3.4]:25: refused",
       "4.4.1 connect to h[1.2.3.4]:25: refused", "4.4.1", false, false},
      {"421 4.3.2 busy (from h)", 421, "4.3.2", "", "", "busy (from h)", "421 4.3.2 busy (from h)", "4.3.2", false, false},
      {"0 connection closed (from h)", 0, "", "", "", "0 connection closed (from h)", "0 connection closed (from h)", "5.0.0",
       false, false},
      {"", 0, "", "", "", "", "", "5.0.0", false, false},
  };
  for (const auto& r : rows) {
    CAPTURE(r.line);
    auto o = Outcome::parse(r.line);
    CHECK(o.code == r.code);
    CHECK(o.enhanced == r.enhanced);
    CHECK(o.mta == r.mta);
    CHECK(o.command == r.command);
    CHECK(o.text == r.text);
    CHECK(o.line() == r.back);
    CHECK(o.status() == r.status);
    CHECK(o.positive() == r.positive);
    CHECK(o.permanent() == r.permanent);
    CHECK(status_of(r.line) == r.status);
    CHECK(Outcome(r.line) == o);  // a literal converts through the same parser
  }
  CHECK(Outcome("").empty());
  CHECK_FALSE(Outcome("250 ok").empty());
}

TEST_CASE("an outcome from a server's reply keeps who said it, to what, over what") {
  Reply r{550, {"5.1.1 user unknown", "5.1.1 try another"}};
  auto o = Outcome::from_reply(r, "mx[127.0.0.1]:2025", "RCPT TO", "TLSv1.3 X");
  CHECK(o.code == 550);
  CHECK(o.enhanced == "5.1.1");
  CHECK(o.text == "user unknown; 5.1.1 try another");
  CHECK(o.line() == "550 " + r.text());  // as the relay always logged a reply: code, then every line
  CHECK(o.mta == "mx[127.0.0.1]:2025");
  CHECK(o.command == "RCPT TO");
  CHECK(o.tls == "TLSv1.3 X");
  CHECK(o.permanent());
  // A reply without a status, and the stand-in for a connection closed before any reply.
  CHECK(Outcome::from_reply(reply(451, "later"), "m", "DATA", "none").line() == "451 later");
  CHECK(Outcome::from_reply(reply(0, "connection closed"), "m", "", "").line() == "0 connection closed");
  // Ours: no code, the status says temporary or permanent.
  auto ours = Outcome::ours("5.4.6", "loop");
  CHECK(ours.line() == "5.4.6 loop");
  CHECK(ours.permanent());
  CHECK_FALSE(Outcome::ours("4.4.7", "late").permanent());
}

TEST_CASE("enhanced status codes: class 2, 4 or 5, one to three digits twice, then a space or the end") {
  CHECK(enhanced_status_length("5.1.1 x") == 5);
  CHECK(enhanced_status_length("2.0.0") == 5);
  CHECK(enhanced_status_length("4.123.456 x") == 9);
  CHECK(enhanced_status_length("3.1.1 x") == 0);
  CHECK(enhanced_status_length("5.1.1234 x") == 0);
  CHECK(enhanced_status_length("5.1 x") == 0);
  CHECK(enhanced_status_length("5..1 x") == 0);
  CHECK(enhanced_status_length("5.1.1x") == 0);
  CHECK(enhanced_status_length("") == 0);
}

TEST_CASE("a DSN takes the outcome as is: status, remote MTA and command from its fields") {
  Outcome o;  // no text to parse a status from: the fields say everything
  o.code = 552;
  o.enhanced = "5.3.4";
  o.mta = "mx.example[10.0.0.1]:25";
  o.command = "end of DATA";
  o.text = "message too big";
  DsnInput in{"me.example", "a@me.example", "Q", 0, 0, "B@me.example", "=_b", {{"x@example", o}}, ""};
  auto m = build_dsn(in);
  CHECK(m.find("<x@example>: host mx.example[10.0.0.1]:25 said: 552 5.3.4 message too big (in reply to end of DATA "
               "command)\n") != std::string::npos);
  CHECK(m.find("Status: 5.3.4\nRemote-MTA: dns; mx.example\nDiagnostic-Code: smtp; 552 5.3.4 message too big\n") !=
        std::string::npos);
  o.enhanced = "";  // a server without enhanced status codes: the class of its code
  DsnInput plain{"me.example", "a@me.example", "Q", 0, 0, "B@me.example", "=_b", {{"x@example", o}}, ""};
  CHECK(build_dsn(plain).find("Status: 5.0.0\n") != std::string::npos);
}
