// A message's journey across the world (docs/view.md "Journeys"): the events of every server that
// concern one message, linked by Message-ID, store and queue ids (per server), bounce ids, relay
// session ids and Maildir unique names, and assembled on request into time-ordered steps between named
// parties: submission, dns, relay, delivery, bounce, pop3. At most kMaxJourneys are kept, oldest
// dropped with every index entry that pointed at them.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "parties.hpp"
#include "util/kv.hpp"

namespace mailview {

/// One event of a journey, with what its session told at the time (the session may be gone later).
struct Fact {
  std::string server, event, ts;
  mail::util::KvPairs fields;
  std::string proto, peer, local;  // of the event's session, when it has one
  std::string_view get(std::string_view key) const { return mail::util::kv_get(fields, key); }
};

struct Step {
  std::string ts, kind, from, to, server, sid, summary, peer_sid;
};

struct Journey {
  std::string msgid, from, to, first, last;
  std::vector<Fact> facts;
  std::vector<std::string> keys;  // its index entries, removed with it
};

class Journeys {
 public:
  explicit Journeys(std::size_t max = kMaxJourneys) : max_(max) {}

  /// Files `f` under the journeys it belongs to (making one for a new message), and indexes the ids it
  /// introduces. Returns their msgids: none when the event concerns no known message, several for a
  /// relay session carrying several queue entries.
  std::vector<std::string> add(Fact f);
  const Journey* find(const std::string& msgid) const;
  /// Newest first.
  std::vector<const Journey*> list(std::size_t limit) const;
  std::size_t size() const noexcept { return by_msgid_.size(); }

  static constexpr std::size_t kMaxJourneys = 10000;
  static constexpr std::size_t kMaxFacts = 64;  // per journey: a few retries of a message with many recipients
  // Index entries per journey (its ids and Maildir names): many messages may share one Message-ID.
  static constexpr std::size_t kMaxKeys = 1024;
  static constexpr std::size_t kMaxValue = 1024;  // octets of one field value kept in a journey's fact

 private:
  std::string lookup(const std::string& key) const;
  void index(Journey& j, const std::string& key);
  Journey& make(const std::string& msgid, const std::string& ts);

  std::size_t max_;
  std::map<std::string, Journey> by_msgid_;
  std::deque<std::string> order_;  // oldest first
  std::map<std::string, std::string> index_;  // "server|id:X", "server|file:X" -> msgid
};

/// The steps of a journey in time order (pure: only the facts and the party names).
std::vector<Step> assemble(const Journey& j, const Parties& parties);

}  // namespace mailview
