// Where the SMTP session consults the server's fault rules (issue 13; docs/reference.md "Fault rules"):
// at the connection, the greeting, each command line before it is handled, and the end of the message
// text before anything is stored. A `reply` is given in place of the command (a refused RCPT adds no
// recipient, a refused end-of-data stores nothing), 421 closes as usual, and at connect or greeting the
// reply replaces the greeting and closes; a `drop` closes without a word. A delay or slow rides on the
// step of the command, which proceeds: the driver performs them.
#include <utility>

#include "smtp/server_session.hpp"
#include "util/text.hpp"

namespace mail::smtp {
namespace {

std::string upper_word(std::string_view line) {
  std::string w(line.substr(0, line.find(' ')));
  for (auto& c : w)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return w;
}

}  // namespace

fault::Event ServerSession::fault_event(std::string_view stage) const {
  fault::Event e;
  e.protocol = fault::Protocol::smtp;
  e.stage = stage;
  e.client = info_.peer_ip;
  e.helo = env_.helo;
  e.has_sender = phase_ == Phase::mail || phase_ == Phase::rcpt || phase_ == Phase::data;
  if (e.has_sender) e.sender = env_.sender;
  return e;
}

std::vector<std::string> ServerSession::all_recipients() const {
  std::vector<std::string> all = env_.local;
  all.insert(all.end(), env_.remote.begin(), env_.remote.end());
  return all;
}

// `closes`: a reply closes the connection (connect, greeting); 421 always does (RFC 5321 3.8).
std::optional<Step> ServerSession::consult(const fault::Event& event, bool closes) {
  auto applied = info_.faults->check(event);
  if (!applied) return std::nullopt;
  const fault::Action& action = *applied->action;
  Step s;
  if (action.kind == fault::Kind::reply) s.replies.push_back(reply(action.code, action.text));
  const bool close = action.kind == fault::Kind::drop || (action.kind == fault::Kind::reply && (closes || action.code == 421));
  const bool terminal = action.kind == fault::Kind::reply || action.kind == fault::Kind::drop;
  if (!terminal) {
    pending_fault_ = fault::Fault::of(std::move(*applied));
    return std::nullopt;
  }
  s.fault = fault::Fault::of(std::move(*applied));
  if (close) {
    enter(Phase::closed);
    s.effect = Effect::close;
  }
  return s;
}

Step ServerSession::on_connect() {
  Step s;
  if (faults_on())
    if (auto f = consult(fault_event("connect"), true)) return std::move(*f);
  if (pending_fault_) s.fault = std::exchange(pending_fault_, std::nullopt);
  return s;
}

Step ServerSession::on_greeting() {
  if (faults_on())
    if (auto f = consult(fault_event("greeting"), true)) return std::move(*f);
  Step s{{greeting()}};
  if (pending_fault_) s.fault = std::exchange(pending_fault_, std::nullopt);
  return s;
}

// The event of a command line: its verb (HELO counts as EHLO), and at MAIL the sender it gives, at
// RCPT the recipient it adds, at EHLO the name it gives; otherwise the envelope so far.
std::optional<Step> ServerSession::command_fault(std::string_view line, const Command& cmd, const Row* row) {
  std::string stage = row != nullptr ? std::string(verb_name(row->verb)) : upper_word(line);
  if (stage == "HELO") stage = "EHLO";
  fault::Event e = fault_event(stage);
  std::string why;
  std::optional<Path> path;
  std::vector<std::string> recipients;
  std::string helo;
  if (cmd.verb == Verb::mail && (path = parse_path(cmd.arg, "FROM", why))) {
    e.sender = path->address;
    e.has_sender = true;
  } else if (cmd.verb == Verb::rcpt && (path = parse_path(cmd.arg, "TO", why))) {
    recipients.push_back(path->address);
  } else if (cmd.verb == Verb::helo || cmd.verb == Verb::ehlo) {
    helo = std::string(cmd.arg.substr(0, cmd.arg.find(' ')));
    e.helo = helo;
  } else {
    recipients = all_recipients();
  }
  e.recipients = recipients;
  return consult(e, false);
}

// After the final ".", before anything is stored: a reply or a drop discards the message (the client
// keeps it: nothing acknowledged is lost).
std::optional<Step> ServerSession::data_fault() {
  fault::Event e = fault_event("end-of-data");
  auto recipients = all_recipients();
  e.recipients = recipients;
  auto s = consult(e, false);
  if (s) reset_transaction();
  return s;
}

}  // namespace mail::smtp
