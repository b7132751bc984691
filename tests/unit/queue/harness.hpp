// A scripted driver for queue::Core in tests: performs the store effects (with the results a test
// chooses) the way apps/mailsrv/relay.cpp does, depth first, and writes down what it did as text
// ("save Q1", "bounce Q1 to a@b: x@y", "remove Q1", "connect gmail.com Q1,Q2", "wake +5").
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "queue/core.hpp"
#include "util/log.hpp"

template <>
struct doctest::StringMaker<std::vector<std::string>> {
  static doctest::String convert(const std::vector<std::string>& v) {
    std::string out = "{";
    for (const auto& s : v) out += (out.size() > 1 ? ", \"" : "\"") + s + "\"";
    return (out + "}").c_str();
  }
};

namespace queue_test {

using namespace mail;
using namespace mail::queue;
using namespace std::chrono_literals;
using smtp::Outcome;
using store::RcptState;

constexpr std::time_t T0 = 1'800'000'000;

inline config::Queue schedule() {
  config::Queue q;
  q.retry_first = 5s;
  q.retry_max = 600s;
  q.lifetime = 3600s;
  return q;
}

inline store::QueueEnvelope envelope(std::string id, std::string sender, std::vector<std::string> rcpts,
                                     std::time_t received = T0) {
  store::QueueEnvelope e{std::move(id), std::move(sender), "h", received, {}};
  for (auto& r : rcpts) e.recipients.push_back({std::move(r), RcptState::pending, 0, 0, {}});
  return e;
}

inline Target target(std::string host, int n = 1) { return {std::move(host), "10.0.0." + std::to_string(n), 25}; }

/// A server's reply to `command` from the default target.
inline Outcome reply(const char* line, std::string command = "RCPT TO") {
  auto o = Outcome::parse(line);
  o.mta = "mx.example[10.0.0.1]:25";
  o.command = std::move(command);
  o.tls = "none";
  return o;
}

struct Logs {
  std::vector<std::string> lines;
  Logs() {
    log::set_sink([this](std::string_view l) { lines.emplace_back(l); });
  }
  ~Logs() { log::set_sink({}); }
  int count(std::string_view needle) const {
    int n = 0;
    for (const auto& l : lines) n += l.find(needle) != std::string::npos;
    return n;
  }
  bool has(std::string_view needle) const { return count(needle) > 0; }
};

struct Driver {
  Core core{schedule()};
  Logs logs;
  std::time_t now = T0;
  std::vector<std::string> did;              // what the effects were, in order
  std::vector<Connect> connects;             // attempts started and not yet finished by the test
  std::vector<Bounce> bounces;               // bounces stored
  std::vector<store::QueueEnvelope> saves;   // envelopes as saved
  std::function<Result<void>(const Effect&)> disk = [](const Effect&) { return Result<void>(); };

  static std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
    return out;
  }

  void perform(Effects effects) {
    std::deque<Effect> todo(std::make_move_iterator(effects.begin()), std::make_move_iterator(effects.end()));
    while (!todo.empty()) {
      Effect e = std::move(todo.front());
      todo.pop_front();
      Effects more;
      if (auto* c = std::get_if<Connect>(&e)) {
        did.push_back("connect " + c->domain + " " + join(c->ids));
        connects.push_back(*c);
      } else if (auto* w = std::get_if<WakeAt>(&e)) {
        did.push_back("wake +" + std::to_string(w->at - now));
      } else if (auto* s = std::get_if<Save>(&e)) {
        did.push_back("save " + s->id);
        auto r = disk(e);
        if (r && core.envelope(s->id)) saves.push_back(*core.envelope(s->id));
        more = core.saved(*s, r, now);
      } else if (auto* b = std::get_if<Bounce>(&e)) {
        std::vector<std::string> to;
        for (const auto& f : b->failed) to.push_back(f.address);
        did.push_back("bounce " + b->env.id + " to " + b->env.sender + ": " + join(to));
        auto r = disk(e);
        if (r) bounces.push_back(*b);
        more = core.bounced(*b, r, now);
      } else if (auto* rm = std::get_if<Remove>(&e)) {
        did.push_back("remove " + rm->id);
        more = core.removed(*rm, disk(e), now);
      }
      todo.insert(todo.begin(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    }
  }

  std::vector<std::string> take() { return std::exchange(did, {}); }
  void tick() { perform(core.tick(now)); }
  void submit(store::QueueEnvelope env, int hops = 0) { perform(core.submitted({std::move(env), hops}, now)); }

  /// The oldest started attempt, taken off the list.
  Connect attempt() {
    REQUIRE_FALSE(connects.empty());
    auto c = connects.front();
    connects.erase(connects.begin());
    return c;
  }

  /// Attempt `c` over one host that takes every message and answers each recipient from `answer`.
  void deliver(const Connect& c, const std::function<Outcome(const std::string& rcpt)>& answer) {
    core.route_found(c.attempt, {target("mx.example")});
    REQUIRE(core.next_host(c.attempt, now));
    for (const auto& id : c.ids) {
      auto turn = core.message(c.attempt, id, now);
      perform(std::move(turn.effects));
      if (!turn.send) continue;
      for (const auto& r : turn.send->recipients) core.result(c.attempt, id, r, answer(r), now);
      perform(core.message_done(c.attempt, id, now));
    }
    CHECK_FALSE(core.next_host(c.attempt, now));
    perform(core.attempt_done(c.attempt, now));
  }

  const store::QueuedRecipient& rcpt(const std::string& id, std::size_t i) {
    auto* e = core.envelope(id);
    REQUIRE(e != nullptr);
    REQUIRE(i < e->recipients.size());
    return e->recipients[i];
  }
};

}  // namespace queue_test
