#include "history.hpp"

#include <algorithm>

namespace mailview {

Session& History::session(const std::string& server, const std::string& sid, const std::string& ts) {
  auto& ps = servers_[server];
  auto [it, fresh] = ps.by_sid.try_emplace(sid);
  if (fresh) {
    it->second.server = server;
    it->second.sid = sid;
    it->second.started = ts;
    it->second.seq = ++seq_;
    ps.order.push_back(sid);
    while (ps.order.size() > per_server_) {
      ps.by_sid.erase(ps.order.front());
      ps.order.pop_front();
    }
    it = ps.by_sid.find(sid);  // still there: per_server_ >= 1
  }
  return it->second;
}

Session* History::find(const std::string& server, const std::string& sid) {
  auto ps = servers_.find(server);
  if (ps == servers_.end()) return nullptr;
  auto it = ps->second.by_sid.find(sid);
  return it == ps->second.by_sid.end() ? nullptr : &it->second;
}

const Session* History::find(const std::string& server, const std::string& sid) const {
  return const_cast<History*>(this)->find(server, sid);
}

void History::add_arrow(Session& s, Arrow a) {
  ++s.lines;
  if (s.arrows.size() >= kMaxArrows || s.octets >= kMaxSessionOctets) return;
  if (a.line.size() > kMaxSessionOctets - s.octets) a.line.resize(kMaxSessionOctets - s.octets);  // the last one, cut
  s.octets += a.line.size();
  s.arrows.push_back(std::move(a));
}

void History::add_msgid(Session& s, const std::string& msgid) {
  if (msgid.empty() || s.msgids.size() >= kMaxMsgids) return;
  if (std::find(s.msgids.begin(), s.msgids.end(), msgid) == s.msgids.end()) s.msgids.push_back(msgid);
}

std::vector<const Session*> History::list(const std::string& server, const std::string& proto, std::size_t limit) const {
  std::vector<const Session*> out;
  for (const auto& [name, ps] : servers_) {
    if (!server.empty() && name != server) continue;
    for (const auto& [_, s] : ps.by_sid)
      if (proto.empty() || s.proto == proto) out.push_back(&s);
  }
  std::sort(out.begin(), out.end(), [](const Session* a, const Session* b) { return a->seq > b->seq; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace mailview
