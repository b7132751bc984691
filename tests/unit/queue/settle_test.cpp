// queue::Core, after a delivery: partial success, bounces (and bounces of bounces), failed saves,
// bounces and removals retried on the [queue] schedule, restarts in every state, and the schedule.
#include "queue/core.hpp"

#include "harness.hpp"

using namespace queue_test;

namespace {
Result<void> full_disk(const Effect&) { return fail(Errc::io, "No space left on device"); }

Connect started(Driver& d, std::vector<std::string> expect) {
  d.tick();
  CHECK(d.take() == expect);
  return d.attempt();
}
}  // namespace

TEST_CASE("partial success: sent, deferred and failed in one message; the bounce names only the failed") {
  Driver d;
  d.submit(envelope("Q1", "a@me.example", {"ok@mx.example", "later@mx.example", "bad@mx.example"}));
  auto c = started(d, {"wake +0", "connect mx.example Q1", "wake +3600"});
  d.deliver(c, [](const std::string& r) {
    return r.starts_with("ok") ? reply("250 ok", "end of DATA") : r.starts_with("later") ? reply("451 4.3.0 later") : reply("550 5.1.1 no");
  });
  CHECK(d.take() == std::vector<std::string>{"save Q1", "wake +0"});  // one pending: saved, not bounced yet
  CHECK(d.saves.back().recipients[0].state == RcptState::delivered);
  CHECK(d.saves.back().recipients[1].state == RcptState::pending);
  CHECK(d.saves.back().recipients[2].state == RcptState::failed);
  d.now += 4;
  d.tick();
  CHECK(d.take() == std::vector<std::string>{"wake +1"});  // not due yet
  d.now += 1;
  c = started(d, {"connect mx.example Q1", "wake +3600"});
  d.core.route_found(c.attempt, {target("mx.example")});
  REQUIRE(d.core.next_host(c.attempt, d.now));
  auto turn = d.core.message(c.attempt, "Q1", d.now);
  REQUIRE(turn.send);
  CHECK(turn.send->recipients == std::vector<std::string>{"later@mx.example"});  // only what is pending
  d.core.result(c.attempt, "Q1", "later@mx.example", reply("250 ok", "end of DATA"), d.now);
  d.perform(d.core.message_done(c.attempt, "Q1", d.now));
  CHECK(d.take() == std::vector<std::string>{"bounce Q1 to a@me.example: bad@mx.example", "remove Q1"});
  d.perform(d.core.attempt_done(c.attempt, d.now));
  CHECK(d.take() == std::vector<std::string>{"wake +0"});
}

TEST_CASE("recipients in two destinations: one attempt each; the entry settles when both are over") {
  Driver d;
  d.submit(envelope("Q1", "a@me.example", {"x@a.example", "y@b.example"}));
  d.tick();
  CHECK(d.take() == std::vector<std::string>{"wake +0", "connect a.example Q1", "connect b.example Q1", "wake +3600"});
  auto a = d.attempt(), b = d.attempt();
  d.tick();  // both destinations are busy with it
  CHECK(d.take() == std::vector<std::string>{"wake +3600"});
  d.deliver(a, [](const std::string&) { return reply("550 5.1.1 no"); });
  CHECK(d.take() == std::vector<std::string>{"save Q1", "wake +0"});  // b.example still works on it
  d.deliver(b, [](const std::string&) { return reply("250 ok", "end of DATA"); });
  CHECK(d.take() == std::vector<std::string>{"bounce Q1 to a@me.example: x@a.example", "remove Q1", "wake +0"});
}

TEST_CASE("a bounce is never bounced: the null sender's failures are dropped with a log line") {
  Driver d;
  d.submit(envelope("B1", "", {"x@mx.example"}));
  auto c = started(d, {"wake +0", "connect mx.example B1", "wake +3600"});
  d.deliver(c, [](const std::string&) { return reply("550 5.1.1 no"); });
  CHECK(d.take() == std::vector<std::string>{"remove B1", "wake +0"});
  CHECK(d.logs.has("event=bounce_dropped id=B1 why=\"null sender\""));
  CHECK(d.bounces.empty());
}

TEST_CASE("a bounce that cannot be stored keeps the entry; it is tried again on the schedule") {
  Driver d;
  d.submit(envelope("Q1", "a@me.example", {"x@mx.example"}));
  auto c = started(d, {"wake +0", "connect mx.example Q1", "wake +3600"});
  d.disk = [](const Effect& e) { return std::holds_alternative<Bounce>(e) ? full_disk(e) : Result<void>(); };
  d.deliver(c, [](const std::string&) { return reply("550 5.1.1 no"); });
  // The outcome so far is saved, so that a restart does not deliver again.
  CHECK(d.take() == std::vector<std::string>{"bounce Q1 to a@me.example: x@mx.example", "save Q1", "wake +0"});
  CHECK(d.logs.has("event=bounce_failed id=Q1 why=\"No space left on device\" retry_in=5"));
  CHECK(d.saves.back().recipients[0].state == RcptState::failed);
  CHECK_FALSE(d.saves.back().bounced);
  d.now += 4;
  d.tick();
  CHECK(d.take() == std::vector<std::string>{"wake +1"});
  d.now += 1;
  d.tick();  // again, and again it fails: the wait doubles
  CHECK(d.take() == std::vector<std::string>{"bounce Q1 to a@me.example: x@mx.example", "save Q1", "wake +0", "wake +10"});
  CHECK(d.logs.has("event=bounce_failed id=Q1 why=\"No space left on device\" retry_in=10"));
  d.disk = [](const Effect&) { return Result<void>(); };
  d.now += 10;
  d.tick();
  // (The wake at +20 was set before the settle ran: the time of the next try had it failed.)
  CHECK(d.take() == std::vector<std::string>{"bounce Q1 to a@me.example: x@mx.example", "remove Q1", "wake +0", "wake +20"});
  CHECK(d.core.size() == 0);
  CHECK(d.bounces.size() == 1);
}

TEST_CASE("a removal that fails is retried; the bounce already stored is not sent again") {
  Driver d;
  d.submit(envelope("Q1", "a@me.example", {"x@mx.example"}));
  auto c = started(d, {"wake +0", "connect mx.example Q1", "wake +3600"});
  d.disk = [](const Effect& e) { return std::holds_alternative<Remove>(e) ? full_disk(e) : Result<void>(); };
  d.deliver(c, [](const std::string&) { return reply("550 5.1.1 no"); });
  CHECK(d.take() == std::vector<std::string>{"bounce Q1 to a@me.example: x@mx.example", "remove Q1", "save Q1", "wake +0"});
  CHECK(d.logs.has("event=remove_failed id=Q1 why=\"No space left on device\" retry_in=5"));
  CHECK(d.saves.back().bounced);  // on disk: a restart removes without bouncing
  d.disk = [](const Effect&) { return Result<void>(); };
  d.now += 5;
  d.tick();
  CHECK(d.take() == std::vector<std::string>{"remove Q1", "wake +0", "wake +10"});
  CHECK(d.bounces.size() == 1);
}

TEST_CASE("a save that fails is retried on the schedule; a failed save after a failed bounce is logged") {
  Driver d;
  d.submit(envelope("Q1", "a@me.example", {"x@mx.example", "y@mx.example"}));
  auto c = started(d, {"wake +0", "connect mx.example Q1", "wake +3600"});
  d.disk = [](const Effect& e) { return std::holds_alternative<Save>(e) ? full_disk(e) : Result<void>(); };
  d.deliver(c, [](const std::string& r) { return r[0] == 'x' ? reply("250 ok", "end of DATA") : reply("451 4.3.0 later"); });
  CHECK(d.take() == std::vector<std::string>{"save Q1", "wake +0"});
  CHECK(d.logs.has("event=save_failed id=Q1 why=\"No space left on device\" retry_in=5"));
  d.disk = [](const Effect&) { return Result<void>(); };
  d.now += 5;
  d.tick();  // the recipient is due again, and the envelope is saved again
  CHECK(d.take() == std::vector<std::string>{"connect mx.example Q1", "save Q1", "wake +0", "wake +10"});

  Driver e;  // bounce and then the save of the outcome both fail
  e.submit(envelope("Q2", "a@me.example", {"x@mx.example"}));
  auto c2 = started(e, {"wake +0", "connect mx.example Q2", "wake +3600"});
  e.disk = full_disk;
  e.deliver(c2, [](const std::string&) { return reply("550 5.1.1 no"); });
  CHECK(e.logs.has("event=bounce_failed id=Q2 why=\"No space left on device\" retry_in=5"));
  CHECK(e.logs.has("event=save_failed id=Q2 why=\"No space left on device\" retry_in=5"));
  CHECK(e.core.size() == 1);
}

TEST_CASE("restart in every state: pending, all final, bounced but not removed, delivered, from the null sender") {
  Driver d;
  auto pending = envelope("P", "a@me.example", {"x@mx.example"});
  pending.recipients[0].attempts = 3;
  pending.recipients[0].next_try = T0 + 500;  // due at once after a restart
  auto final_ = envelope("F", "a@me.example", {"x@mx.example", "y@mx.example"});
  final_.recipients[0].state = RcptState::failed;
  final_.recipients[0].last_reply = reply("550 5.1.1 no");
  final_.recipients[1].state = RcptState::delivered;
  auto bounced = final_;
  bounced.id = "B";
  bounced.bounced = true;
  auto delivered = envelope("D", "a@me.example", {"x@mx.example"});
  delivered.recipients[0].state = RcptState::delivered;
  auto null = envelope("N", "", {"x@mx.example"});
  null.recipients[0].state = RcptState::failed;
  std::vector<Entry> entries{{pending, 0}, {final_, 0}, {bounced, 0}, {delivered, 0}, {null, 0}};
  d.core.loaded(std::move(entries));
  CHECK(d.core.size() == 5);
  d.tick();
  CHECK(d.take() == std::vector<std::string>{"connect mx.example P", "remove B", "wake +0", "remove D", "wake +0",
                                             "bounce F to a@me.example: x@mx.example", "remove F", "wake +0", "remove N",
                                             "wake +0", "wake +5"});
  CHECK(d.logs.has("event=bounce_dropped id=N"));
  CHECK(d.bounces.at(0).failed.at(0).outcome == reply("550 5.1.1 no"));
  CHECK(d.core.size() == 1);
  CHECK(d.rcpt("P", 0).attempts == 3);
}

TEST_CASE("the schedule: up to 20 connections per destination, several messages each; the next wake") {
  Driver d;
  for (int i = 0; i < 45; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "Q%02d", i);
    d.submit(envelope(id, "a@me.example", {"x@mx.example"}));
  }
  d.submit(envelope("R", "a@me.example", {"x@other.example"}));
  auto later = envelope("S", "a@me.example", {"x@third.example"});
  later.recipients[0].next_try = T0 + 42;
  d.submit(later);
  d.take();
  d.tick();
  auto did = d.take();
  REQUIRE(did.size() == 22);
  CHECK(did[0] == "connect mx.example Q00,Q20,Q40");  // round robin over the 20 connections
  CHECK(did[19] == "connect mx.example Q19,Q39");
  CHECK(did[20] == "connect other.example R");
  CHECK(did[21] == "wake +42");  // S is due then
  d.tick();
  CHECK(d.take() == std::vector<std::string>{"wake +42"});  // nothing new while they work
  d.submit(envelope("T", "a@me.example", {"x@mx.example"}));
  d.tick();
  CHECK(d.take() == std::vector<std::string>{"wake +0", "wake +42"});  // no 21st connection
  d.deliver(d.attempt(), [](const std::string&) { return reply("250 ok", "end of DATA"); });
  CHECK(d.take() == std::vector<std::string>{"remove Q00", "remove Q20", "remove Q40", "wake +0"});
  d.tick();
  CHECK(d.take() == std::vector<std::string>{"connect mx.example T", "wake +42"});
}

TEST_CASE("a tick reads what changed, not the whole queue: a new entry beside 1,000 deferred ones") {
  Driver d;
  for (int i = 0; i < 1000; ++i) d.submit(envelope("Q" + std::to_string(i), "a@me.example", {"x@down.example"}));
  d.tick();
  REQUIRE(d.connects.size() == 20);
  while (!d.connects.empty()) {  // the destination is down: every host refuses
    auto c = d.attempt();
    d.core.route_found(c.attempt, {target("mx.down.example")});
    REQUIRE(d.core.next_host(c.attempt, d.now));
    d.core.host_failed(c.attempt, Outcome::ours("4.4.1", "connect to mx.down.example: Connection refused"));
    d.perform(d.core.attempt_done(c.attempt, d.now));
  }
  d.take();
  d.tick();
  CHECK(d.take() == std::vector<std::string>{"wake +5"});  // all deferred for retry_first
  const auto before = d.core.scanned();
  d.now += 1;
  d.submit(envelope("N", "a@me.example", {"y@up.example"}));
  d.tick();
  CHECK(d.take() == std::vector<std::string>{"wake +0", "connect up.example N", "wake +4"});
  CHECK(d.core.scanned() - before <= 2);  // N (and nothing of the 1,000 that wait)
  d.now = T0 + 5;  // their retry: all of them again, over 20 connections
  d.tick();
  CHECK(d.connects.size() == 21);
  CHECK(d.rcpt("Q999", 0).attempts == 1);
}
