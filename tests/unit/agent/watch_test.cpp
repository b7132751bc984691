// wait and expect-bounce, the pure part (apps/agent/watch.hpp): arguments, STAT and UIDL answers,
// bounces, output.
#include "agent/watch.hpp"

#include <sstream>

#include <doctest/doctest.h>

#include "smtp/dsn.hpp"

using namespace mail;
using namespace agent;

TEST_CASE("wait and expect-bounce arguments") {
  auto w = parse_watch({"wait", "--count", "3", "--timeout", "7"});
  REQUIRE(w);
  CHECK(w->kind == WatchRequest::Kind::wait);
  CHECK(w->count == 3);
  CHECK(w->timeout.count() == 7);
  CHECK(parse_watch({"wait", "--count", "1"})->timeout.count() == 30);
  auto b = parse_watch({"expect-bounce", "--for", "x@y.org"});
  REQUIRE(b);
  CHECK(b->kind == WatchRequest::Kind::expect_bounce);
  CHECK(b->address == "x@y.org");
  for (std::vector<std::string> bad : {std::vector<std::string>{"wait"}, {"wait", "--count", "0"}, {"wait", "--count", "x"},
                                       {"wait", "--count", "1", "--timeout", "0"}, {"wait", "--count", "1", "extra"},
                                       {"wait", "--count", "1", "--for", "a@b"}, {"expect-bounce"},
                                       {"expect-bounce", "--for", "nobody"}, {"expect-bounce", "--for", "a@b", "--count", "1"},
                                       {"wait", "--bogus"}})
    CHECK_FALSE(parse_watch(bad));
  CHECK(is_watch_command("wait"));
  CHECK(is_watch_command("expect-bounce"));
  CHECK_FALSE(is_watch_command("stat"));
  CHECK(watch_usage("wait") == "wait --count N [--timeout S]");
}

TEST_CASE("STAT's count, and the UIDL lines not seen yet") {
  CHECK(stat_count({true, "+OK 2 320", {}}) == 2);
  CHECK(stat_count({true, "+OK 0 0", {}}) == 0);
  CHECK(stat_count({true, "+OK", {}}) == 0);
  std::vector<std::string> seen;
  CHECK(unseen_messages({"1 a", "2 b"}, seen) == std::vector<std::string>{"1", "2"});
  CHECK(unseen_messages({"1 a", "2 b", "3 c"}, seen) == std::vector<std::string>{"3"});
  CHECK(unseen_messages({"1 b", "2 c", "3 d"}, seen) == std::vector<std::string>{"3"});  // renumbered after a DELE
  CHECK(seen.size() == 4);
}

TEST_CASE("bounce_for: the failed recipient's group of a delivery report, printed as lines or JSON") {
  smtp::DsnInput in;
  in.reporting_mta = "exmail.qq.com";
  in.original_sender = "usr1@mail.sustech.edu.cn";
  in.queue_id = "Q1";
  in.arrival = 1795316797;
  in.now = 1795316800;
  in.message_id = "b.1@exmail.qq.com";
  in.boundary = "=_dsn_1";
  in.failed.emplace_back("error@gmail.com", "gmail-smtp-in.l.google.com[127.0.0.1]", "550 5.1.1 no such user", "RCPT TO");
  in.original_headers = "From: usr1@mail.sustech.edu.cn\nSubject: s\n";
  auto dsn = smtp::build_dsn(in);
  auto r = bounce_for(dsn, "error@gmail.com");
  REQUIRE(r);
  std::ostringstream out, err;
  show_bounce(*r, View{out, err});
  CHECK(out.str() ==
        "Recipient: error@gmail.com\nAction: failed\nStatus: 5.1.1\nRemote MTA: gmail-smtp-in.l.google.com\n"
        "Diagnostic: smtp; 550 5.1.1 no such user\n");
  std::ostringstream json;
  show_bounce(*r, View{json, err, true});
  CHECK(nlohmann::json::parse(json.str())["status"] == "5.1.1");
  CHECK_FALSE(bounce_for(dsn, "usr1@mail.sustech.edu.cn"));
  CHECK_FALSE(bounce_for("Subject: error@gmail.com failed\r\n\r\nAction: failed\r\n", "error@gmail.com"));
  WatchRequest req;
  req.timeout = std::chrono::seconds(5);
  CHECK(timeout_message(req, "why") == "wait: timed out after 5 s: why");
}

TEST_CASE("a refused login is looked at again only when the server says it is temporary") {
  CHECK(agent::refusal_is_temporary("login as a@b.org failed: -ERR [IN-USE] maildrop already locked by another session"));
  CHECK(agent::refusal_is_temporary("login as a@b.org failed: -ERR [SYS/TEMP] too many failed logins, try again later"));
  CHECK_FALSE(agent::refusal_is_temporary("login as a@b.org failed: -ERR [AUTH] invalid user name or password"));
  CHECK_FALSE(agent::refusal_is_temporary("login as a@b.org failed: -ERR no such user"));
}
