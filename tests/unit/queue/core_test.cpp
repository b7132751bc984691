// queue::Core, the outcome of a delivery: each reply to each command, DNS trouble, connections that
// fail or break, the [tls] relay policy, lifetime expiry, loops. (settle_test.cpp: what happens next.)
#include "queue/core.hpp"

#include "harness.hpp"

using namespace queue_test;

namespace {
// One entry Q1 from a@me.example to x@mx.example, submitted and its attempt started.
Connect start(Driver& d, store::QueueEnvelope env = envelope("Q1", "a@me.example", {"x@mx.example"}), int hops = 0) {
  d.submit(std::move(env), hops);
  d.tick();
  CHECK(d.take() == std::vector<std::string>{"wake +0", "connect mx.example Q1", "wake +3600"});
  return d.attempt();
}
}  // namespace

TEST_CASE("each reply to each command: 2xx sent, 4xx deferred on the schedule, 5xx failed and bounced") {
  struct Row {
    const char* command;
    const char* line;
    RcptState state;
    const char* result;
    std::vector<std::string> then;
  };
  const std::vector<std::string> sent{"remove Q1", "wake +0"};
  const std::vector<std::string> deferred{"save Q1", "wake +0"};
  const std::vector<std::string> bounced{"bounce Q1 to a@me.example: x@mx.example", "remove Q1", "wake +0"};
  const Row rows[] = {
      {"MAIL FROM", "250 2.1.0 Ok", RcptState::delivered, "sent", sent},
      {"MAIL FROM", "451 4.3.0 try later", RcptState::pending, "deferred", deferred},
      {"MAIL FROM", "553 5.1.8 bad sender", RcptState::failed, "failed", bounced},
      {"RCPT TO", "250 2.1.5 Ok", RcptState::delivered, "sent", sent},
      {"RCPT TO", "450 4.2.0 mailbox busy", RcptState::pending, "deferred", deferred},
      {"RCPT TO", "550 5.1.1 no such user", RcptState::failed, "failed", bounced},
      {"DATA", "250 ok", RcptState::delivered, "sent", sent},
      {"DATA", "451 4.3.0 local error", RcptState::pending, "deferred", deferred},
      {"DATA", "554 5.5.1 no valid recipients", RcptState::failed, "failed", bounced},
      {"end of DATA", "250 2.0.0 Ok: queued as X", RcptState::delivered, "sent", sent},
      {"end of DATA", "452 4.3.1 out of space", RcptState::pending, "deferred", deferred},
      {"end of DATA", "552 5.3.4 too big", RcptState::failed, "failed", bounced},
  };
  for (const auto& row : rows) {
    INFO(std::string(row.command));
    INFO(std::string(row.line));
    Driver d;
    auto c = start(d);
    auto answer = reply(row.line, row.command);
    d.deliver(c, [&](const std::string&) { return answer; });
    CHECK(d.take() == row.then);
    CHECK(d.logs.has(std::string("event=recipient id=Q1 to=x@mx.example host=mx.example[10.0.0.1]:25 result=") + row.result +
                     " tls=none reply=\"" + row.line + "\""));
    if (row.state == RcptState::pending) {
      CHECK(d.rcpt("Q1", 0).attempts == 1);
      CHECK(d.rcpt("Q1", 0).next_try == T0 + 5);  // [queue] retry_first
      CHECK(d.rcpt("Q1", 0).last_reply == answer);
      CHECK(d.saves.back().recipients[0].last_reply == answer);  // the envelope saved holds it
    } else {
      CHECK(d.core.envelope("Q1") == nullptr);  // settled and gone
    }
    if (row.state == RcptState::failed) {
      REQUIRE(d.bounces.size() == 1);
      CHECK(d.bounces[0].failed.at(0).outcome == answer);  // as is: code, status, host, command
    }
  }
}

TEST_CASE("DNS trouble: temporary is deferred, NXDOMAIN and hosts that never resolve fail") {
  auto nx = Result<std::vector<std::string>>(fail(Errc::not_found, "NXDOMAIN"));
  auto slow = Result<std::vector<std::string>>(fail(Errc::timeout, "no answer from 127.0.0.1:53"));
  auto mx = Result<std::vector<std::string>>(std::vector<std::string>{"mx1.example", "mx2.example"});
  auto port25 = Result<std::optional<std::uint16_t>>(std::optional<std::uint16_t>{});
  auto gone = Result<std::vector<std::string>>(fail(Errc::not_found, "NXDOMAIN"));
  auto servfail = Result<std::vector<std::string>>(fail(Errc::temporary, "SERVFAIL"));
  auto no_a = Result<std::vector<std::string>>(std::vector<std::string>{});
  struct Row {
    const char* what;
    smtp::Outcome why;
    RcptState state;
    const char* reply;
  };
  const Row rows[] = {
      {"MX lookup times out", *mail_hosts("mx.example", slow).failure, RcptState::pending,
       "4.4.3 Cannot look up mx.example: no answer from 127.0.0.1:53"},
      {"NXDOMAIN", *mail_hosts("mx.example", nx).failure, RcptState::failed,
       "5.1.2 Host or domain name not found: mx.example (NXDOMAIN)"},
      {"no MX host exists", *route_of("mx.example", {{"mx1.example", port25, gone}, {"mx2.example", port25, gone}}).failure,
       RcptState::failed, "5.1.2 No mail host of mx.example resolves (mx2.example: NXDOMAIN)"},
      {"no MX host has an address", *route_of("mx.example", {{"mx1.example", port25, no_a}}).failure, RcptState::failed,
       "5.1.2 No mail host of mx.example resolves (mx1.example: no address)"},
      {"one MX host's lookup fails for now", *route_of("mx.example", {{"mx1.example", port25, servfail}, {"mx2.example", port25, gone}}).failure,
       RcptState::pending, "4.4.3 No mail host of mx.example resolves (mx2.example: NXDOMAIN)"},
  };
  CHECK(mail_hosts("mx.example", mx).names == std::vector<std::string>{"mx1.example", "mx2.example"});
  for (const auto& row : rows) {
    INFO(std::string(row.what));
    Driver d;
    auto c = start(d);
    d.core.route_failed(c.attempt, row.why);
    CHECK_FALSE(d.core.next_host(c.attempt, d.now));  // no host to try
    d.perform(d.core.attempt_done(c.attempt, d.now));
    CHECK(d.logs.has(std::string("event=recipient id=Q1 to=x@mx.example result=") +
                     (row.state == RcptState::failed ? "failed" : "deferred") + " reply=\"" + row.reply + "\""));
    if (row.state == RcptState::pending) {
      CHECK(d.take() == std::vector<std::string>{"save Q1", "wake +0"});
      CHECK(d.rcpt("Q1", 0).last_reply.line() == row.reply);
      CHECK(d.rcpt("Q1", 0).attempts == 1);
    } else {
      CHECK(d.take() == std::vector<std::string>{"bounce Q1 to a@me.example: x@mx.example", "remove Q1", "wake +0"});
      CHECK(d.bounces.at(0).failed.at(0).outcome.line() == row.reply);
    }
  }
}

TEST_CASE("a host given up (refused, greeting, TLS policy, lost): the next host, then deferred with the last reason") {
  const auto t = target("mx.example");
  smtp::Outcome lost = connection_lost(t);
  struct Row {
    const char* what;
    smtp::Outcome why;
    const char* reply;
  };
  const Row rows[] = {
      {"connection refused", connect_failed(t, "connect to 10.0.0.1:25: Connection refused"),
       "4.4.1 connect to mx.example[10.0.0.1]:25: connect to 10.0.0.1:25: Connection refused"},
      {"greeting refused", greeting_failed(t, smtp::reply(554, "5.3.2 not now")), "554 5.3.2 not now (from mx.example)"},
      {"closed before the greeting", greeting_failed(t, smtp::reply(0, "connection closed")),
       "0 connection closed (from mx.example)"},
      {"verify: no STARTTLS", plan_tls(config::RelayTls::verify, t, false, true).why,
       "4.7.5 mx.example offers no STARTTLS ([tls] relay = verify)"},
      {"the handshake failed", *check_tls(config::RelayTls::may, t, fail(Errc::io, "handshake: bad record"), false),
       "4.7.5 STARTTLS with mx.example failed: handshake: bad record"},
      {"verify: unverified certificate", *check_tls(config::RelayTls::verify, t, Result<void>(), false),
       "4.7.5 certificate of mx.example could not be verified"},
      {"connection lost", lost, "4.4.2 connection to mx.example lost"},
  };
  for (const auto& row : rows) {
    INFO(std::string(row.what));
    Driver d;
    auto c = start(d);
    d.core.route_found(c.attempt, {t});
    REQUIRE(d.core.next_host(c.attempt, d.now));
    if (row.why == lost) {  // the message went out; its replies never came
      auto turn = d.core.message(c.attempt, "Q1", d.now);
      REQUIRE(turn.send);
      CHECK(turn.send->recipients == std::vector<std::string>{"x@mx.example"});
    }
    d.core.host_failed(c.attempt, row.why);
    CHECK_FALSE(d.core.next_host(c.attempt, d.now));
    d.perform(d.core.attempt_done(c.attempt, d.now));
    CHECK(d.take() == std::vector<std::string>{"save Q1", "wake +0"});
    CHECK(d.rcpt("Q1", 0).state == RcptState::pending);
    CHECK(d.rcpt("Q1", 0).last_reply.line() == row.reply);
    CHECK(d.logs.has(std::string("event=recipient id=Q1 to=x@mx.example result=deferred reply=\"") + row.reply + "\""));
  }
}

TEST_CASE("the next MX host after a failure; no more hosts once every message is done") {
  Driver d;
  auto c = start(d);
  d.core.route_found(c.attempt, {target("mx1.example", 1), target("mx2.example", 2), target("mx3.example", 3)});
  auto first = d.core.next_host(c.attempt, d.now);
  REQUIRE(first);
  CHECK(first->name() == "mx1.example[10.0.0.1]:25");
  d.core.host_failed(c.attempt, connect_failed(*first, "refused"));
  auto second = d.core.next_host(c.attempt, d.now);
  REQUIRE(second);
  CHECK(second->host == "mx2.example");
  auto turn = d.core.message(c.attempt, "Q1", d.now);
  REQUIRE(turn.send);
  d.core.result(c.attempt, "Q1", "x@MX.example", reply("250 ok", "end of DATA"), d.now);  // the domain in any case
  d.perform(d.core.message_done(c.attempt, "Q1", d.now));
  CHECK_FALSE(d.core.next_host(c.attempt, d.now));  // mx3 is not needed
  d.perform(d.core.attempt_done(c.attempt, d.now));
  CHECK(d.take() == std::vector<std::string>{"remove Q1", "wake +0"});
  CHECK(d.core.attempts() == 0);
}

TEST_CASE("an attempt that reached no host (stopping) defers with 'no mail host answered'") {
  Driver d;
  auto c = start(d);
  d.core.route_found(c.attempt, {target("mx.example")});
  d.perform(d.core.attempt_done(c.attempt, d.now));
  CHECK(d.rcpt("Q1", 0).last_reply.line() == "4.4.1 no mail host answered");
  CHECK(d.rcpt("Q1", 0).attempts == 1);
}

TEST_CASE("the [tls] relay policy: STARTTLS when offered, clear or give up when not") {
  const auto t = target("mx.example");
  struct Row {
    config::RelayTls mode;
    bool offered, client;
    TlsStep step;
  };
  const Row rows[] = {
      {config::RelayTls::may, true, true, TlsStep::starttls},   {config::RelayTls::may, false, true, TlsStep::clear},
      {config::RelayTls::may, true, false, TlsStep::clear},     {config::RelayTls::verify, true, true, TlsStep::starttls},
      {config::RelayTls::verify, false, true, TlsStep::give_up}, {config::RelayTls::verify, true, false, TlsStep::give_up},
      {config::RelayTls::off, true, true, TlsStep::clear},      {config::RelayTls::off, false, true, TlsStep::clear},
  };
  for (const auto& r : rows) {
    CAPTURE(static_cast<int>(r.mode));
    CAPTURE(r.offered);
    CAPTURE(r.client);
    auto plan = plan_tls(r.mode, t, r.offered, r.client);
    CHECK(plan.step == r.step);
    CHECK(plan.why.empty() == (r.step != TlsStep::give_up));
  }
  // After the handshake: may takes an unverified certificate (the log says so), verify does not.
  CHECK_FALSE(check_tls(config::RelayTls::may, t, Result<void>(), false));
  CHECK_FALSE(check_tls(config::RelayTls::verify, t, Result<void>(), true));
  CHECK(check_tls(config::RelayTls::verify, t, Result<void>(), false));
  CHECK(check_tls(config::RelayTls::may, t, fail(Errc::refused, "STARTTLS refused: 454 no"), true));
}

TEST_CASE("lifetime: a temporary failure of a message older than [queue] lifetime fails it (4.4.7)") {
  struct Row {
    std::time_t age;
    bool expired;
  };
  for (const auto& row : {Row{3599, false}, Row{3600, true}, Row{90000, true}}) {
    CAPTURE(row.age);
    Driver d;
    auto c = start(d, envelope("Q1", "a@me.example", {"x@mx.example"}, T0 - row.age));
    d.deliver(c, [](const std::string&) { return reply("451 4.3.0 later"); });
    if (!row.expired) {
      CHECK(d.rcpt("Q1", 0).state == RcptState::pending);
      continue;
    }
    CHECK(d.take() == std::vector<std::string>{"bounce Q1 to a@me.example: x@mx.example", "remove Q1", "wake +0"});
    const auto& o = d.bounces.at(0).failed.at(0).outcome;
    CHECK(o.line() == "4.4.7 Message delivery time exceeded; last error: 451 4.3.0 later");
    CHECK(o.mta.empty());      // our finding: no "host ... said" in the bounce
    CHECK(o.command.empty());  // and Diagnostic-Code x-mailworld
    CHECK(d.logs.has("result=failed tls=none reply=\"451 4.3.0 later\""));
  }
  // The same when no host could be reached.
  Driver d;
  auto c = start(d, envelope("Q1", "a@me.example", {"x@mx.example"}, T0 - 3600));
  d.core.route_failed(c.attempt, Outcome::ours("4.4.3", "Cannot look up mx.example: timeout"));
  d.perform(d.core.attempt_done(c.attempt, d.now));
  CHECK(d.bounces.at(0).failed.at(0).outcome.line() ==
        "4.4.7 Message delivery time exceeded; last error: 4.4.3 Cannot look up mx.example: timeout");
}

TEST_CASE("loops: more than 25 Received fields fail at the message's turn (5.4.6), 25 are sent") {
  for (int hops : {25, 26, 40}) {
    CAPTURE(hops);
    Driver d;
    auto c = start(d, envelope("Q1", "a@me.example", {"x@mx.example", "y@mx.example"}), hops);
    d.core.route_found(c.attempt, {target("mx.example")});
    REQUIRE(d.core.next_host(c.attempt, d.now));
    auto turn = d.core.message(c.attempt, "Q1", d.now);
    if (hops <= 25) {
      REQUIRE(turn.send);
      CHECK(turn.send->recipients.size() == 2);
      continue;
    }
    CHECK_FALSE(turn.send);
    d.perform(std::move(turn.effects));
    CHECK(d.take() == std::vector<std::string>{"bounce Q1 to a@me.example: x@mx.example,y@mx.example", "remove Q1"});
    CHECK(d.bounces.at(0).failed.at(1).outcome.line() == "5.4.6 Too many hops (more than 25 Received fields): mail loop?");
    CHECK_FALSE(d.logs.has("event=recipient"));  // as before: the bounce says it
  }
}

TEST_CASE("an 8-bit body is sent as such: the Send says so") {
  for (const bool eight : {false, true}) {
    Driver d;
    auto env = envelope("Q1", "a@me.example", {"x@mx.example"});
    env.body_8bit = eight;
    auto c = start(d, env);
    d.core.route_found(c.attempt, {target("mx.example")});
    REQUIRE(d.core.next_host(c.attempt, d.now));
    auto turn = d.core.message(c.attempt, "Q1", d.now);
    REQUIRE(turn.send);
    CHECK(turn.send->eight_bit == eight);
  }
}

TEST_CASE("[tls] relay = may: after a failed handshake the next attempts to that host go in plaintext; never with verify") {
  struct Row {
    config::RelayTls mode;
    bool plain;  // the next attempt goes in plaintext
  };
  const Row rows[] = {{config::RelayTls::may, true}, {config::RelayTls::verify, false}};
  for (const auto& row : rows) {
    CAPTURE(static_cast<int>(row.mode));
    Driver d;
    d.core = Core(schedule(), Limits{.relay_tls = row.mode});
    auto c = start(d);
    d.core.route_found(c.attempt, {target("mx.example"), target("mx2.example", 2)});
    auto first = d.core.next_host(c.attempt, d.now);
    REQUIRE(first);
    CHECK_FALSE(first->plain);
    CHECK(plan_tls(row.mode, *first, true, true).step == TlsStep::starttls);
    auto why = check_tls(row.mode, *first, fail(Errc::refused, "TLS handshake: unsupported protocol"), false);
    REQUIRE(why);
    d.core.tls_failed(c.attempt, *first, *why, d.now);
    auto other = d.core.next_host(c.attempt, d.now);  // another host is not concerned
    REQUIRE(other);
    CHECK_FALSE(other->plain);
    d.core.tls_failed(c.attempt, *other, *why, d.now);  // both failed: remembered each
    CHECK_FALSE(d.core.next_host(c.attempt, d.now));
    d.perform(d.core.attempt_done(c.attempt, d.now));
    CHECK(d.rcpt("Q1", 0).last_reply.line() == "4.7.5 STARTTLS with mx.example failed: TLS handshake: unsupported protocol");
    CHECK_FALSE(d.logs.has("event=tls_fallback"));

    // The next attempt, `after` seconds on: its connection, and the host the core gives it.
    auto attempt_after = [&d](std::time_t after) {
      d.now += after;
      d.tick();
      auto next = d.attempt();
      d.core.route_found(next.attempt, {target("mx.example")});
      return std::pair{next, d.core.next_host(next.attempt, d.now)};
    };

    // The retry: in plaintext with may (STARTTLS is not even tried), TLS again with verify.
    auto [retry, again] = attempt_after(5);
    REQUIRE(again);
    CHECK(again->plain == row.plain);
    CHECK(plan_tls(row.mode, *again, true, true).step == (row.plain ? TlsStep::clear : TlsStep::starttls));
    CHECK(d.logs.has("event=tls_fallback host=mx.example") == row.plain);
    d.core.host_failed(retry.attempt, connection_lost(*again));
    d.perform(d.core.attempt_done(retry.attempt, d.now));

    // Remembered for an hour (or twice [queue] retry_max, when longer), then TLS is tried again.
    auto then = attempt_after(3600).second;
    REQUIRE(then);
    CHECK_FALSE(then->plain);
  }
}

TEST_CASE("the relay connects from the server's own loopback alias, else from where the kernel says") {
  struct Row { const char* listen; const char* target; const char* source; };
  for (const Row& r : {Row{"127.0.0.10", "127.0.0.11", "127.0.0.10"},  // loopback aliases: its own
                       Row{"127.0.0.1", "127.0.0.11", ""},             // the default address: as always
                       Row{"127.0.0.10", "198.18.0.20", ""},           // a loopback source cannot reach it
                       Row{"198.18.0.10", "198.18.0.11", ""},          // a namespace's one address anyway
                       Row{"0.0.0.0", "127.0.0.11", ""},               // every address: no choice to make
                       Row{"127.0.0.10", "127.0.0.10", "127.0.0.10"}}) {
    CAPTURE(r.listen);
    CAPTURE(r.target);
    CHECK(source_address(r.listen, r.target) == r.source);
  }
}
