#include "journey.hpp"

#include <algorithm>

namespace mailview {

namespace {

std::string key(const std::string& server, std::string_view kind, std::string_view value) {
  return server + "|" + std::string(kind) + ":" + std::string(value);
}

// "a,b" -> {"a", "b"} (the feed's lists of recipients and Maildir names).
std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto comma = s.find(',');
    if (comma != 0) out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

std::string Journeys::lookup(const std::string& k) const {
  auto it = index_.find(k);
  return it == index_.end() || !by_msgid_.contains(it->second) ? std::string() : it->second;
}

void Journeys::index(Journey& j, const std::string& k) {
  auto [it, fresh] = index_.try_emplace(k, j.msgid);
  if (!fresh && it->second == j.msgid) return;
  // Bounded per journey: many messages may share one Message-ID (the sender picks it); their later ids
  // then stay unlinked, as facts beyond kMaxFacts stay untold.
  if (j.keys.size() >= kMaxKeys) {
    if (fresh) index_.erase(it);
    return;
  }
  it->second = j.msgid;  // an entry taken over from another journey is this one's to remove now
  j.keys.push_back(k);
}

Journey& Journeys::make(const std::string& msgid, const std::string& ts) {
  auto [it, fresh] = by_msgid_.try_emplace(msgid);
  if (fresh) {
    it->second.msgid = msgid;
    it->second.first = ts;
    order_.push_back(msgid);
    while (order_.size() > max_) {
      auto old = by_msgid_.find(order_.front());
      for (const auto& k : old->second.keys)
        if (auto i = index_.find(k); i != index_.end() && i->second == old->first) index_.erase(i);
      by_msgid_.erase(old);
      order_.pop_front();
    }
    it = by_msgid_.find(msgid);
  }
  return it->second;
}

std::vector<std::string> Journeys::add(Fact f) {
  const std::string& s = f.server;
  const auto ids = split_list(f.get("id"));  // a relay session and its lookups may carry several entries
  std::vector<std::string> found;
  if (f.event == "message" || f.event == "queued" || f.event == "delivered") {
    // A bounce's own events come with its id, already filed under the message it reports on.
    std::string id = ids.empty() ? "" : ids.front(), msgid(f.get("msgid"));
    std::string j = id.empty() ? "" : lookup(key(s, "id", id));
    if (j.empty()) {
      j = msgid.empty() ? "<" + s + "/" + id + ">" : msgid;  // a message without Message-ID: its store id
      Journey& made = make(j, f.ts);
      if (made.from.empty()) made.from = f.get("from");
      if (made.to.empty()) made.to = f.get("to");
    }
    found.push_back(j);
  } else if (f.event == "retr" || f.event == "dele") {
    if (auto j = lookup(key(s, "file", f.get("file"))); !j.empty()) found.push_back(j);
  } else {  // open (relay), lookup, attempt, bounced
    for (const auto& id : ids)
      if (auto j = lookup(key(s, "id", id)); !j.empty() && std::find(found.begin(), found.end(), j) == found.end())
        found.push_back(j);
  }
  for (const auto& msgid : found) {
    Journey& j = by_msgid_.at(msgid);
    if (f.event == "message" || f.event == "queued" || f.event == "delivered")
      for (const auto& id : ids) index(j, key(s, "id", id));
    if (auto b = f.get("bounce_id"); !b.empty()) index(j, key(s, "id", b));
    for (const auto& file : split_list(f.get("files"))) index(j, key(s, "file", file));
    j.last = f.ts;
    if (j.facts.size() < kMaxFacts) {
      j.facts.push_back(f);
      // A sender chooses what some values hold (100 recipients of 256 octets): a kept fact stays small.
      for (auto& [_, v] : j.facts.back().fields)
        if (v.size() > kMaxValue) v.resize(kMaxValue);
    }
  }
  return found;
}

const Journey* Journeys::find(const std::string& msgid) const {
  auto it = by_msgid_.find(msgid);
  return it == by_msgid_.end() ? nullptr : &it->second;
}

std::vector<const Journey*> Journeys::list(std::size_t limit) const {
  std::vector<const Journey*> out;
  for (auto it = order_.rbegin(); it != order_.rend() && out.size() < limit; ++it) out.push_back(&by_msgid_.at(*it));
  return out;
}

namespace {

Step step(const Fact& f, std::string kind, std::string from, std::string to, std::string summary) {
  return {f.ts, std::move(kind), std::move(from), std::move(to), f.server, std::string(f.get("sid")), std::move(summary), ""};
}

// The relay session whose client end is `peer` (the receiving side of a hop), or nullptr.
const Fact* relay_opened_from(const Journey& j, const std::string& peer) {
  for (const auto& f : j.facts)
    if (f.event == "open" && f.get("side") == "client" && f.get("local") == peer) return &f;
  return nullptr;
}

std::string attempts_of(const Journey& j, const Fact& open) {
  std::string out;
  for (const auto& f : j.facts)
    if (f.event == "attempt" && f.server == open.server && f.get("sid") == open.get("sid"))
      out += "; " + std::string(f.get("to")) + " " + std::string(f.get("result")) + " " + std::string(f.get("reply"));
  return out;
}

}  // namespace

std::vector<Step> assemble(const Journey& j, const Parties& parties) {
  std::vector<Step> out;
  std::map<std::string, std::size_t> relay_step;  // "server|sid" -> index in out
  std::vector<const Fact*> received;              // message events at the far end of a relay hop
  for (const auto& f : j.facts) {
    const std::string& s = f.server;
    if (f.event == "message") {
      if (relay_opened_from(j, f.peer)) {
        received.push_back(&f);
      } else {
        out.push_back(step(f, "submission", parties.name(f.peer), s,
                           std::string(f.get("from")) + " -> " + std::string(f.get("to")) + " (" + std::string(f.get("result")) + " as " + std::string(f.get("id")) + ")"));
      }
      if (!f.get("files").empty())
        out.push_back(step(f, "delivery", s, s, "into " + std::string(f.get("local")) + " local mailbox(es): " + std::string(f.get("files"))));
    } else if (f.event == "open" && f.get("side") == "client") {
      relay_step[s + "|" + std::string(f.get("sid"))] = out.size();
      out.push_back(step(f, "relay", s, parties.name(f.get("peer")),
                         "to " + std::string(f.get("host")) + " (" + std::string(f.get("peer")) + ")" + attempts_of(j, f)));
    } else if (f.event == "lookup") {
      out.push_back(step(f, "dns", s, parties.name(f.get("server")),
                         std::string(f.get("type")) + " " + std::string(f.get("name")) + "? " + std::string(f.get("rcode")) + " " + std::string(f.get("answer"))));
    } else if (f.event == "attempt") {
      if (!relay_step.contains(s + "|" + std::string(f.get("sid"))))  // no session seen (it failed to connect)
        out.push_back(step(f, "relay", s, s, std::string(f.get("to")) + " " + std::string(f.get("result")) + " " + std::string(f.get("reply"))));
    } else if (f.event == "bounced") {
      out.push_back(step(f, "bounce", s, s, "report to " + std::string(f.get("to")) + " as " + std::string(f.get("bounce_id"))));
    } else if (f.event == "delivered") {
      out.push_back(step(f, "delivery", s, s, "into the mailbox of " + std::string(f.get("to"))));
    } else if (f.event == "retr" || f.event == "dele") {
      out.push_back(step(f, "pop3", s, parties.name(f.peer),
                         std::string(f.event == "retr" ? "RETR " : "DELE ") + std::string(f.get("n")) + " by " + std::string(f.get("user"))));
    }
  }
  // A hop seen at both ends is one step: the sender's, linked to the receiver's session.
  for (const Fact* r : received) {
    const Fact* open = relay_opened_from(j, r->peer);
    if (auto it = relay_step.find(open->server + "|" + std::string(open->get("sid"))); it != relay_step.end())
      out[it->second].peer_sid = std::string(r->get("sid"));
  }
  std::stable_sort(out.begin(), out.end(), [](const Step& a, const Step& b) { return a.ts < b.ts; });
  return out;
}

}  // namespace mailview
