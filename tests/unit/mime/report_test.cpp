// Delivery reports read back (RFC 3464, RFC 6522): the fields of message/delivery-status and the returned
// headers, from what smtp::build_dsn writes, from other MTAs' forms, and from hostile input.
#include "mime/report.hpp"

#include <doctest/doctest.h>

#include "mime/message.hpp"
#include "smtp/dsn.hpp"

using namespace mail;
using namespace mail::mime;

namespace {

std::string crlf(std::string_view lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

smtp::DsnInput bounce_input() {
  smtp::DsnInput in;
  in.reporting_mta = "exmail.qq.com";
  in.original_sender = "usr1@mail.sustech.edu.cn";
  in.queue_id = "Q1";
  in.arrival = 1795316797;
  in.now = 1795316800;
  in.message_id = "b.1@exmail.qq.com";
  in.boundary = "=_dsn_1";
  in.failed.emplace_back("error@gmail.com", "gmail-smtp-in.l.google.com[127.0.0.1]", "550 5.1.1 no such user", "RCPT TO");
  in.failed.emplace_back("x@nowhere.example", "", "5.1.2 domain not found", "");
  in.original_headers = "From: usr1@mail.sustech.edu.cn\nTo: error@gmail.com\nSubject: to\n nobody\n";
  return in;
}

}  // namespace

TEST_CASE("a bounce from smtp::build_dsn reads back: text, every recipient's fields, the returned headers") {
  auto p = parse(crlf(smtp::build_dsn(bounce_input())));
  CHECK(p.subject == "Undelivered Mail Returned to Sender");
  CHECK(p.text.find("It's attached below.\n\n<error@gmail.com>: host gmail-smtp-in.l.google.com[127.0.0.1] said: "
                    "550 5.1.1 no such user (in reply to RCPT TO command)\n") != std::string::npos);
  REQUIRE(p.delivery_status.has_value());
  const auto& ds = *p.delivery_status;
  CHECK(ds.reporting_mta == "exmail.qq.com");
  CHECK(ds.arrival_date == "Sun, 22 Nov 2026 03:06:37 +0000");
  REQUIRE(ds.recipients.size() == 2);
  CHECK(ds.recipients[0].recipient == "error@gmail.com");
  CHECK(ds.recipients[0].original_recipient == "error@gmail.com");
  CHECK(ds.recipients[0].action == "failed");
  CHECK(ds.recipients[0].status == "5.1.1");
  CHECK(ds.recipients[0].remote_mta == "gmail-smtp-in.l.google.com");
  CHECK(ds.recipients[0].diagnostic == "smtp; 550 5.1.1 no such user");
  CHECK(ds.recipients[1].recipient == "x@nowhere.example");
  CHECK(ds.recipients[1].status == "5.1.2");
  CHECK(ds.recipients[1].remote_mta.empty());
  CHECK(ds.recipients[1].diagnostic == "x-mailworld; 5.1.2 domain not found");
  CHECK(ds.problems.empty());
  CHECK(p.returned_headers ==
        Fields{{"From", "usr1@mail.sustech.edu.cn"}, {"To", "error@gmail.com"}, {"Subject", "to nobody"}});
  CHECK(p.attachments.empty());
  CHECK(p.problems.empty());
}

TEST_CASE("an ordinary message has no delivery status and no returned headers") {
  auto p = parse("From: a@b.c\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\n"
                 "hi\r\n--x\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: z@y\r\n--x--\r\n");
  CHECK(!p.delivery_status.has_value());
  CHECK(p.returned_headers.empty());
  CHECK(p.text == "hi\n");
}

TEST_CASE("another MTA's report: folded fields, Last-Attempt-Date, the whole message returned as message/rfc822") {
  std::string raw =
      "From: MAILER-DAEMON@mx.example\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
      "--B\nContent-Type: text/plain\n\nsorry\n"
      "--B\nContent-Type: message/delivery-status\n\n"
      "Reporting-MTA: dns; mx.example\nX-Postfix-Queue-ID: 4F\n\n"
      "Final-Recipient: rfc822;bob@b.example\nAction: failed\nStatus: 5.2.2\nRemote-MTA: dns; mx.b.example\n"
      "Diagnostic-Code: smtp; 552-5.2.2 mailbox full\n\t552 5.2.2 try later\nLast-Attempt-Date: Tue, 1 Dec 2026 06:00:00 +0000\n"
      "--B\nContent-Type: message/rfc822\n\nFrom: a@a.example\nSubject: hi\n there\n\nthe body is not headers\n--B--\n";
  auto p = parse(crlf(raw));
  REQUIRE(p.delivery_status.has_value());
  REQUIRE(p.delivery_status->recipients.size() == 1);
  const auto& r = p.delivery_status->recipients[0];
  CHECK(r.recipient == "bob@b.example");
  CHECK(r.original_recipient.empty());
  CHECK(r.diagnostic == "smtp; 552-5.2.2 mailbox full 552 5.2.2 try later");
  CHECK(r.last_attempt == "Tue, 1 Dec 2026 06:00:00 +0000");
  CHECK(p.returned_headers == Fields{{"From", "a@a.example"}, {"Subject", "hi there"}});
  CHECK(p.text == "sorry\n");
}

TEST_CASE("missing fields are problems, and the rest is still read") {
  auto ds = parse_delivery_status("Reporting-MTA: dns; a\n\nAction: failed\nStatus: 5.0.0\n\n"
                                  "Original-Recipient: rfc822; o@x\nFinal-Recipient: rfc822; f@x\n");
  REQUIRE(ds.recipients.size() == 2);
  CHECK(ds.recipients[0].recipient.empty());
  CHECK(ds.recipients[0].status == "5.0.0");
  CHECK(ds.recipients[1].recipient == "f@x");
  CHECK(ds.recipients[1].original_recipient == "o@x");
  CHECK(ds.problems == std::vector<std::string>{"recipient 1: no Final-Recipient", "recipient 2: no Action",
                                                "recipient 2: no Status"});
  auto empty = parse_delivery_status("");
  CHECK(empty.recipients.empty());
  CHECK(empty.problems == std::vector<std::string>{"no Reporting-MTA", "no recipient"});
}

TEST_CASE("hostile delivery status: lines that are not fields, a leading continuation, blank runs, CRLF") {
  auto ds = parse_delivery_status("\r\n\r\n  folded first\r\nReporting-MTA: dns; a\r\nno colon here\r\n:empty name\r\n"
                                  "\r\n\r\n\r\nFinal-Recipient: rfc822; f@x\r\n Action: failed\r\nStatus:5.1.1\r\n");
  CHECK(ds.reporting_mta == "a");
  REQUIRE(ds.recipients.size() == 1);
  CHECK(ds.recipients[0].recipient == "f@x Action: failed");  // a folded line belongs to the field before it
  CHECK(ds.recipients[0].status == "5.1.1");
  CHECK(ds.problems == std::vector<std::string>{"line 3: a continuation with no field before it",
                                                "line 5: not a field", "line 6: not a field", "recipient 1: no Action"});
}

TEST_CASE("bounded: many recipients, many bad lines, many fields") {
  std::string many = "Reporting-MTA: dns; a\n";
  for (int i = 0; i < 1000; ++i) many += "\nFinal-Recipient: rfc822; r" + std::to_string(i) + "@x\nAction: failed\nStatus: 5.0.0\n";
  auto ds = parse_delivery_status(many);
  CHECK(ds.recipients.size() == kMaxRecipients);
  CHECK(ds.recipients.back().recipient == "r99@x");
  CHECK(ds.problems == std::vector<std::string>{"more than 100 recipients; the rest not listed"});

  std::string junk = "Reporting-MTA: dns; a\n";
  for (int i = 0; i < 1000; ++i) junk += "junk\n";
  auto bad = parse_delivery_status(junk);
  CHECK(bad.problems.size() == kMaxProblems + 1);
  CHECK(bad.problems.back() == "more problems not listed");

  std::string fields;
  for (int i = 0; i < 1000; ++i) fields += "X-F" + std::to_string(i) + ": v\n";
  std::vector<std::string> problems;
  auto f = read_fields(fields, problems);
  CHECK(f.size() == kMaxFields);
  CHECK(problems == std::vector<std::string>{"more than 200 fields; the rest not read"});

  std::string_view rest;
  std::vector<std::string> none;
  CHECK(read_fields("A: 1\n\nB: 2\n", none, &rest) == Fields{{"A", "1"}});
  CHECK(rest == "B: 2\n");
  CHECK(none.empty());
}

TEST_CASE("failed_recipient: the failed group of one address, compared as a mailbox; delayed is not a bounce") {
  auto p = parse(crlf(smtp::build_dsn(bounce_input())));
  REQUIRE(p.delivery_status.has_value());
  const auto* r = failed_recipient(*p.delivery_status, "error@GMAIL.com");
  REQUIRE(r != nullptr);
  CHECK(r->status == "5.1.1");
  CHECK(failed_recipient(*p.delivery_status, "x@nowhere.example.")->status == "5.1.2");
  CHECK(failed_recipient(*p.delivery_status, "Error@gmail.com") == nullptr);  // local parts compare exactly
  CHECK(failed_recipient(*p.delivery_status, "usr1@mail.sustech.edu.cn") == nullptr);
  auto delayed = parse_delivery_status("Reporting-MTA: dns; a\n\nFinal-Recipient: rfc822; d@x.org\nAction: delayed\n"
                                       "Status: 4.4.1\n");
  CHECK(failed_recipient(delayed, "d@x.org") == nullptr);
  auto failed = parse_delivery_status("Reporting-MTA: dns; a\n\nFinal-Recipient: rfc822; d@x.org\nAction: Failed\n"
                                      "Status: 5.0.0\n");
  CHECK(failed_recipient(failed, "d@x.org") != nullptr);
}
