#include "store/envelope.hpp"

#include <nlohmann/json.hpp>

namespace mail::store {

namespace {
const char* state_name(RcptState s) {
  switch (s) {
    case RcptState::pending: return "pending";
    case RcptState::delivered: return "delivered";
    case RcptState::failed: return "failed";
  }
  return "pending";
}

nlohmann::ordered_json outcome_json(const smtp::Outcome& o) {
  return {{"code", o.code}, {"enhanced", o.enhanced}, {"mta", o.mta},
          {"command", o.command}, {"text", o.text}, {"tls", o.tls}};
}

smtp::Outcome outcome_of(const nlohmann::json& j) {
  smtp::Outcome o;
  o.code = j.value("code", 0);
  o.enhanced = j.value("enhanced", "");
  o.mta = j.value("mta", "");
  o.command = j.value("command", "");
  o.text = j.value("text", "");
  o.tls = j.value("tls", "");
  return o;
}
}  // namespace

std::string to_json(const QueueEnvelope& e) {
  bool replies = false;  // version 1 holds every envelope without one (see envelope.hpp)
  for (const auto& r : e.recipients) replies = replies || !r.last_reply.empty();
  const int version = replies ? 2 : 1;
  nlohmann::ordered_json j;
  j["version"] = version;
  j["id"] = e.id;
  j["sender"] = e.sender;
  j["helo"] = e.helo;
  j["received"] = static_cast<std::int64_t>(e.received);
  auto& rs = j["recipients"] = nlohmann::ordered_json::array();
  for (const auto& r : e.recipients) {
    rs.push_back({{"address", r.address}, {"state", state_name(r.state)}, {"attempts", r.attempts},
                  {"next_try", static_cast<std::int64_t>(r.next_try)}});
    if (version == 1) rs.back()["last_reply"] = "";
    else if (!r.last_reply.empty()) rs.back()["last_reply"] = outcome_json(r.last_reply);
  }
  if (e.bounced) j["bounced"] = true;
  if (e.body_8bit) j["body"] = "8bitmime";  // optional, like "bounced": older readers ignore it
  return j.dump(1) + "\n";
}

Result<QueueEnvelope> envelope_from_json(std::string_view text) {
  try {
    auto j = nlohmann::json::parse(text);
    const int version = j.at("version").get<int>();
    if (version != 1 && version != QueueEnvelope::kVersion)
      return fail(Errc::parse, "unsupported envelope version " + j.at("version").dump());
    QueueEnvelope e;
    e.id = j.at("id").get<std::string>();
    e.sender = j.at("sender").get<std::string>();
    e.helo = j.value("helo", "");
    e.received = j.at("received").get<std::int64_t>();
    for (const auto& r : j.at("recipients")) {
      QueuedRecipient q;
      q.address = r.at("address").get<std::string>();
      auto s = r.at("state").get<std::string>();
      if (s == "pending") q.state = RcptState::pending;
      else if (s == "delivered") q.state = RcptState::delivered;
      else if (s == "failed") q.state = RcptState::failed;
      else return fail(Errc::parse, "unknown recipient state '" + s + "'");
      q.attempts = r.value("attempts", 0);
      q.next_try = r.value("next_try", std::int64_t{0});
      if (version == 1) {
        q.last_reply = smtp::Outcome::parse(r.value("last_reply", ""));
      } else if (auto o = r.find("last_reply"); o != r.end() && !o->is_null()) {
        if (!o->is_object()) return fail(Errc::parse, "last_reply of " + q.address + " is not an object");
        q.last_reply = outcome_of(*o);
      }
      e.recipients.push_back(std::move(q));
    }
    e.bounced = j.value("bounced", false);
    const auto body = j.value("body", "7bit");
    if (body != "7bit" && body != "8bitmime") return fail(Errc::parse, "unknown body '" + body + "'");
    e.body_8bit = body == "8bitmime";
    return e;
  } catch (const nlohmann::json::exception& ex) {
    return fail(Errc::parse, std::string("bad envelope: ") + ex.what());
  }
}

}  // namespace mail::store
