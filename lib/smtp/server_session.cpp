#include "smtp/server_session.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "smtp/command.hpp"
#include "util/address.hpp"
#include "util/auth.hpp"
#include "util/text.hpp"

namespace mail::smtp {
namespace {

// ---- The reply catalog: every text the server sends (generic: nothing about accounts leaks) ----
namespace catalog {
Reply ok() { return reply(250, "2.0.0 Ok"); }
Reply sender_ok() { return reply(250, "2.1.0 Ok"); }
Reply recipient_ok() { return reply(250, "2.1.5 Ok"); }
Reply queued(const std::string& id) { return reply(250, "2.0.0 Ok: queued as " + id); }
Reply start_data() { return reply(354, "End data with <CR><LF>.<CR><LF>"); }
Reply bye() { return reply(221, "2.0.0 Bye"); }
Reply vrfy() { return reply(252, "2.0.0 Cannot VRFY user, but will accept message and attempt delivery"); }
Reply help() {
  return Reply{214, {"2.0.0 Commands: HELO EHLO MAIL RCPT DATA", "2.0.0 RSET NOOP QUIT VRFY HELP"}};
}
Reply unknown() { return reply(500, "5.5.2 Error: command not recognized"); }
Reply line_too_long() { return reply(500, "5.5.2 Error: line too long"); }
Reply bad_syntax(const std::string& why) { return reply(501, "5.5.4 " + why); }
Reply not_implemented() { return reply(502, "5.5.1 Error: command not implemented"); }
Reply bad_sequence(const char* why) { return reply(503, std::string("5.5.1 Error: ") + why); }
Reply no_valid_recipients() { return reply(554, "5.5.1 Error: no valid recipients"); }
Reply too_many_recipients() { return reply(452, "4.5.3 Error: too many recipients"); }
Reply too_big() { return reply(552, "5.3.4 Error: message too big"); }
Reply text_line_too_long() { return reply(552, "5.3.4 Error: message has a line longer than allowed"); }
Reply unknown_param(const std::string& p) { return reply(555, "5.5.4 Unsupported parameter: " + p); }
Reply unknown_sender() { return reply(550, "5.1.0 Sender address rejected: user unknown"); }
Reply unknown_recipient() { return reply(550, "5.1.1 Recipient address rejected: user unknown"); }
Reply relay_denied() { return reply(550, "5.7.1 Relay access denied"); }
Reply auth_required() { return reply(530, "5.7.0 Authentication required"); }
Reply not_owner() { return reply(553, "5.7.1 Sender address rejected: not owned by user"); }
Reply null_recipient() { return reply(501, "5.1.3 Bad recipient address syntax"); }
Reply storage_failed() { return reply(451, "4.3.0 Error: local storage failure, try again later"); }
Reply too_many_errors(const std::string& name) { return reply(421, "4.7.0 " + name + " Error: too many errors"); }
Reply tls_ready() { return reply(220, "2.0.0 Ready to start TLS"); }
Reply tls_unavailable() { return reply(502, "5.5.1 Error: STARTTLS not available"); }
Reply tls_already() { return reply(503, "5.5.1 Error: TLS already active"); }
Reply auth_not_enabled() { return reply(503, "5.5.1 Error: authentication not enabled"); }
Reply auth_already() { return reply(503, "5.5.1 Error: already authenticated"); }
Reply auth_in_transaction() { return reply(503, "5.5.1 Error: MAIL transaction in progress"); }
Reply auth_mechanism() { return reply(504, "5.5.4 Unrecognized authentication type"); }
Reply auth_aborted() { return reply(501, "5.0.0 Authentication aborted"); }
Reply auth_undecodable() { return reply(501, "5.5.2 Cannot decode response"); }
Reply auth_ok() { return reply(235, "2.7.0 Authentication successful"); }
Reply auth_failed() { return reply(535, "5.7.8 Error: authentication failed"); }
Reply auth_refused() { return reply(454, "4.7.0 Temporary authentication failure, try again later"); }
Reply timeout(const std::string& name) { return reply(421, "4.4.2 " + name + " Error: timeout exceeded"); }
Reply shutdown(const std::string& name) { return reply(421, "4.3.2 " + name + " Service shutting down"); }
}  // namespace catalog

constexpr unsigned bit(Phase p) { return 1u << static_cast<unsigned>(p); }
constexpr unsigned kAny = bit(Phase::greeted) | bit(Phase::ready) | bit(Phase::mail) | bit(Phase::rcpt);

}  // namespace

// Dispatch: verb -> handler, the phases where it is allowed (else 503 with `wrong_phase`), and whether
// its argument is a secret (logged as "VERB ***"; the handler may show more of what it parsed).
struct ServerSession::Entry {
  std::string_view verb;
  Handler handler;
  unsigned phases;
  const char* wrong_phase;
  bool secret = false;
};

const ServerSession::Entry* ServerSession::find(std::string_view verb) {
  static const std::array<Entry, 13> kTable{{
      {"HELO", &ServerSession::on_helo, kAny, ""},
      {"EHLO", &ServerSession::on_ehlo, kAny, ""},
      {"MAIL", &ServerSession::on_mail, bit(Phase::ready), "send HELO/EHLO first"},
      {"RCPT", &ServerSession::on_rcpt, bit(Phase::mail) | bit(Phase::rcpt), "need MAIL command"},
      {"DATA", &ServerSession::on_data, bit(Phase::mail) | bit(Phase::rcpt), "need RCPT command"},
      {"RSET", &ServerSession::on_rset, kAny, ""},
      {"NOOP", &ServerSession::on_noop, kAny, ""},
      {"QUIT", &ServerSession::on_quit, kAny, ""},
      {"VRFY", &ServerSession::on_vrfy, kAny, ""},
      {"HELP", &ServerSession::on_help, kAny, ""},
      {"EXPN", &ServerSession::on_not_implemented, kAny, ""},
      {"STARTTLS", &ServerSession::on_starttls, kAny, ""},
      {"AUTH", &ServerSession::on_auth, kAny, "", true},
  }};
  for (const auto& e : kTable)
    if (util::iequals(e.verb, verb)) return &e;
  return nullptr;
}

ServerSession::ServerSession(SessionInfo info, Limits limits, const Directory& directory)
    : info_(std::move(info)), limits_(limits), dir_(directory), tls_active_(info_.tls_active) {}

Reply ServerSession::greeting() const { return reply(220, info_.server_name + " ESMTP mailworld"); }

Step ServerSession::error(Reply r) {
  Step s{{std::move(r)}, Effect::none};
  if (++errors_ >= limits_.max_errors) {
    s.replies.push_back(catalog::too_many_errors(info_.server_name));
    s.effect = Effect::close;
    phase_ = Phase::closed;
  }
  return s;
}

void ServerSession::reset_transaction() {
  std::string helo = std::move(env_.helo);
  bool esmtp = env_.esmtp;
  env_ = Envelope{};
  env_.helo = std::move(helo);
  env_.esmtp = esmtp;
  data_size_ = 0;
  data_too_long_line_ = false;
  if (phase_ != Phase::greeted && phase_ != Phase::closed) phase_ = Phase::ready;
}

Step ServerSession::on_line(std::string_view line, bool too_long) {
  if (phase_ == Phase::closed || phase_ == Phase::data) return {};
  Step s = take_line(line, too_long);
  s.log_line = std::move(log_line_);
  return s;
}

// One command line. Each way out sets log_line_ from what this parse made of the line: the drivers
// log that and nothing else (docs/development.md "Logging": credentials never reach a log).
Step ServerSession::take_line(std::string_view line, bool too_long) {
  if (sasl_ != Sasl::none) {
    log_line_ = "***";  // a SASL response is a secret, whatever it looks like
    if (too_long) {
      sasl_ = Sasl::none;
      return error(catalog::auth_undecodable());
    }
    return sasl_line(line);
  }
  // A line not taken apart shows only its verb (when it starts with one) and its length.
  auto unparsed = [&](Reply r) {
    log_line_ = util::unparsed_line(line, [](std::string_view w) { return find(w) != nullptr; });
    return error(std::move(r));
  };
  if (too_long) return unparsed(catalog::line_too_long());
  for (unsigned char c : line)
    if (c < 32 || c >= 127) return unparsed(catalog::unknown());  // commands are printable ASCII
  Command cmd = parse_command(line);
  const Entry* e = find(cmd.name);
  if (e == nullptr) return unparsed(catalog::unknown());
  if (e->secret) log_line_ = std::string(e->verb) + (cmd.arg.empty() ? "" : " ***");
  else log_line_.assign(line);
  if ((e->phases & bit(phase_)) == 0) {
    if ((phase_ == Phase::mail || phase_ == Phase::rcpt) && cmd.verb == Verb::mail)
      return error(catalog::bad_sequence("nested MAIL command"));
    if (phase_ == Phase::mail && cmd.verb == Verb::data) return error(catalog::no_valid_recipients());
    return error(catalog::bad_sequence(e->wrong_phase));
  }
  return (this->*(e->handler))(cmd.arg);
}

Step ServerSession::hello(std::string_view arg, bool esmtp) {
  if (arg.empty()) return error(catalog::bad_syntax(esmtp ? "Syntax: EHLO hostname" : "Syntax: HELO hostname"));
  phase_ = Phase::ready;  // RFC 5321 4.1.4: EHLO also resets the transaction
  reset_transaction();
  env_.helo = std::string(arg.substr(0, arg.find(' ')));
  env_.esmtp = esmtp;
  if (!esmtp) return {{reply(250, info_.server_name)}};
  Reply r{250, {info_.server_name + " Hello " + env_.helo + " [" + info_.peer_ip + "]", "PIPELINING",
                "SIZE " + std::to_string(limits_.message_size), "8BITMIME", "ENHANCEDSTATUSCODES"}};
  if (info_.tls_available && !tls_active_) r.lines.emplace_back("STARTTLS");
  if (auth_offered()) r.lines.emplace_back("AUTH PLAIN LOGIN");
  return {{std::move(r)}};
}

Step ServerSession::on_helo(std::string_view arg) { return hello(arg, false); }
Step ServerSession::on_ehlo(std::string_view arg) { return hello(arg, true); }

Step ServerSession::on_mail(std::string_view arg) {
  std::string why;
  auto path = parse_path(arg, "FROM", why);
  if (!path) return error(catalog::bad_syntax(why));
  for (const auto& [key, value] : path->params) {
    if (key == "SIZE") {
      auto n = util::parse_uint(value, UINT64_MAX);
      if (!n) return error(catalog::bad_syntax("Bad SIZE parameter"));
      if (*n > limits_.message_size) return error(catalog::too_big());
    } else if (key == "BODY") {
      if (util::iequals(value, "8BITMIME")) env_.eight_bit = true;
      else if (!util::iequals(value, "7BIT")) return error(catalog::bad_syntax("Bad BODY parameter"));
    } else {
      return error(catalog::unknown_param(key));
    }
  }
  const std::string& from = path->address;
  // docs/security.md "Who may send what", in its order. `submission` is what lets RCPT relay: never on an
  // MX-only port, whoever the sender (AUTH there only pins the sender).
  const bool may_relay = info_.listener != Listener::mx_only;
  if (authenticated_) {
    if (!from.empty() && !util::same_address(from, *authenticated_)) return error(catalog::not_owner());
    env_.submission = may_relay;
  } else if (info_.listener == Listener::submission) {
    return error(catalog::auth_required());  // RFC 6409 4.3: the MSA authenticates every submission
  } else if (!from.empty() && dir_.is_local(domain_of(from))) {
    if (info_.submission_requires_auth && may_relay) return error(catalog::auth_required());
    if (!dir_.account(from)) return error(catalog::unknown_sender());
    env_.submission = may_relay;
  }
  env_.sender = from;
  phase_ = Phase::mail;
  return {{catalog::sender_ok()}};
}

Step ServerSession::on_rcpt(std::string_view arg) {
  std::string why;
  auto path = parse_path(arg, "TO", why);
  if (!path) return error(catalog::bad_syntax(why));
  if (path->address.empty()) return error(catalog::null_recipient());
  if (!path->params.empty()) return error(catalog::unknown_param(path->params.front().first));
  const std::string& to = path->address;
  if (dir_.is_local(domain_of(to))) {
    auto account = dir_.account(to);
    if (!account) return error(catalog::unknown_recipient());
    if (std::find(env_.local.begin(), env_.local.end(), *account) == env_.local.end()) {
      if (env_.recipients() >= limits_.recipients) return {{catalog::too_many_recipients()}};
      env_.local.push_back(*account);
    }
  } else {
    if (!env_.submission) return error(catalog::relay_denied());
    bool seen = std::any_of(env_.remote.begin(), env_.remote.end(), [&](const std::string& r) { return util::same_address(r, to); });
    if (!seen) {
      if (env_.recipients() >= limits_.recipients) return {{catalog::too_many_recipients()}};
      env_.remote.push_back(to);
    }
  }
  phase_ = Phase::rcpt;
  return {{catalog::recipient_ok()}};
}

Step ServerSession::on_data(std::string_view arg) {
  if (!arg.empty()) return error(catalog::bad_syntax("Syntax: DATA"));
  if (phase_ != Phase::rcpt) return error(catalog::no_valid_recipients());
  data_size_ = 0;
  data_too_long_line_ = false;
  return {{}, Effect::begin_data};
}

Step ServerSession::on_data_started(bool ok) {
  if (!ok) {
    reset_transaction();
    return {{catalog::storage_failed()}};
  }
  phase_ = Phase::data;
  last_crlf_ = true;
  mid_line_ = false;
  return {{catalog::start_data()}};
}

DataLine ServerSession::on_data_line(std::string_view text, util::LineSplitter::Ending ending, bool too_long,
                                     bool partial) {
  DataLine d;
  if (phase_ != Phase::data) return d;
  const bool continued = std::exchange(mid_line_, partial);  // no dot rules inside a line
  d.newline = !partial;
  bool after_crlf = last_crlf_;
  if (!partial) last_crlf_ = ending == util::LineSplitter::Ending::crlf;
  if (too_long) {
    data_too_long_line_ = true;
    return d;
  }
  if (!continued) {
    if (!partial && text == "." && ending == util::LineSplitter::Ending::crlf && after_crlf) {
      d.end = true;
      return d;
    }
    if (!text.empty() && text.front() == '.') text.remove_prefix(1);  // RFC 5321 4.5.2
  }
  data_size_ += text.size() + (partial ? 0 : 2);
  if (data_size_ > limits_.message_size || data_too_long_line_) return d;  // read on, store no more
  d.store = true;
  d.content = text;
  return d;
}

Step ServerSession::end_of_data() {
  if (phase_ != Phase::data) return {};
  if (data_too_long_line_ || data_size_ > limits_.message_size) {
    Reply r = data_too_long_line_ ? catalog::text_line_too_long() : catalog::too_big();
    reset_transaction();
    return {{std::move(r)}};
  }
  return {{}, Effect::deliver};
}

Step ServerSession::on_delivered(const Result<std::string>& id) {
  Step s{{id ? catalog::queued(*id) : catalog::storage_failed()}, Effect::none};
  reset_transaction();
  return s;
}

Step ServerSession::on_rset(std::string_view) {
  reset_transaction();
  return {{catalog::ok()}};
}

Step ServerSession::on_noop(std::string_view) { return {{catalog::ok()}}; }

Step ServerSession::on_quit(std::string_view) {
  phase_ = Phase::closed;
  return {{catalog::bye()}, Effect::close};
}

Step ServerSession::on_vrfy(std::string_view arg) {
  if (arg.empty()) return error(catalog::bad_syntax("Syntax: VRFY address"));
  return {{catalog::vrfy()}};
}

Step ServerSession::on_help(std::string_view) { return {{catalog::help()}}; }

Step ServerSession::on_not_implemented(std::string_view) { return error(catalog::not_implemented()); }

Step ServerSession::on_starttls(std::string_view arg) {
  if (!info_.tls_available) return error(catalog::tls_unavailable());
  if (tls_active_) return error(catalog::tls_already());
  if (!arg.empty()) return error(catalog::bad_syntax("Syntax: STARTTLS"));
  if (phase_ == Phase::greeted) return error(catalog::bad_sequence("send HELO/EHLO first"));
  if (phase_ != Phase::ready) return error(catalog::bad_sequence("MAIL transaction in progress"));
  return {{catalog::tls_ready()}, Effect::start_tls};
}

void ServerSession::on_tls_started() {
  tls_active_ = true;
  authenticated_.reset();
  phase_ = Phase::greeted;  // RFC 3207 4.2: as if the client had just connected
  env_ = Envelope{};
  data_size_ = 0;
}

Step ServerSession::on_auth(std::string_view arg) {
  auto sp = arg.find(' ');
  std::string_view mech = arg.substr(0, sp);
  std::string_view initial = sp == std::string_view::npos ? std::string_view{} : util::trim(arg.substr(sp + 1));
  // The log shows a mechanism we know (anything else may be a password typed in the wrong place),
  // never the initial response.
  for (std::string_view known : {"PLAIN", "LOGIN"})
    if (util::iequals(mech, known)) log_line_ = "AUTH " + std::string(known) + (initial.empty() ? "" : " ***");
  if (!auth_offered()) return error(catalog::auth_not_enabled());
  if (phase_ == Phase::greeted) return error(catalog::bad_sequence("send HELO/EHLO first"));
  if (phase_ != Phase::ready) return error(catalog::auth_in_transaction());
  if (authenticated_) return error(catalog::auth_already());
  if (util::iequals(mech, "PLAIN")) {
    sasl_ = Sasl::plain;
    if (initial.empty()) return {{reply(334, "")}};  // RFC 4954 4: an empty challenge
    return sasl_line(initial == "=" ? std::string_view{} : initial);
  }
  if (util::iequals(mech, "LOGIN")) {
    sasl_ = Sasl::login_user;
    if (initial.empty()) return {{reply(334, "VXNlcm5hbWU6")}};  // "Username:"
    return sasl_line(initial);
  }
  return error(catalog::auth_mechanism());
}

Step ServerSession::sasl_line(std::string_view line) {
  Sasl stage = std::exchange(sasl_, Sasl::none);
  if (line == "*") return error(catalog::auth_aborted());
  auto decoded = util::base64_decode(line);
  if (!decoded) return error(catalog::auth_undecodable());
  switch (stage) {
    case Sasl::plain: {
      auto creds = util::parse_sasl_plain(*decoded);
      if (!creds || (!creds->authzid.empty() && creds->authzid != creds->user)) return error(catalog::auth_undecodable());
      auth_user_ = std::move(creds->user);
      auth_password_ = std::move(creds->password);
      return {{}, Effect::authenticate};
    }
    case Sasl::login_user:
      if (decoded->empty() || decoded->find('\0') != std::string::npos) return error(catalog::auth_undecodable());
      auth_user_ = std::move(*decoded);
      sasl_ = Sasl::login_password;
      return {{reply(334, "UGFzc3dvcmQ6")}};  // "Password:"
    case Sasl::login_password:
      if (decoded->find('\0') != std::string::npos) return error(catalog::auth_undecodable());
      auth_password_ = std::move(*decoded);
      return {{}, Effect::authenticate};
    case Sasl::none:
      break;
  }
  return error(catalog::auth_undecodable());
}

Step ServerSession::on_auth_result(const std::optional<std::string>& account, bool refused) {
  std::fill(auth_password_.begin(), auth_password_.end(), '\0');
  auth_password_.clear();
  auth_user_.clear();
  if (refused) return error(catalog::auth_refused());  // RFC 4954 6: 454, says nothing of the password
  if (!account) return error(catalog::auth_failed());
  authenticated_ = *account;
  return {{catalog::auth_ok()}};
}

Step ServerSession::on_timeout() {
  phase_ = Phase::closed;
  return {{catalog::timeout(info_.server_name)}, Effect::close};
}

Step ServerSession::on_shutdown() {
  phase_ = Phase::closed;
  return {{catalog::shutdown(info_.server_name)}, Effect::close};
}

}  // namespace mail::smtp
