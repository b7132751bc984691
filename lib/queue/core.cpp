#include "queue/core.hpp"

#include <algorithm>

#include "smtp/command.hpp"
#include "store/queue.hpp"
#include "util/address.hpp"
#include "util/log.hpp"

namespace mail::queue {

using smtp::Outcome;
using store::RcptState;

namespace {
std::string domain_of(std::string_view address) { return util::canonical_domain(smtp::domain_of(address)); }

const char* result_name(RcptState s) {
  return s == RcptState::delivered ? "sent" : s == RcptState::failed ? "failed" : "deferred";
}

void append(Effects& to, Effects more) {
  for (auto& e : more) to.push_back(std::move(e));
}
}  // namespace

// ---- the queue ---------------------------------------------------------------------------------

void Core::loaded(std::vector<Entry> entries) {
  for (auto& e : entries) {
    for (auto& r : e.env.recipients)
      if (r.state == RcptState::pending) r.next_try = 0;  // at start, everything due is tried at once
    auto id = e.env.id;
    entries_.emplace(id, State{std::move(e.env), e.hops});
  }
  due_ = 0;  // the first tick reads them all
}

Effects Core::submitted(Entry entry, std::time_t now) {
  auto id = entry.env.id;
  entries_.emplace(id, State{std::move(entry.env), entry.hops});
  dirty_.insert(id);
  return {WakeAt{now}};
}

// Whether to settle an entry now: nothing left to deliver (or loaded so), or an envelope not saved,
// once its deliveries are over and the retry time after a failed settle has come.
bool Core::settle_due(State& e, bool pending, std::time_t now, std::time_t& next) {
  if ((pending && !e.unsaved) || !e.active.empty()) return false;
  if (e.retry_at <= now) {
    // Not again before the next try's time, which a failure sets to the same.
    e.retry_at = now + store::retry_delay(e.settle_failures + 1, schedule_).count();
    next = std::min(next, e.retry_at);
    return true;
  }
  next = std::min(next, e.retry_at);
  return false;
}

// A tick reads the entries that changed since the last one (dirty_) and, once the earliest time it
// knows of has come (due_), the whole queue: with 10^5 entries waiting for their retry, a new message
// costs one entry's look, not a scan of the queue (issue 15).
Effects Core::tick(std::time_t now) {
  const bool full = now >= due_;
  std::time_t next = full ? now + 3600 : due_;
  std::map<std::string, std::vector<std::string>> due;  // domain -> entry ids
  std::vector<std::string> unsettled;
  auto visit = [&](const std::string& id, State& e) {
    ++scanned_;
    if (e.finishing) return;
    bool pending = false;
    for (const auto& r : e.env.recipients) {
      if (r.state != RcptState::pending) continue;
      pending = true;
      if (r.next_try > now) {
        next = std::min(next, r.next_try);
        continue;
      }
      auto d = domain_of(r.address);
      if (e.active.contains(d)) continue;
      auto& ids = due[d];
      if (ids.empty() || ids.back() != id) ids.push_back(id);
    }
    if (settle_due(e, pending, now, next)) unsettled.push_back(id);
  };
  auto changed = std::exchange(dirty_, {});
  if (full) {
    for (auto& [id, e] : entries_) visit(id, e);
  } else {
    for (const auto& id : changed)
      if (auto it = entries_.find(id); it != entries_.end()) visit(id, it->second);
  }
  Effects out;
  for (auto& [domain, ids] : due) {
    // Up to connections_per_destination connections to a destination; each carries several messages.
    int slots = limits_.connections_per_destination - load_[domain];
    if (slots <= 0) {
      dirty_.insert(ids.begin(), ids.end());  // still due: looked at again when a connection ends
      continue;
    }
    std::size_t groups = std::min<std::size_t>(static_cast<std::size_t>(slots), ids.size());
    std::vector<std::vector<std::string>> split(groups);
    for (std::size_t i = 0; i < ids.size(); ++i) split[i % groups].push_back(ids[i]);
    for (auto& group : split) {
      for (const auto& id : group) entries_.at(id).active.insert(domain);
      ++load_[domain];
      AttemptId a = next_attempt_++;
      attempts_[a] = Attempt{domain, group, {}, {}, 0, {}, false};
      out.emplace_back(std::in_place_type<Connect>, a, domain, std::move(group));
    }
  }
  // After the deliveries above: an unsaved entry they work on is saved rather than finished.
  for (const auto& id : unsettled) append(out, settle(id, Origin::schedule, now));
  due_ = next;
  out.emplace_back(std::in_place_type<WakeAt>, next);
  return out;
}

// ---- settling: an entry's state to disk, or the entry out of the queue ---------------------------

Effects Core::wake_now(Origin origin, std::time_t now) {
  if (origin == Origin::schedule) return {WakeAt{now}};
  return {};
}

// After a delivery touched an entry (or when a failed settle is due again): save its state, or finish
// it when nothing is left. Nothing leaves the queue before its outcome is durable elsewhere: the
// bounce is stored first, then the entry removed; when either fails the entry stays.
Effects Core::settle(const std::string& id, Origin origin, std::time_t now) {
  dirty_.insert(id);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.finishing) return wake_now(origin, now);
  State& e = it->second;
  bool pending = std::any_of(e.env.recipients.begin(), e.env.recipients.end(),
                             [](const auto& r) { return r.state == RcptState::pending; });
  if (pending || !e.active.empty()) return {Save{id, origin, false}};
  e.finishing = true;
  std::vector<smtp::FailedRecipient> failed;
  for (const auto& r : e.env.recipients)
    if (r.state == RcptState::failed) failed.emplace_back(r.address, r.last_reply);
  if (!failed.empty() && !e.env.bounced) {
    if (!e.env.sender.empty()) return {Bounce{e.env, std::move(failed), origin}};
    log::warn("relay", "bounce_dropped", {{"id", id}, {"why", "null sender"}});  // a bounce is never bounced
    e.env.bounced = true;
  }
  return {Remove{id, origin}};
}

// A step of settling failed: the entry stays and is settled again on the queue's schedule; the outcome
// so far goes to disk too, so that a restart neither delivers nor bounces again.
Effects Core::after_failure(State& e, Origin origin, const char* event, const std::string& why, std::time_t now) {
  auto delay = store::retry_delay(++e.settle_failures, schedule_);
  e.retry_at = now + delay.count();
  log::error("relay", event, {{"id", e.env.id}, {"why", why}, {"retry_in", delay.count()}});
  return {Save{e.env.id, origin, true}};
}

Effects Core::saved(const Save& s, const Result<void>& r, std::time_t now) {
  dirty_.insert(s.id);
  auto it = entries_.find(s.id);
  if (it == entries_.end()) return wake_now(s.origin, now);
  State& e = it->second;
  if (s.after_failure) {
    if (!r)
      log::error("relay", "save_failed", {{"id", s.id}, {"why", r.error().detail}, {"retry_in", e.retry_at - now}});
    e.finishing = false;
    return wake_now(s.origin, now);
  }
  e.unsaved = !r;
  if (r) {
    e.settle_failures = 0;
    return wake_now(s.origin, now);
  }
  auto delay = store::retry_delay(++e.settle_failures, schedule_);
  e.retry_at = now + delay.count();
  log::error("relay", "save_failed", {{"id", s.id}, {"why", r.error().detail}, {"retry_in", delay.count()}});
  return wake_now(s.origin, now);
}

Effects Core::bounced(const Bounce& b, const Result<void>& r, std::time_t now) {
  dirty_.insert(b.env.id);
  auto it = entries_.find(b.env.id);
  if (it == entries_.end()) return wake_now(b.origin, now);
  if (!r) return after_failure(it->second, b.origin, "bounce_failed", r.error().detail, now);
  it->second.env.bounced = true;
  return {Remove{b.env.id, b.origin}};
}

Effects Core::removed(const Remove& rm, const Result<void>& r, std::time_t now) {
  dirty_.insert(rm.id);
  auto it = entries_.find(rm.id);
  if (it == entries_.end()) return wake_now(rm.origin, now);
  if (!r) return after_failure(it->second, rm.origin, "remove_failed", r.error().detail, now);
  entries_.erase(it);
  return wake_now(rm.origin, now);
}

const store::QueueEnvelope* Core::envelope(const std::string& id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second.env;
}

// ---- outcomes of recipients --------------------------------------------------------------------

// A temporary failure: try again later, or give up when the message is too old.
void Core::defer(store::QueuedRecipient& r, const store::QueueEnvelope& env, const Outcome& why, std::time_t now) {
  ++r.attempts;
  r.last_reply = why;
  if (now - env.received >= schedule_.lifetime.count()) {
    r.state = RcptState::failed;
    r.last_reply = Outcome::ours("4.4.7", "Message delivery time exceeded; last error: " + why.line());
  } else {
    r.next_try = now + store::retry_delay(r.attempts, schedule_).count();
  }
}

void Core::record(const std::string& id, store::QueuedRecipient& r, const store::QueueEnvelope& env, const Outcome& reply,
                  std::time_t now) {
  if (reply.positive()) {
    r.state = RcptState::delivered;
    r.last_reply = reply;
  } else if (reply.permanent()) {
    r.state = RcptState::failed;
    r.last_reply = reply;
  } else {
    defer(r, env, reply, now);
  }
  log::info("relay", "recipient", {{"id", id}, {"to", r.address}, {"host", reply.mta}, {"result", result_name(r.state)},
                                   {"tls", reply.tls}, {"reply", reply.line()}});
}

std::vector<store::QueuedRecipient*> Core::pending_in(State& e, const std::string& domain) {
  std::vector<store::QueuedRecipient*> out;
  for (auto& r : e.env.recipients)
    if (r.state == RcptState::pending && domain_of(r.address) == domain) out.push_back(&r);
  return out;
}

// ---- a delivery attempt ------------------------------------------------------------------------

void Core::route_found(AttemptId a, std::vector<Target> targets) { attempts_.at(a).targets = std::move(targets); }

void Core::route_failed(AttemptId a, Outcome why) {
  auto& at = attempts_.at(a);
  at.permanent = why.permanent();  // NXDOMAIN, or no host resolves for good: bounce now
  at.last_error = std::move(why);
}

std::optional<Target> Core::next_host(AttemptId a, std::time_t now) {
  auto& at = attempts_.at(a);
  if (at.done.size() == at.ids.size() || at.next >= at.targets.size()) return std::nullopt;
  Target t = at.targets[at.next++];
  if (auto it = plain_until_.find(t.host); it != plain_until_.end()) {
    if (it->second > now) {
      t.plain = true;
      log::info("relay", "tls_fallback", {{"host", t.host}, {"addr", t.ip + ":" + std::to_string(t.port)},
                                          {"until", it->second - now}});
    } else {
      plain_until_.erase(it);
    }
  }
  return t;
}

void Core::host_failed(AttemptId a, Outcome why) { attempts_.at(a).last_error = std::move(why); }

// Postfix at `may`: a peer whose TLS fails (one that only speaks TLS 1.0, or answers STARTTLS and then
// no handshake) gets its mail in plaintext rather than never; for long enough that the next retries
// see it. Expired hosts are forgotten here, so the map holds only hosts that failed lately.
void Core::tls_failed(AttemptId a, const Target& t, Outcome why, std::time_t now) {
  std::erase_if(plain_until_, [now](const auto& host) { return host.second <= now; });
  if (limits_.relay_tls == config::RelayTls::may)
    plain_until_[t.host] = now + std::max<std::time_t>(3600, 2 * schedule_.retry_max.count());
  host_failed(a, std::move(why));
}

Turn Core::message(AttemptId a, const std::string& id, std::time_t now) {
  auto& at = attempts_.at(a);
  auto it = entries_.find(id);
  if (at.done.contains(id) || it == entries_.end()) return {};
  State& e = it->second;
  auto rcpts = pending_in(e, at.domain);
  if (!rcpts.empty() && e.hops > limits_.max_hops) {
    for (auto* r : rcpts) {
      r->state = RcptState::failed;
      r->last_reply = Outcome::ours("5.4.6", "Too many hops (more than " + std::to_string(limits_.max_hops) +
                                                 " Received fields): mail loop?");
    }
    rcpts.clear();
  }
  if (rcpts.empty()) return {message_done(a, id, now), std::nullopt};
  Send s{id, e.env.sender, {}, e.env.body_8bit};
  for (auto* r : rcpts) s.recipients.push_back(r->address);
  return {{}, std::move(s)};
}

void Core::result(AttemptId a, const std::string& id, const std::string& rcpt, const Outcome& reply, std::time_t now) {
  auto& at = attempts_.at(a);
  dirty_.insert(id);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  for (auto* r : pending_in(it->second, at.domain))
    if (util::same_address(r->address, rcpt)) record(id, *r, it->second.env, reply, now);
}

// Each recipient's state goes to disk right after the server's reply: the envelope is rewritten, or
// (nothing left to do) the entry finished at once.
Effects Core::message_done(AttemptId a, const std::string& id, std::time_t now) {
  auto& at = attempts_.at(a);
  at.done.insert(id);
  dirty_.insert(id);
  auto it = entries_.find(id);
  if (it == entries_.end()) return {};
  it->second.active.erase(at.domain);
  return settle(id, Origin::delivery, now);
}

Effects Core::attempt_done(AttemptId a, std::time_t now) {
  auto node = attempts_.extract(a);
  auto& at = node.mapped();
  dirty_.insert(at.ids.begin(), at.ids.end());
  // What no server took: temporary (retry) or permanent (bounce). A message cut off by a lost
  // connection is among them: its outcome is unknown, so its recipients get it at most twice.
  const Outcome why = at.last_error.empty() ? Outcome::ours("4.4.1", "no mail host answered") : at.last_error;
  for (const auto& id : at.ids) {
    auto it = entries_.find(id);
    if (at.done.contains(id) || it == entries_.end()) continue;
    for (auto* r : pending_in(it->second, at.domain)) {
      if (at.permanent) {
        r->state = RcptState::failed;
        r->last_reply = why;
      } else {
        defer(*r, it->second.env, why, now);
      }
      log::info("relay", "recipient", {{"id", id}, {"to", r->address}, {"result", result_name(r->state)},
                                       {"reply", r->last_reply.line()}});
    }
  }
  if (--load_[at.domain] <= 0) load_.erase(at.domain);
  Effects out;
  for (const auto& id : at.ids) {
    auto it = entries_.find(id);
    if (it != entries_.end() && it->second.active.erase(at.domain) > 0) append(out, settle(id, Origin::delivery, now));
  }
  out.emplace_back(std::in_place_type<WakeAt>, now);
  return out;
}

}  // namespace mail::queue
