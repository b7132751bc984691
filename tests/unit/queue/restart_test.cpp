// queue::Core, one row per state an entry can be in on disk when mailsrv restarts (what `loaded` gets
// from the queue scan): what the first tick does with it, and what the next delivery makes of it. And a
// bounce (null sender) whatever fails it: it is dropped, never bounced.
#include "queue/core.hpp"

#include "harness.hpp"

using namespace queue_test;

namespace {
store::QueueEnvelope with(store::QueueEnvelope env, std::vector<RcptState> states) {
  for (std::size_t i = 0; i < states.size(); ++i) {
    env.recipients[i].state = states[i];
    if (states[i] == RcptState::failed) env.recipients[i].last_reply = reply("550 5.1.1 no");
    if (states[i] == RcptState::delivered) env.recipients[i].last_reply = reply("250 ok", "end of DATA");
  }
  return env;
}
}  // namespace

TEST_CASE("restart in every state: the first tick, then the next delivery") {
  const auto pending = [] {
    auto e = envelope("Q1", "a@me.example", {"x@mx.example"});
    e.recipients[0].attempts = 3;
    e.recipients[0].next_try = T0 + 500;  // not due yet when it stopped: due at once now
    e.recipients[0].last_reply = reply("451 4.3.0 later");
    return e;
  }();
  auto bounced = with(envelope("Q1", "a@me.example", {"x@mx.example"}), {RcptState::failed});
  bounced.bounced = true;  // the bounce was stored, the removal was not done
  const std::vector<std::string> connect{"connect mx.example Q1", "wake +3600"};
  const std::vector<std::string> removed{"remove Q1", "wake +0", "wake +5"};
  const std::vector<std::string> bounce_x{"bounce Q1 to a@me.example: x@mx.example", "remove Q1", "wake +0"};
  struct Row {
    const char* what;
    store::QueueEnvelope env;
    int hops;
    std::vector<std::string> first_tick;
    const char* answer;  // the server's reply to every recipient sent; nullptr: no delivery
    std::vector<std::string> then;
  };
  const Row rows[] = {
      {"pending, retried before", pending, 0, connect, "451 4.3.0 later", {"save Q1", "wake +0"}},
      {"pending, then sent", pending, 0, connect, "250 ok", {"remove Q1", "wake +0"}},
      {"partial: sent, failed, pending", with(envelope("Q1", "a@me.example", {"s@mx.example", "f@mx.example", "p@mx.example"}),
                                              {RcptState::delivered, RcptState::failed, RcptState::pending}),
       0, connect, "250 ok", {"bounce Q1 to a@me.example: f@mx.example", "remove Q1", "wake +0"}},
      {"all sent, not removed", with(envelope("Q1", "a@me.example", {"x@mx.example"}), {RcptState::delivered}), 0, removed,
       nullptr, {}},
      {"failed, bounce not stored", with(envelope("Q1", "a@me.example", {"x@mx.example", "y@mx.example"}),
                                         {RcptState::failed, RcptState::delivered}),
       0, {"bounce Q1 to a@me.example: x@mx.example", "remove Q1", "wake +0", "wake +5"}, nullptr, {}},
      {"failed, bounce stored, not removed", bounced, 0, removed, nullptr, {}},
      {"failed, from the null sender", with(envelope("Q1", "", {"x@mx.example"}), {RcptState::failed}), 0, removed, nullptr, {}},
      {"pending, looping", envelope("Q1", "a@me.example", {"x@mx.example"}), 26, connect, "250 ok", bounce_x},
      {"pending, older than the lifetime", envelope("Q1", "a@me.example", {"x@mx.example"}, T0 - 7200), 0, connect,
       "451 4.3.0 later", bounce_x},
      {"pending, a bounce to a remote sender", envelope("Q1", "", {"x@mx.example"}), 0, connect, "550 5.1.1 no",
       {"remove Q1", "wake +0"}},
  };
  for (const auto& row : rows) {
    INFO(std::string(row.what));
    Driver d;
    d.core.loaded({{row.env, row.hops}});
    CHECK(d.core.size() == 1);
    d.tick();
    CHECK(d.take() == row.first_tick);
    if (row.answer == nullptr) {
      CHECK(d.core.size() == 0);
      CHECK(d.connects.empty());
      continue;
    }
    CHECK(d.rcpt("Q1", 0).attempts == row.env.recipients[0].attempts);  // the schedule goes on from there
    auto answer = reply(row.answer, "end of DATA");
    d.deliver(d.attempt(), [&](const std::string&) { return answer; });
    CHECK(d.take() == row.then);
  }
  // The rows' details: the retry count and the wait go on; the partial entry sends only what is pending.
  Driver d;
  d.core.loaded({{pending, 0}});
  d.tick();
  d.deliver(d.attempt(), [](const std::string&) { return reply("451 4.3.0 later"); });
  CHECK(d.rcpt("Q1", 0).attempts == 4);
  CHECK(d.rcpt("Q1", 0).next_try == T0 + 40);  // 5 s doubled three times
  Driver p;
  p.core.loaded({{rows[2].env, 0}});
  p.tick();
  p.deliver(p.attempt(), [](const std::string&) { return reply("250 ok", "end of DATA"); });
  CHECK(p.logs.count("event=recipient") == 1);
  CHECK(p.logs.has("event=recipient id=Q1 to=p@mx.example"));
  REQUIRE(p.bounces.size() == 1);
  CHECK(p.bounces[0].failed.at(0).outcome == reply("550 5.1.1 no"));  // as it was on disk
}

TEST_CASE("a bounce is never bounced, whatever fails it: a 5xx, the lifetime, NXDOMAIN, a loop") {
  struct Row {
    const char* what;
    store::QueueEnvelope env;
    int hops;
    const char* answer;                         // the server's reply; nullptr: the route fails
    std::vector<std::string> then;
  };
  const std::vector<std::string> dropped{"remove B1", "wake +0"};
  const Row rows[] = {
      {"550 to RCPT TO", envelope("B1", "", {"x@mx.example"}), 0, "550 5.1.1 no", dropped},
      {"451 past the lifetime", envelope("B1", "", {"x@mx.example"}, T0 - 3600), 0, "451 4.3.0 later", dropped},
      {"451 within the lifetime", envelope("B1", "", {"x@mx.example"}), 0, "451 4.3.0 later", {"save B1", "wake +0"}},
      {"NXDOMAIN", envelope("B1", "", {"x@mx.example"}), 0, nullptr, dropped},
      {"a loop", envelope("B1", "", {"x@mx.example"}), 30, "250 ok", dropped},
  };
  for (const auto& row : rows) {
    INFO(std::string(row.what));
    Driver d;
    d.submit(row.env, row.hops);
    d.tick();
    CHECK(d.take() == std::vector<std::string>{"wake +0", "connect mx.example B1", "wake +3600"});
    auto c = d.attempt();
    if (row.answer != nullptr) {
      auto answer = reply(row.answer);
      d.deliver(c, [&](const std::string&) { return answer; });
    } else {
      d.core.route_failed(c.attempt, *mail_hosts("mx.example", Result<std::vector<std::string>>(fail(Errc::not_found, "NXDOMAIN"))).failure);
      d.perform(d.core.attempt_done(c.attempt, d.now));
    }
    CHECK(d.take() == row.then);
    CHECK(d.bounces.empty());
    CHECK(d.logs.has("event=bounce_dropped id=B1 why=\"null sender\"") == (row.then == dropped));
  }
}
