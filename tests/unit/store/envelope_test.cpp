#include "store/envelope.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "smtp/dsn.hpp"

using namespace mail;
using namespace mail::store;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

// data/v1_envelope.json was written by the mailsrv before issue 11 (version 1): one recipient
// delivered, one refused at RCPT by gmail.com, one deferred (its host refused the connection).
TEST_CASE("a version-1 envelope written by the previous mailsrv loads with structured outcomes") {
  auto text = slurp(MW_UNIT_DATA "/v1_envelope.json");
  REQUIRE(text.find("\"version\": 1") != std::string::npos);
  auto env = envelope_from_json(text);
  REQUIRE(env);
  REQUIRE(env->recipients.size() == 3);
  const auto& sent = env->recipients[0].last_reply;
  CHECK(env->recipients[0].state == RcptState::delivered);
  CHECK(sent.code == 250);
  CHECK(sent.enhanced == "2.0.0");
  CHECK(sent.text.rfind("Ok: queued as ", 0) == 0);
  const auto& failed = env->recipients[1].last_reply;
  CHECK(env->recipients[1].state == RcptState::failed);
  CHECK(failed.code == 550);
  CHECK(failed.enhanced == "5.1.1");
  CHECK(failed.mta.rfind("gmail-smtp-in.l.google.com[127.0.0.1]:", 0) == 0);
  CHECK(failed.command == "RCPT TO");
  CHECK(failed.text == "Recipient address rejected: user unknown");
  const auto& later = env->recipients[2].last_reply;
  CHECK(env->recipients[2].state == RcptState::pending);
  CHECK(env->recipients[2].attempts == 1);
  CHECK(later.code == 0);
  CHECK(later.enhanced == "4.4.1");
  CHECK(later.text.rfind("connect to mx.down.example[127.0.0.1]:", 0) == 0);
  CHECK_FALSE(later.permanent());

  // The bounce says what the old one said for it.
  smtp::DsnInput in{"exmail.qq.com", env->sender, env->id, env->received, env->received, "B@x", "=_b",
                    {{env->recipients[1].address, failed}}, ""};
  auto m = smtp::build_dsn(in);
  CHECK(m.find("<error@gmail.com>: host " + failed.mta + " said: 550 5.1.1 Recipient address rejected: user unknown "
               "(in reply to RCPT TO command)\n") != std::string::npos);
  CHECK(m.find("Status: 5.1.1\nRemote-MTA: dns; gmail-smtp-in.l.google.com\n") != std::string::npos);

  // Written again it is version 2, with each outcome an object, and reads back the same.
  auto v2 = to_json(*env);
  CHECK(v2.find("\"version\": 2") != std::string::npos);
  CHECK(v2.find("\"command\": \"RCPT TO\"") != std::string::npos);
  auto back = envelope_from_json(v2);
  REQUIRE(back);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(back->recipients[i].last_reply == env->recipients[i].last_reply);
    CHECK(back->recipients[i].state == env->recipients[i].state);
  }
}

TEST_CASE("an 8-bit body is kept as \"body\": \"8bitmime\"; envelopes without the field are 7-bit") {
  QueueEnvelope e{"N", "a@b.c", "h", 5, {{"x@y.org", RcptState::pending, 0, 0, {}}}};
  auto seven = to_json(e);
  CHECK(seven.find("body") == std::string::npos);  // as before: an older mailsrv reads it the same
  REQUIRE(envelope_from_json(seven));
  CHECK_FALSE(envelope_from_json(seven)->body_8bit);
  e.body_8bit = true;
  auto eight = to_json(e);
  CHECK(eight.find("\"body\": \"8bitmime\"") != std::string::npos);
  CHECK(eight.find("\"version\": 1") != std::string::npos);  // an optional field: older readers ignore it
  auto back = envelope_from_json(eight);
  REQUIRE(back);
  CHECK(back->body_8bit);
  CHECK_FALSE(envelope_from_json(R"({"version": 1, "id": "O", "sender": "", "received": 7, "body": "bogus",
    "recipients": []})"));
}

TEST_CASE("envelopes are written in the oldest version that holds them") {
  QueueEnvelope fresh{"N", "a@b.c", "h", 5, {{"x@y.org", RcptState::pending, 0, 0, {}}}};
  // Nothing tried yet: byte for byte what version 1 wrote, which an older mailsrv reads.
  CHECK(to_json(fresh) ==
        "{\n \"version\": 1,\n \"id\": \"N\",\n \"sender\": \"a@b.c\",\n \"helo\": \"h\",\n \"received\": 5,\n"
        " \"recipients\": [\n  {\n   \"address\": \"x@y.org\",\n   \"state\": \"pending\",\n   \"attempts\": 0,\n"
        "   \"next_try\": 0,\n   \"last_reply\": \"\"\n  }\n ]\n}\n");
  fresh.recipients[0].last_reply = smtp::Outcome::from_reply(smtp::reply(451, "4.3.0 later"), "mx[1.2.3.4]:25", "RCPT TO", "none");
  auto v2 = to_json(fresh);
  CHECK(v2.find(R"("last_reply": {
    "code": 451,
    "enhanced": "4.3.0",
    "mta": "mx[1.2.3.4]:25",
    "command": "RCPT TO",
    "text": "later",
    "tls": "none"
   })") != std::string::npos);
  CHECK(v2.find("\"version\": 2") != std::string::npos);
  // Version 2 refuses a reply kept as text; versions other than 1 and 2 are refused.
  CHECK_FALSE(envelope_from_json(R"({"version": 2, "id": "O", "sender": "", "received": 7,
    "recipients": [{"address": "a@b.c", "state": "failed", "last_reply": "550 x"}]})"));
  CHECK_FALSE(envelope_from_json(R"({"version": 3, "id": "O", "sender": "", "received": 7, "recipients": []})"));
  auto none = envelope_from_json(R"({"version": 2, "id": "O", "sender": "", "received": 7,
    "recipients": [{"address": "a@b.c", "state": "pending"}]})");
  REQUIRE(none);
  CHECK(none->recipients[0].last_reply.empty());
}
