// wait and expect-bounce, the pure part: arguments, STAT and UIDL answers, bounces (RFC 3464) and output.
#include "watch.hpp"

#include <algorithm>

#include "mime/message.hpp"
#include "util/cli.hpp"
#include "util/text.hpp"

namespace agent {

using namespace mail;

namespace {

constexpr util::OptSpec kWatchOptions[] = {
    {0, "count", "N", "wait: until the mailbox holds at least N messages"},
    {0, "for", "ADDRESS", "expect-bounce: the recipient whose delivery failed"},
    {0, "timeout", "S", "give up after S seconds (default 30): exit 1"},
};

}  // namespace

bool is_watch_command(std::string_view name) { return name == "wait" || name == "expect-bounce"; }

std::string watch_usage(std::string_view name) {
  return name == "wait" ? "wait --count N [--timeout S]" : "expect-bounce --for ADDRESS [--timeout S]";
}

std::optional<WatchRequest> parse_watch(const std::vector<std::string>& args) {
  std::vector<const char*> argv{args[0].c_str()};
  for (std::size_t i = 1; i < args.size(); ++i) argv.push_back(args[i].c_str());
  auto o = util::parse_args(kWatchOptions, static_cast<int>(argv.size()), argv.data());
  if (!o || !o->positional.empty()) return std::nullopt;
  WatchRequest req;
  if (o->has("timeout")) {
    auto t = util::parse_uint(o->get("timeout"), 86400);
    if (!t || *t == 0) return std::nullopt;
    req.timeout = std::chrono::seconds(*t);
  }
  if (args[0] == "wait") {
    auto n = util::parse_uint(o->get("count"), 1u << 30);
    if (!n || *n == 0 || o->has("for")) return std::nullopt;
    req.count = *n;
  } else {
    req.kind = WatchRequest::Kind::expect_bounce;
    req.address = o->get("for");
    if (req.address.find('@') == std::string::npos || o->has("count")) return std::nullopt;
  }
  return req;
}

std::uint64_t stat_count(const pop3::Response& r) {
  std::string_view s = r.status;  // "+OK count octets"
  auto start = s.find(' ');
  if (start == std::string_view::npos) return 0;
  s.remove_prefix(start + 1);
  return util::parse_uint(s.substr(0, s.find(' ')), UINT64_MAX).value_or(0);
}

std::vector<std::string> unseen_messages(const std::vector<std::string>& uidl_lines, std::vector<std::string>& seen) {
  std::vector<std::string> out;
  for (const auto& line : uidl_lines) {
    auto sp = line.find(' ');
    if (sp == std::string::npos) continue;
    auto uid = line.substr(sp + 1);
    if (std::find(seen.begin(), seen.end(), uid) != seen.end()) continue;
    seen.push_back(uid);
    out.push_back(line.substr(0, sp));
  }
  return out;
}

std::optional<mime::RecipientStatus> bounce_for(const std::string& raw, std::string_view address) {
  auto m = mime::parse(raw);
  if (!m.delivery_status) return std::nullopt;
  const auto* r = mime::failed_recipient(*m.delivery_status, address);
  if (r == nullptr) return std::nullopt;
  return *r;
}

bool refusal_is_temporary(std::string_view why) {
  return why.find("-ERR [IN-USE]") != std::string_view::npos || why.find("-ERR [SYS/TEMP]") != std::string_view::npos;
}

void show_bounce(const mime::RecipientStatus& r, const View& v) {
  if (v.json) {
    v.out << nlohmann::json{{"recipient", r.recipient}, {"original_recipient", r.original_recipient},
                            {"action", r.action}, {"status", r.status}, {"remote_mta", r.remote_mta},
                            {"diagnostic", r.diagnostic}}
                 .dump()
          << "\n";
    return;
  }
  for (auto [k, val] : {std::pair{"Recipient", &r.recipient}, {"Action", &r.action}, {"Status", &r.status},
                        {"Remote MTA", &r.remote_mta}, {"Diagnostic", &r.diagnostic}})
    if (!val->empty()) v.out << k << ": " << *val << "\n";
}

std::string timeout_message(const WatchRequest& req, const std::string& why) {
  return std::string(req.kind == WatchRequest::Kind::wait ? "wait" : "expect-bounce") + ": timed out after " +
         std::to_string(req.timeout.count()) + " s: " + why;
}

}  // namespace agent
