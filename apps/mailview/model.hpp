// What mailview knows from the event feed: the sessions (History), the journeys (Journeys) and the
// names of the parties (Parties), fed one event line at a time, and their JSON for the API
// (docs/view.md). Plain code without threads or sockets; the server serialises calls with a mutex.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "history.hpp"
#include "journey.hpp"
#include "parties.hpp"

namespace mailview {

class Model {
 public:
  Model(Parties parties, std::size_t sessions_per_server, std::size_t max_journeys = Journeys::kMaxJourneys)
      : parties_(std::move(parties)), history_(sessions_per_server), journeys_(max_journeys) {}

  /// One event line (without its newline). Returns what changed: "session", "message", "queue", or ""
  /// (a line that does not parse, or an event of no interest).
  std::string_view feed(std::string_view line);

  std::uint64_t received() const noexcept { return received_; }
  std::uint64_t dropped() const noexcept { return dropped_; }

  nlohmann::json sessions(const std::string& server, const std::string& proto, std::size_t limit) const;
  /// null when the session is not (or no longer) known.
  nlohmann::json session(const std::string& server, const std::string& sid) const;
  nlohmann::json journeys(std::size_t limit) const;
  nlohmann::json journey(const std::string& msgid) const;

 private:
  nlohmann::json session_json(const Session& s) const;
  void note(const std::string& server, const mail::util::KvPairs& f, const std::string& text);

  Parties parties_;
  History history_;
  Journeys journeys_;
  std::uint64_t received_ = 0, dropped_ = 0, queries_ = 0;
};

}  // namespace mailview
