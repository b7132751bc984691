#include "model.hpp"

#include <initializer_list>

#include "util/text.hpp"

namespace mailview {

using mail::util::kv_get;
using nlohmann::json;

namespace {

std::string str(std::string_view v) { return std::string(v); }

bool one_of(std::string_view e, std::initializer_list<std::string_view> set) {
  for (auto s : set)
    if (e == s) return true;
  return false;
}

}  // namespace

void Model::note(const std::string& server, const mail::util::KvPairs& f, const std::string& text) {
  auto sid = kv_get(f, "sid");
  if (sid.empty()) return;
  if (Session* s = history_.find(server, str(sid))) history_.add_arrow(*s, {str(kv_get(f, "ts")), "note", text});
}

std::string_view Model::feed(std::string_view line) {
  auto parsed = mail::util::parse_kv(line);
  if (!parsed) return {};
  const auto& f = *parsed;
  const std::string server = str(kv_get(f, "prog")), event = str(kv_get(f, "event")), ts = str(kv_get(f, "ts"));
  const std::string sid = str(kv_get(f, "sid"));
  if (!parties_.known(server) || event.empty()) return {};
  ++received_;
  if (event == "dropped") {
    dropped_ += mail::util::parse_uint(kv_get(f, "lines"), UINT32_MAX).value_or(0);
    return {};
  }
  if (event == "open") {
    Session& s = history_.session(server, sid, ts);
    s.proto = str(kv_get(f, "proto")), s.side = str(kv_get(f, "side"));
    s.local = str(kv_get(f, "local")), s.peer = str(kv_get(f, "peer"));
    s.host = str(kv_get(f, "host")), s.domain = str(kv_get(f, "domain")), s.id = str(kv_get(f, "id"));
    if (s.side == "client") parties_.add_relay_end(s.local, server);
  } else if (event == "c" || event == "s") {
    if (Session* s = history_.find(server, sid)) history_.add_arrow(*s, {ts, event, str(kv_get(f, "line"))});
    return "session";
  } else if (event == "tls") {
    note(server, f, "TLS " + str(kv_get(f, "cipher")));
    return "session";
  } else if (event == "close") {
    if (Session* s = history_.find(server, sid)) s->ended = ts;
    return "session";
  } else if (event == "query") {  // fdns: one question answered, shown as a session of its own
    Session& s = history_.session(server, "q" + std::to_string(++queries_), ts);
    s.proto = "dns", s.side = "server", s.peer = str(kv_get(f, "peer")), s.ended = ts;
    history_.add_arrow(s, {ts, "c", str(kv_get(f, "type")) + " " + str(kv_get(f, "name")) + "? (" + str(kv_get(f, "transport")) + ")"});
    history_.add_arrow(s, {ts, "s", str(kv_get(f, "rcode")) + " " + str(kv_get(f, "answer"))});
    return "session";
  } else if (!one_of(event, {"message", "queued", "delivered", "bounced", "retr", "dele", "lookup", "attempt"})) {
    return {};
  }
  // An event that may belong to a journey: filed with what its session says about its ends.
  Fact fact{server, event, ts, f, "", "", ""};
  Session* s = sid.empty() ? nullptr : history_.find(server, sid);
  if (s) fact.proto = s->proto, fact.peer = s->peer, fact.local = s->local;
  for (const auto& msgid : journeys_.add(std::move(fact)))
    if (s) history_.add_msgid(*s, msgid);
  if (event == "message")
    note(server, f, "message " + str(kv_get(f, "id")) + " " + str(kv_get(f, "msgid")) + " " + str(kv_get(f, "result")));
  else if (event == "retr")
    note(server, f, "retrieved " + str(kv_get(f, "file")));
  else if (event == "lookup")
    note(server, f, "DNS " + str(kv_get(f, "type")) + " " + str(kv_get(f, "name")) + "? " + str(kv_get(f, "answer")));
  if (event == "open") return "session";
  return one_of(event, {"queued", "attempt", "lookup", "bounced"}) ? "queue" : "message";
}

json Model::session_json(const Session& s) const {
  std::string from = s.side == "client" ? s.server : parties_.name(s.peer);
  std::string to = s.side == "client" ? parties_.name(s.peer) : s.server;
  return {{"server", s.server}, {"sid", s.sid}, {"proto", s.proto}, {"side", s.side}, {"local", s.local},
          {"peer", s.peer}, {"from_party", from}, {"to_party", to}, {"started", s.started}, {"ended", s.ended},
          {"msgids", s.msgids}, {"lines", s.lines}};
}

json Model::sessions(const std::string& server, const std::string& proto, std::size_t limit) const {
  json out = json::array();
  for (const Session* s : history_.list(server, proto, limit)) out.push_back(session_json(*s));
  return out;
}

json Model::session(const std::string& server, const std::string& sid) const {
  const Session* s = history_.find(server, sid);
  if (!s) return nullptr;
  json out = session_json(*s);
  if (!s->host.empty()) out["host"] = s->host, out["domain"] = s->domain, out["id"] = s->id;
  json events = json::array();
  for (const auto& a : s->arrows) events.push_back({{"ts", a.ts}, {"dir", a.dir}, {"line", a.line}});
  out["events"] = std::move(events);
  return out;
}

json Model::journeys(std::size_t limit) const {
  json out = json::array();
  for (const Journey* j : journeys_.list(limit))
    out.push_back({{"msgid", j->msgid}, {"subject", ""}, {"from", j->from}, {"to", j->to}, {"first", j->first},
                   {"last", j->last}, {"steps", assemble(*j, parties_).size()}});
  return out;
}

json Model::journey(const std::string& msgid) const {
  const Journey* j = journeys_.find(msgid);
  if (!j) return nullptr;
  json steps = json::array();
  for (const auto& st : assemble(*j, parties_)) {
    json one = {{"ts", st.ts}, {"kind", st.kind}, {"from", st.from}, {"to", st.to}, {"server", st.server},
                {"sid", st.sid}, {"summary", st.summary},
                {"session", !st.sid.empty() && history_.find(st.server, st.sid) != nullptr}};
    if (!st.peer_sid.empty()) one["peer_sid"] = st.peer_sid;
    steps.push_back(std::move(one));
  }
  return {{"msgid", j->msgid}, {"from", j->from}, {"to", j->to}, {"steps", std::move(steps)}};
}

}  // namespace mailview
