// Where the POP3 session consults the server's fault rules (issue 13; docs/reference.md "Fault rules"):
// at the connection and at each command line before it is handled. A `reply -ERR` is given in place of
// the command (at connect: in place of the greeting, then the connection closes); a `drop` closes
// without a word. A delay or slow rides on the step of the command, which proceeds (a slow RETR: a
// slow sender): the driver performs them.
#include <utility>

#include "pop3/server_session.hpp"
#include "util/text.hpp"

namespace mail::pop3 {

std::optional<Step> ServerSession::consult(std::string_view stage, std::string_view user, bool closes,
                                           std::optional<fault::Fault>& pending) {
  fault::Event e;
  e.protocol = fault::Protocol::pop3;
  e.stage = stage;
  e.client = opts_.peer_ip;
  e.user = user;
  auto applied = opts_.faults->check(e);
  if (!applied) return std::nullopt;
  // Before a login the name is only what was typed into the user field, maybe a password: masked in
  // the event=fault line as in the command log (docs/security.md); the rule matched on it all the same.
  if (logged_in_.empty())
    for (auto& [key, value] : applied->fields)
      if (key == "user") value = "***";
  const fault::Action& action = *applied->action;
  if (action.kind != fault::Kind::reply && action.kind != fault::Kind::drop) {
    pending = fault::Fault::of(std::move(*applied));
    return std::nullopt;
  }
  Step s;
  if (action.kind == fault::Kind::reply) s.out = "-ERR " + action.text + "\r\n";
  if (action.kind == fault::Kind::drop || closes) {
    enter(Phase::closed);
    s.effect = Effect::close;
  }
  s.fault = fault::Fault::of(std::move(*applied));
  return s;
}

Step ServerSession::on_connect() {
  Step s;
  if (!faults_on()) return s;
  std::optional<fault::Fault> pending;
  if (auto f = consult("connect", {}, true, pending)) return std::move(*f);
  s.fault = std::move(pending);
  return s;
}

// The stage is the verb; the user is the one USER gives, else the login so far (USER, or the one that
// logged in).
std::optional<Step> ServerSession::command_fault(std::string_view line, std::optional<fault::Fault>& pending) {
  auto sp = line.find(' ');
  std::string verb(line.substr(0, sp));
  for (auto& c : verb)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  std::string_view user = logged_in_.empty() ? std::string_view(user_) : std::string_view(logged_in_);
  if (verb == "USER" && sp != std::string_view::npos) user = util::trim(line.substr(sp + 1));
  auto s = consult(verb, user, false, pending);
  if (s) {
    const Row* row = find(verb);
    if (row == nullptr) s->log_line = util::unparsed_line(line, [](std::string_view w) { return find(w) != nullptr; });
    else s->log_line = row->secret != Secret::none ? verb + " ***" : std::string(line);
  }
  return s;
}

}  // namespace mail::pop3
