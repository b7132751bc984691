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
Reply auth_mechanism() { return reply(504, "5.5.4 Unrecognized authentication type"); }
Reply auth_aborted() { return reply(501, "5.0.0 Authentication aborted"); }
Reply auth_undecodable() { return reply(501, "5.5.2 Cannot decode response"); }
Reply auth_ok() { return reply(235, "2.7.0 Authentication successful"); }
Reply auth_failed() { return reply(535, "5.7.8 Error: authentication failed"); }
Reply auth_refused() { return reply(454, "4.7.0 Temporary authentication failure, try again later"); }
Reply timeout(const std::string& name) { return reply(421, "4.4.2 " + name + " Error: timeout exceeded"); }
Reply shutdown(const std::string& name) { return reply(421, "4.3.2 " + name + " Service shutting down"); }
Reply busy(const std::string& name) { return reply(421, "4.3.2 " + name + " Too many sessions, try again later"); }
// Postfix smtpd_client_connection_count_limit says the same.
Reply peer_busy(const std::string& name) {
  return reply(421, "4.7.0 " + name + " Error: too many connections from your address");
}
}  // namespace catalog

constexpr unsigned bit(Phase p) { return 1u << static_cast<unsigned>(p); }
constexpr unsigned kAny = bit(Phase::greeted) | bit(Phase::ready) | bit(Phase::mail) | bit(Phase::rcpt);
constexpr unsigned kTransaction = bit(Phase::mail) | bit(Phase::rcpt);

// The SASL mechanisms of AUTH (RFC 4954): shown in a log line, unlike what follows them.
constexpr std::array<std::string_view, 2> kMechanisms{"PLAIN", "LOGIN"};

// ---- Wrong-phase replies: RFC 5321 4.1.4 and 3.3 (503 for a bad sequence, 554 for DATA without a recipient) ----
Reply hello_first() { return catalog::bad_sequence("send HELO/EHLO first"); }
Reply mail_out_of_phase(Phase p) { return p == Phase::greeted ? hello_first() : catalog::bad_sequence("nested MAIL command"); }
Reply rcpt_out_of_phase(Phase) { return catalog::bad_sequence("need MAIL command"); }
Reply data_out_of_phase(Phase p) {
  return p == Phase::mail ? catalog::no_valid_recipients() : catalog::bad_sequence("need RCPT command");
}
// STARTTLS (RFC 3207 4) and AUTH (RFC 4954 4): after EHLO, outside a mail transaction.
Reply outside_transaction(Phase p) {
  return p == Phase::greeted ? hello_first() : catalog::bad_sequence("MAIL transaction in progress");
}

// How a command line may be logged: as it came, or with its secret argument masked (docs/development.md
// "Logging": credentials never reach a log).
std::string logged(const ServerSession::Row& row, std::string_view line, std::string_view arg) {
  using Secret = ServerSession::Secret;
  if (row.secret == Secret::none) return std::string(line);
  std::string verb(verb_name(row.verb));
  if (row.secret == Secret::sasl) {
    // The mechanism when we know it (anything else may be a password typed in the wrong place), never
    // the initial response.
    auto sp = arg.find(' ');
    std::string_view mech = arg.substr(0, sp);
    bool initial = sp != std::string_view::npos && !util::trim(arg.substr(sp + 1)).empty();
    for (std::string_view known : kMechanisms)
      if (util::iequals(mech, known)) return verb + " " + std::string(known) + (initial ? " ***" : "");
  }
  return verb + (arg.empty() ? "" : " ***");
}

}  // namespace

const char* to_string(Phase p) noexcept {
  switch (p) {
    case Phase::greeted: return "greeted";
    case Phase::ready: return "ready";
    case Phase::mail: return "mail";
    case Phase::rcpt: return "rcpt";
    case Phase::data: return "data";
    case Phase::closed: return "closed";
  }
  return "?";
}

// The verb table. Its order is that of the EHLO keywords and of HELP; a command line is checked as
// `check` (is the verb offered here at all), then `phases` (else `wrong_phase`), then `proceed`.
std::span<const ServerSession::Row> ServerSession::table() noexcept {
  using S = ServerSession;
  static const Row kTable[] = {
      {.verb = Verb::helo, .phases = kAny, .proceed = &S::on_helo, .help = true},
      {.verb = Verb::ehlo, .phases = kAny, .proceed = &S::on_ehlo, .help = true},
      {.verb = Verb::mail, .phases = bit(Phase::ready), .wrong_phase = mail_out_of_phase, .proceed = &S::on_mail,
       .help = true},
      {.verb = Verb::rcpt, .phases = kTransaction, .wrong_phase = rcpt_out_of_phase, .proceed = &S::on_rcpt,
       .help = true},
      {.verb = Verb::data, .phases = bit(Phase::rcpt), .wrong_phase = data_out_of_phase, .proceed = &S::on_data,
       .help = true},
      {.verb = Verb::rset, .phases = kAny, .proceed = &S::on_rset, .help = true},
      {.verb = Verb::noop, .phases = kAny, .proceed = &S::on_noop, .help = true},
      {.verb = Verb::quit, .phases = kAny, .proceed = &S::on_quit, .help = true},
      {.verb = Verb::vrfy, .phases = kAny, .proceed = &S::on_vrfy, .help = true},
      {.verb = Verb::help, .phases = kAny, .proceed = &S::on_help, .help = true},
      {.verb = Verb::expn, .phases = kAny, .proceed = &S::on_not_implemented},  // RFC 5321 3.5.3: 502
      {.keyword = "PIPELINING"},                                                // RFC 2920
      {.keyword = "SIZE", .keyword_arg = &S::size_keyword, .mail_param = "SIZE",  // RFC 1870
       .on_mail_param = &S::size_param},
      {.keyword = "8BITMIME", .mail_param = "BODY", .on_mail_param = &S::body_param},  // RFC 6152
      {.keyword = "ENHANCEDSTATUSCODES"},                                       // RFC 2034
      {.verb = Verb::starttls, .phases = bit(Phase::ready), .wrong_phase = outside_transaction,
       .check = &S::check_starttls, .proceed = &S::on_starttls, .keyword = "STARTTLS",
       .offered = &S::starttls_offered, .help = true},
      {.verb = Verb::auth, .phases = bit(Phase::ready), .wrong_phase = outside_transaction, .check = &S::check_auth,
       .proceed = &S::on_auth, .secret = Secret::sasl, .keyword = "AUTH PLAIN LOGIN", .offered = &S::auth_offered,
       .help = true},
  };
  return kTable;
}

bool ServerSession::allowed(const Row& row, Phase p) noexcept { return (row.phases & bit(p)) != 0; }

const ServerSession::Row* ServerSession::find(Verb verb) noexcept {
  if (verb == Verb::unknown) return nullptr;
  for (const auto& row : table())
    if (row.verb == verb) return &row;
  return nullptr;
}

ServerSession::ServerSession(SessionInfo info, Limits limits, const Directory& directory)
    : info_(std::move(info)), limits_(limits), dir_(directory), tls_active_(info_.tls_active) {}

Reply ServerSession::greeting() const { return reply(220, info_.server_name + " ESMTP mailworld"); }
Reply ServerSession::too_many_sessions(const std::string& server_name) { return catalog::busy(server_name); }
Reply ServerSession::too_many_from_peer(const std::string& server_name) { return catalog::peer_busy(server_name); }

void ServerSession::enter(Phase next) {
  if (next == phase_) return;
  Phase old = std::exchange(phase_, next);
  if (phase_hook_) phase_hook_(old, next);
}

Step ServerSession::error(Reply r) {
  Step s{{std::move(r)}, Effect::none};
  if (++errors_ >= limits_.max_errors) {
    s.replies.push_back(catalog::too_many_errors(info_.server_name));
    s.effect = Effect::close;
    enter(Phase::closed);
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
  if (phase_ != Phase::greeted && phase_ != Phase::closed) enter(Phase::ready);
}

Step ServerSession::on_line(std::string_view line, bool too_long) {
  if (phase_ == Phase::closed || phase_ == Phase::data) return {};
  Step s = take_line(line, too_long);
  s.log_line = std::move(log_line_);
  if (pending_fault_) s.fault = std::exchange(pending_fault_, std::nullopt);
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
    log_line_ = util::unparsed_line(line, [](std::string_view w) { return find(verb_of(w)) != nullptr; });
    return error(std::move(r));
  };
  if (too_long) return unparsed(catalog::line_too_long());
  for (unsigned char c : line)
    if (c < 32 || c >= 127) return unparsed(catalog::unknown());  // commands are printable ASCII
  Command cmd = parse_command(line);
  const Row* row = find(cmd.verb);
  if (faults_on())
    if (auto s = command_fault(line, cmd, row)) {  // checked before the session handles the command
      log_line_ = row != nullptr ? logged(*row, line, cmd.arg)
                                 : util::unparsed_line(line, [](std::string_view w) { return find(verb_of(w)) != nullptr; });
      return std::move(*s);
    }
  if (row == nullptr) return unparsed(catalog::unknown());
  log_line_ = logged(*row, line, cmd.arg);
  if (row->check != nullptr)
    if (auto refusal = (this->*(row->check))(cmd.arg)) return error(std::move(*refusal));
  if (!allowed(*row, phase_)) return error(row->wrong_phase(phase_));
  return (this->*(row->proceed))(cmd.arg);
}

Step ServerSession::hello(std::string_view arg, bool esmtp) {
  if (arg.empty()) return error(catalog::bad_syntax(esmtp ? "Syntax: EHLO hostname" : "Syntax: HELO hostname"));
  enter(Phase::ready);  // RFC 5321 4.1.4: EHLO also resets the transaction
  reset_transaction();
  env_.helo = std::string(arg.substr(0, arg.find(' ')));
  env_.esmtp = esmtp;
  if (!esmtp) return {{reply(250, info_.server_name)}};
  Reply r{250, {info_.server_name + " Hello " + env_.helo + " [" + info_.peer_ip + "]"}};
  for (const auto& row : table()) {
    if (row.keyword.empty() || !offers(row)) continue;
    std::string keyword(row.keyword);
    if (row.keyword_arg != nullptr) keyword += " " + (this->*(row.keyword_arg))();
    r.lines.push_back(std::move(keyword));
  }
  return {{std::move(r)}};
}

Step ServerSession::on_helo(std::string_view arg) { return hello(arg, false); }
Step ServerSession::on_ehlo(std::string_view arg) { return hello(arg, true); }

Step ServerSession::on_mail(std::string_view arg) {
  std::string why;
  auto path = parse_path(arg, "FROM", why);
  if (!path) return error(catalog::bad_syntax(why));
  env_.eight_bit = false;  // a refused MAIL may have set it
  // Each parameter is taken by the row of the extension that defines it, in the order given.
  const auto rows = table();
  for (const auto& [key, value] : path->params) {
    auto row = std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return !r.mail_param.empty() && r.mail_param == key; });
    if (row == rows.end()) return error(catalog::unknown_param(key));
    if (auto refusal = (this->*(row->on_mail_param))(value)) return error(std::move(*refusal));
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
  env_.tls = tls_active_;
  env_.authenticated = authenticated_.has_value();
  enter(Phase::mail);
  return {{catalog::sender_ok()}};
}

// RFC 1870 6: the declared size, refused at once when over the limit.
std::optional<Reply> ServerSession::size_param(std::string_view value) {
  auto n = util::parse_uint(value, UINT64_MAX);
  if (!n) return catalog::bad_syntax("Bad SIZE parameter");
  if (*n > limits_.message_size) return catalog::too_big();
  return std::nullopt;
}

// RFC 6152 2: BODY=8BITMIME or BODY=7BIT.
std::optional<Reply> ServerSession::body_param(std::string_view value) {
  if (util::iequals(value, "8BITMIME")) env_.eight_bit = true;
  else if (!util::iequals(value, "7BIT")) return catalog::bad_syntax("Bad BODY parameter");
  return std::nullopt;
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
  enter(Phase::rcpt);
  return {{catalog::recipient_ok()}};
}

Step ServerSession::on_data(std::string_view arg) {
  if (!arg.empty()) return error(catalog::bad_syntax("Syntax: DATA"));
  data_size_ = 0;
  data_too_long_line_ = false;
  return {{}, Effect::begin_data};
}

Step ServerSession::on_data_started(bool ok) {
  if (!ok) {
    reset_transaction();
    return {{catalog::storage_failed()}};
  }
  enter(Phase::data);
  last_crlf_ = true;
  mid_line_ = false;
  message_id_.reset();
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
    message_id_.line(text);  // only while the header lasts
  }
  data_size_ += text.size() + (partial ? 0 : 2);
  if (data_size_ > limits_.message_size || data_too_long_line_) return d;  // read on, store no more
  d.store = true;
  d.content = text;
  // RFC 6152: the relay declares an 8-bit body; a client may have sent one without saying so.
  if (!env_.eight_bit_seen)
    env_.eight_bit_seen = std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) > 127; });
  return d;
}

Step ServerSession::end_of_data() {
  if (phase_ != Phase::data) return {};
  if (faults_on())
    if (auto s = data_fault()) return std::move(*s);
  Step s{{}, Effect::deliver};
  if (data_too_long_line_ || data_size_ > limits_.message_size) {
    s = {{data_too_long_line_ ? catalog::text_line_too_long() : catalog::too_big()}};
    reset_transaction();
  }
  if (pending_fault_) s.fault = std::exchange(pending_fault_, std::nullopt);
  return s;
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
  enter(Phase::closed);
  return {{catalog::bye()}, Effect::close};
}

Step ServerSession::on_vrfy(std::string_view arg) {
  if (arg.empty()) return error(catalog::bad_syntax("Syntax: VRFY address"));
  return {{catalog::vrfy()}};
}

// HELP (RFC 5321 4.1.1.8): the verbs offered on this connection, five to a line.
Step ServerSession::on_help(std::string_view) {
  Reply r{214, {}};
  std::string line = "2.0.0 Commands:";
  int on_line = 0;
  for (const auto& row : table()) {
    if (!row.help || !offers(row)) continue;
    if (on_line == 5) {
      r.lines.push_back(std::exchange(line, "2.0.0"));
      on_line = 0;
    }
    line += " ";
    line += verb_name(row.verb);
    ++on_line;
  }
  r.lines.push_back(std::move(line));
  return {{std::move(r)}};
}

Step ServerSession::on_not_implemented(std::string_view) { return error(catalog::not_implemented()); }

// Before the phase test, as RFC 3207 lists them: not offered, already on, an argument.
std::optional<Reply> ServerSession::check_starttls(std::string_view arg) const {
  if (!info_.tls_available) return catalog::tls_unavailable();
  if (tls_active_) return catalog::tls_already();
  if (!arg.empty()) return catalog::bad_syntax("Syntax: STARTTLS");
  return std::nullopt;
}

Step ServerSession::on_starttls(std::string_view) { return {{catalog::tls_ready()}, Effect::start_tls}; }

void ServerSession::on_tls_started() {
  tls_active_ = true;
  authenticated_.reset();
  enter(Phase::greeted);  // RFC 3207 4.2: as if the client had just connected
  env_ = Envelope{};
  data_size_ = 0;
}

// Before the phase test: AUTH is not offered in the clear unless [tls] allow_plaintext_auth.
std::optional<Reply> ServerSession::check_auth(std::string_view) const {
  if (!auth_offered()) return catalog::auth_not_enabled();
  return std::nullopt;
}

Step ServerSession::on_auth(std::string_view arg) {
  if (authenticated_) return error(catalog::auth_already());
  auto sp = arg.find(' ');
  std::string_view mech = arg.substr(0, sp);
  std::string_view initial = sp == std::string_view::npos ? std::string_view{} : util::trim(arg.substr(sp + 1));
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
  enter(Phase::closed);
  return {{catalog::timeout(info_.server_name)}, Effect::close};
}

Step ServerSession::on_shutdown() {
  enter(Phase::closed);
  return {{catalog::shutdown(info_.server_name)}, Effect::close};
}

}  // namespace mail::smtp
