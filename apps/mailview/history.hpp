// The bounded history of sessions the servers reported on the event feed (docs/reference.md "Event
// feed"): the last N sessions per server, each with its command and reply lines as sequence-diagram
// arrows (c: client to server, s: server to client, note: tls/message/retr/lookup remarks).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "util/kv.hpp"

namespace mailview {

struct Arrow {
  std::string ts;
  std::string dir;  // "c" | "s" | "note"
  std::string line;
};

struct Session {
  std::string server, sid, proto, side, local, peer;
  std::string host, domain, id;  // relay client sessions: the MX host, its domain, the queue id
  std::string started, ended;
  std::vector<std::string> msgids;
  std::vector<Arrow> arrows;  // the first ones (kMaxArrows, kMaxSessionOctets); `lines` counts them all
  std::uint64_t lines = 0;
  std::size_t octets = 0;  // of the arrows' text kept (History::kMaxSessionOctets at most)
  std::uint64_t seq = 0;  // arrival order, newest highest
};

class History {
 public:
  explicit History(std::size_t per_server) : per_server_(per_server) {}

  /// The session `sid` of `server`, made (and the oldest of that server dropped) when new.
  Session& session(const std::string& server, const std::string& sid, const std::string& ts);
  Session* find(const std::string& server, const std::string& sid);
  const Session* find(const std::string& server, const std::string& sid) const;
  void add_arrow(Session& s, Arrow a);
  void add_msgid(Session& s, const std::string& msgid);
  /// Newest first; `server`/`proto` "" for any.
  std::vector<const Session*> list(const std::string& server, const std::string& proto, std::size_t limit) const;

  static constexpr std::size_t kMaxArrows = 2000;
  static constexpr std::size_t kMaxMsgids = 100;
  // Octets of arrow text kept per session: a client's 2000 long lines must not cost N x 2000 x 64 KiB.
  static constexpr std::size_t kMaxSessionOctets = 64 * 1024;

 private:
  struct PerServer {
    std::map<std::string, Session> by_sid;
    std::deque<std::string> order;  // oldest first
  };
  std::size_t per_server_;
  std::map<std::string, PerServer> servers_;
  std::uint64_t seq_ = 0;
};

}  // namespace mailview
