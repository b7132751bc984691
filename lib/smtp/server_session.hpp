// The SMTP server as a pure state machine (RFC 5321, with RFC 1870 SIZE, RFC 6152 8BITMIME,
// RFC 2920 PIPELINING, RFC 2034 enhanced codes): command lines in, replies and one effect out.
// The message body never passes through: the core checks each DATA line and says what to store;
// the driver streams it to disk (docs/development.md).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fault/fault.hpp"
#include "smtp/command.hpp"
#include "smtp/message_id.hpp"
#include "smtp/reply.hpp"
#include "util/line_splitter.hpp"
#include "util/result.hpp"

namespace mail::smtp {

struct Limits {
  std::size_t recipients = 100;
  std::uint64_t message_size = 33554432;
  int max_errors = 20;  // [limits] errors: error replies before the session is closed (Postfix's hard error limit)
};

/// What the core asks about addresses (implemented over the configured accounts).
class Directory {
 public:
  virtual ~Directory() = default;
  /// Is `domain` one of this server's (case-insensitive)?
  virtual bool is_local(std::string_view domain) const = 0;
  /// The account's address as configured, when `address` names one (local part exact).
  virtual std::optional<std::string> account(std::string_view address) const = 0;
};

/// What a listener is for (docs/security.md "Who may send what"; issue 10, defect 12).
enum class Listener {
  smtp,        // the SMTP port under the course's rule: a local sender submits, and may relay
  mx_only,     // [policy] mx_only: mail for local accounts only, never relayed, whoever sends it
  submission,  // [mailsrv."NAME"] submission (RFC 6409): AUTH before MAIL, then relays
};

struct SessionInfo {
  std::string server_name;  // -n NAME: in the greeting, the EHLO reply and Received
  std::string peer_ip;
  bool submission_requires_auth = false;  // [policy]: a local sender needs AUTH first (Listener::smtp)
  bool tls_available = false;         // STARTTLS can be offered (the server has a certificate)
  bool tls_active = false;            // an implicit-TLS port: encrypted from the start
  bool allow_plaintext_auth = false;  // offer AUTH before TLS (telnet demos)
  Listener listener = Listener::smtp;
  fault::Injector* faults = nullptr;  // the server's fault rules (issue 13); null or empty: none, at no cost
};

enum class Phase { greeted, ready, mail, rcpt, data, closed };
/// "greeted", "ready", "mail", "rcpt", "data", "closed".
const char* to_string(Phase p) noexcept;

struct Envelope {
  std::string helo;
  bool esmtp = false;
  std::string sender;              // "" for the null sender <>
  bool submission = false;         // RCPT may relay: a sender of ours (or authenticated), not on an MX-only port
  bool eight_bit = false;          // BODY=8BITMIME
  bool eight_bit_seen = false;     // the content so far has octets above 127, declared or not
  bool tls = false;                // MAIL came over TLS (STARTTLS or implicit): "with ESMTPS" (RFC 3848)
  bool authenticated = false;      // MAIL came after AUTH: "with ESMTPA"
  /// The body is 8-bit: declared so, or found so (a client that did not say BODY=8BITMIME).
  bool body_8bit() const noexcept { return eight_bit || eight_bit_seen; }
  bool eight_bit_unannounced() const noexcept { return eight_bit_seen && !eight_bit; }
  std::vector<std::string> local;  // our accounts, as configured, each once
  std::vector<std::string> remote; // for the relay queue, each once
  std::size_t recipients() const noexcept { return local.size() + remote.size(); }
};

enum class Effect {
  none,
  start_tls,     // write the replies, run the TLS handshake, then call on_tls_started()
  authenticate,  // check auth_user()/auth_password(), then call on_auth_result()
  begin_data,  // open the staged files for envelope(), then call on_data_started()
  deliver,     // make the message durable, then call on_delivered()
  close,       // close the connection after writing the replies
};

struct Step {
  std::vector<Reply> replies;
  Effect effect = Effect::none;
  std::string log_line{};  // on_line: the command as it may be logged (secrets masked); "" for no command
  /// A fault rule applied: the driver logs it (event=fault) and performs a delay, drop or slow before the
  /// rest of the step. A reply is already in `replies` (the command was not performed).
  std::optional<fault::Fault> fault{};
};

struct DataLine {
  bool end = false;           // the end-of-data line: call end_of_data()
  bool store = false;         // store `content` as (a piece of) one line of the message
  bool newline = true;        // `content` ends its line (false: a piece, more of the line follows)
  std::string_view content;   // the line without its ending, dot-unstuffed
};

class ServerSession {
 public:
  /// How a row's argument may be logged (Step::log_line; docs/development.md "Logging").
  enum class Secret {
    none,      // the line as it came
    argument,  // "VERB ***"
    sasl,      // "AUTH PLAIN ***": the mechanism when it is one we know, never the initial response
  };
  using Proceed = Step (ServerSession::*)(std::string_view arg);
  using Check = std::optional<Reply> (ServerSession::*)(std::string_view arg) const;
  using Offered = bool (ServerSession::*)() const;
  using KeywordArg = std::string (ServerSession::*)() const;
  using MailParam = std::optional<Reply> (ServerSession::*)(std::string_view value);

  /// One row per verb, and one per EHLO keyword that has no verb of its own (verb Verb::unknown):
  /// everything the session knows about it. Dispatch, the EHLO reply, HELP, the MAIL parameters and
  /// the masking of log lines are all read from the table (server_session.cpp); a new extension is a
  /// new row.
  struct Row {
    Verb verb = Verb::unknown;
    unsigned phases = 0;                    // bits (1 << Phase) of the phases where the verb may be used
    Reply (*wrong_phase)(Phase) = nullptr;  // the reply in the other command phases (counts as an error)
    Check check = nullptr;                  // a refusal that comes before the phase test (not offered here)
    Proceed proceed = nullptr;              // the handler, once the verb is allowed
    Secret secret = Secret::none;
    std::string_view keyword{};             // its EHLO keyword (RFC 5321 4.1.1.1), "" for none
    KeywordArg keyword_arg = nullptr;       // appended to the keyword after a space ("SIZE 33554432")
    std::string_view mail_param{};          // the MAIL FROM parameter the extension defines ("SIZE", "BODY")
    MailParam on_mail_param = nullptr;      // takes its value; a refusal fails the MAIL command
    Offered offered = nullptr;              // when the keyword and the HELP entry are offered (nullptr: always)
    bool help = false;                      // listed by HELP
  };
  /// The table, in the order of the EHLO keywords and of HELP.
  static std::span<const Row> table() noexcept;
  /// May the row's verb be used in phase `p`?
  static bool allowed(const Row& row, Phase p) noexcept;

  /// Called on every change of phase, old -> new (OpenSMTPD's smtp_enter_state; -v logs it).
  using PhaseHook = std::function<void(Phase from, Phase to)>;

  ServerSession(SessionInfo info, Limits limits, const Directory& directory);
  void watch_phases(PhaseHook hook) { phase_hook_ = std::move(hook); }

  Reply greeting() const;
  /// The connection was accepted: no replies, unless a fault rule at "smtp connect" answers in place of
  /// the greeting (and closes) or drops; a delay or slow rides on the step.
  Step on_connect();
  /// The greeting, or what a fault rule at "smtp greeting" puts in its place (a reply then closes).
  Step on_greeting();
  /// What the listener answers instead of a session: [limits] sessions reached, or [limits] per_peer
  /// for the client's address (RFC 5321 3.1: 421 in place of the greeting).
  static Reply too_many_sessions(const std::string& server_name);
  static Reply too_many_from_peer(const std::string& server_name);
  /// One command line (ending removed); `too_long` when it exceeded the line limit.
  Step on_line(std::string_view line, bool too_long = false);
  /// After Effect::begin_data: 354, or 451 when the files could not be opened.
  Step on_data_started(bool ok);
  /// One line of the message. Only CRLF "." CRLF ends it: a "." line ended by a bare LF, or after a
  /// line ended by a bare LF, is content (the SMTP smuggling attack). `too_long`: the line was longer
  /// than [limits] text_line and discarded. `partial`: a piece of a long line, more of it follows
  /// (no text_line limit: the line is stored intact).
  DataLine on_data_line(std::string_view text, util::LineSplitter::Ending ending, bool too_long, bool partial = false);
  /// After the end-of-data line: Effect::deliver, or a rejection (too big, line too long).
  Step end_of_data();
  /// After Effect::deliver: 250 with the queue id, or 451 when storing failed.
  Step on_delivered(const Result<std::string>& id);
  Step on_timeout();
  Step on_shutdown();

  /// The session may then only use `address` as sender (also what a successful AUTH does).
  void set_authenticated(std::string address) { authenticated_ = std::move(address); }
  /// After Effect::start_tls: the session starts over, encrypted (RFC 3207 4.2: forget everything,
  /// expect EHLO again).
  void on_tls_started();
  /// After Effect::authenticate: the account, or nullopt for wrong credentials; `refused`: the login
  /// throttle would not check them now (454 4.7.0, whatever the password).
  Step on_auth_result(const std::optional<std::string>& account, bool refused = false);
  const std::string& auth_user() const noexcept { return auth_user_; }
  const std::string& auth_password() const noexcept { return auth_password_; }
  /// The next line answers an AUTH challenge (a secret: never log it).
  bool expects_secret() const noexcept { return sasl_ != Sasl::none; }
  bool tls_active() const noexcept { return tls_active_; }
  const std::optional<std::string>& authenticated() const noexcept { return authenticated_; }

  Phase phase() const noexcept { return phase_; }
  const Envelope& envelope() const noexcept { return env_; }
  /// Octets of the message so far as SMTP counts them (CRLF line ends, before dot-stuffing).
  std::uint64_t data_size() const noexcept { return data_size_; }
  /// The message's Message-ID header value (with its <>, unfolded, trimmed), noted while its header
  /// lines went by; "" when it had none. For the event feed (docs/reference.md "Event feed").
  const std::string& message_id() const noexcept { return message_id_.value(); }

 private:
  static const Row* find(Verb verb) noexcept;
  // Fault rules (server_faults.cpp): a reply or drop is the whole step; a delay or slow waits in
  // pending_fault_ for the step of the command, which then proceeds.
  bool faults_on() const noexcept { return info_.faults != nullptr && !info_.faults->empty(); }
  fault::Event fault_event(std::string_view stage) const;
  std::optional<Step> consult(const fault::Event& event, bool closes);
  std::optional<Step> command_fault(std::string_view line, const Command& cmd, const Row* row);
  std::optional<Step> data_fault();
  std::vector<std::string> all_recipients() const;
  Step take_line(std::string_view line, bool too_long);
  /// Every phase change goes through here.
  void enter(Phase next);
  bool offers(const Row& row) const { return row.offered == nullptr || (this->*(row.offered))(); }

  Step on_helo(std::string_view arg);
  Step on_ehlo(std::string_view arg);
  Step on_mail(std::string_view arg);
  Step on_rcpt(std::string_view arg);
  Step on_data(std::string_view arg);
  Step on_rset(std::string_view arg);
  Step on_noop(std::string_view arg);
  Step on_quit(std::string_view arg);
  Step on_vrfy(std::string_view arg);
  Step on_help(std::string_view arg);
  Step on_not_implemented(std::string_view arg);
  Step on_starttls(std::string_view arg);
  Step on_auth(std::string_view arg);
  Step sasl_line(std::string_view line);
  std::optional<Reply> check_starttls(std::string_view arg) const;
  std::optional<Reply> check_auth(std::string_view arg) const;
  bool starttls_offered() const { return info_.tls_available && !tls_active_; }
  bool auth_offered() const { return tls_active_ || info_.allow_plaintext_auth; }
  std::string size_keyword() const { return std::to_string(limits_.message_size); }
  std::optional<Reply> size_param(std::string_view value);
  std::optional<Reply> body_param(std::string_view value);

  Step hello(std::string_view arg, bool esmtp);
  Step error(Reply r);  // counts errors; closes the session at the limit
  void reset_transaction();

  SessionInfo info_;
  Limits limits_;
  const Directory& dir_;
  Phase phase_ = Phase::greeted;
  Envelope env_;
  std::optional<std::string> authenticated_;
  int errors_ = 0;
  std::uint64_t data_size_ = 0;
  MessageIdScanner message_id_;
  bool data_too_long_line_ = false;
  bool last_crlf_ = true;  // did the previous line end with CRLF? (the DATA command did)
  bool mid_line_ = false;  // the previous piece was partial: the next one continues its line
  bool tls_active_ = false;
  enum class Sasl { none, plain, login_user, login_password } sasl_ = Sasl::none;
  std::string auth_user_;
  std::string auth_password_;
  std::string log_line_;  // how the line being taken may be logged (Step::log_line)
  PhaseHook phase_hook_;
  std::optional<fault::Fault> pending_fault_;  // a delay or slow for the step being made
};

}  // namespace mail::smtp
