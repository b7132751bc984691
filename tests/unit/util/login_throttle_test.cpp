// The login throttle (issue 10, defect 13): per client address and per account, across connections;
// parallel failures queue behind each other; the right password from a clean address is never delayed.
#include "util/login_throttle.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace mail::util;
using namespace std::chrono_literals;
using T = LoginThrottle;

namespace {
const T::Clock::time_point t0{};
const char* kAcc = "usr2@mail.sustech.edu.cn";
}  // namespace

TEST_CASE("one guesser, one at a time: 250 ms doubling to 2 s, fading out over a minute") {
  T t;
  auto wait = [&](T::Clock::time_point now) { return t.attempt("1.2.3.4", kAcc, false, now).answer_at - now; };
  CHECK(wait(t0) == 250ms);
  CHECK(wait(t0 + 1s) == 500ms);
  CHECK(wait(t0 + 2s) == 1000ms);
  CHECK(wait(t0 + 4s) == 2000ms);
  CHECK(wait(t0 + 7s) == 2000ms);  // capped
  CHECK(t.peer_failures("1.2.3.4", t0 + 7s) == 5);
  CHECK(t.account_failures(kAcc, t0 + 7s) == 5);
  CHECK(t.peer_failures("1.2.3.4", t0 + 37s) == 3);  // half a minute later: half faded
  CHECK(t.peer_failures("1.2.3.4", t0 + 68s) == 0);
  CHECK(wait(t0 + 68s) == 250ms);
}

TEST_CASE("parallel guesses from one address queue: N of them cost the sum of their delays") {
  T t;
  std::vector<T::Clock::duration> answers;
  for (int i = 0; i < 100; ++i) {
    auto v = t.attempt("127.0.0.1", kAcc, false, t0);
    if (!v.refused) answers.push_back(v.answer_at - t0);
  }
  REQUIRE(answers.size() >= 5);
  CHECK(answers[0] == 250ms);
  CHECK(answers[1] == 750ms);
  CHECK(answers[2] == 1750ms);
  CHECK(answers[3] == 3750ms);
  CHECK(answers[4] == 5750ms);
  CHECK(answers.back() <= T::kMaxWait);
  // What the reproduction did (200 guesses over 100 connections in 4 s) now gets at most 4 answers in 5 s.
  CHECK(std::count_if(answers.begin(), answers.end(), [](auto d) { return d <= 5s; }) == 4);
}

TEST_CASE("beyond the longest wait an attempt is refused, not queued, and says nothing of the password") {
  T t;
  int refused = 0;
  for (int i = 0; i < 50; ++i) refused += t.attempt("127.0.0.1", kAcc, false, t0).refused;
  CHECK(refused > 30);
  auto right = t.attempt("127.0.0.1", kAcc, true, t0);
  auto wrong = t.attempt("127.0.0.1", kAcc, false, t0);
  CHECK(right.refused);
  CHECK(wrong.refused);
  CHECK(right.answer_at == t0 + T::kMaxWait);
  CHECK(wrong.answer_at == right.answer_at);
  // Refusals do not lengthen the queue: once it drains, the next attempt is queued again.
  CHECK_FALSE(t.attempt("127.0.0.1", kAcc, false, t0 + 14s).refused);
}

TEST_CASE("failures count per account across addresses, and per address across accounts") {
  T t;
  // Three addresses guessing one account in parallel queue behind the account's failures.
  CHECK(t.attempt("10.0.0.1", kAcc, false, t0).answer_at == t0 + 250ms);
  CHECK(t.attempt("10.0.0.2", kAcc, false, t0).answer_at == t0 + 750ms);
  CHECK(t.attempt("10.0.0.3", kAcc, false, t0).answer_at == t0 + 1750ms);
  CHECK(t.account_failures(kAcc, t0) == 3);
  // One address guessing several accounts queues behind its own failures.
  T u;
  CHECK(u.attempt("10.0.0.9", "a@x.org", false, t0).answer_at == t0 + 250ms);
  CHECK(u.attempt("10.0.0.9", "b@x.org", false, t0).answer_at == t0 + 750ms);
  CHECK(u.attempt("10.0.0.9", "c@x.org", false, t0).answer_at == t0 + 1750ms);
  CHECK(u.peer_failures("10.0.0.9", t0) == 3);
}

TEST_CASE("the right password: at once from a clean address; on the failures' schedule from the guesser") {
  T t;
  for (int i = 0; i < 10; ++i) t.attempt("127.0.0.1", kAcc, false, t0);
  // The owner, from another address, during the attack.
  auto owner = t.attempt("127.0.0.2", kAcc, true, t0 + 1s);
  CHECK(owner.answer_at == t0 + 1s);
  CHECK_FALSE(owner.refused);
  CHECK(t.peer_failures("127.0.0.2", t0 + 1s) == 0);
  // The guesser's right guess waits as long as a wrong one would, and resets nothing.
  T g;
  for (int i = 0; i < 3; ++i) g.attempt("127.0.0.1", kAcc, false, t0);  // answered at 0.25, 0.75, 1.75 s
  T h = g;
  auto right = g.attempt("127.0.0.1", kAcc, true, t0);
  auto wrong = h.attempt("127.0.0.1", kAcc, false, t0);
  CHECK(right.answer_at == wrong.answer_at);
  CHECK(right.answer_at == t0 + 3750ms);
  CHECK(g.peer_failures("127.0.0.1", t0) == 3);
  CHECK(h.peer_failures("127.0.0.1", t0) == 4);
  // A wrong password from a clean address still waits behind the account's queue.
  CHECK(g.attempt("127.0.0.3", kAcc, false, t0).answer_at > t0 + 3750ms);
}

TEST_CASE("client address keys: IPv4 as is, IPv4-mapped as IPv4, IPv6 by /48") {
  CHECK(T::peer_key("192.0.2.7") == "192.0.2.7");
  CHECK(T::peer_key("::ffff:192.0.2.7") == "192.0.2.7");
  CHECK(T::peer_key("2001:db8:aa:1::1") == T::peer_key("2001:db8:aa:ffff::2"));
  CHECK(T::peer_key("2001:db8:aa::1") != T::peer_key("2001:db8:ab::1"));
  T t;
  t.attempt("2001:db8:aa:1::1", kAcc, false, t0);
  CHECK(t.peer_failures("2001:db8:aa:2::7", t0) == 1);
}

TEST_CASE("the throttle's table stays bounded and keeps the worst offenders") {
  T t(10);
  for (int i = 0; i < 5; ++i) t.attempt("9.9.9.9", "x", false, t0);
  for (int i = 0; i < 1000; ++i) t.attempt("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), "u" + std::to_string(i), false, t0);
  CHECK(t.size() <= 10);
  CHECK(t.peer_failures("9.9.9.9", t0) == 5);
  CHECK(t.attempt("10.1.1.1", "y", true, t0).answer_at == t0);  // right passwords from clean addresses add nothing
  CHECK(t.size() <= 10);
}
