// The POP3 server as a pure state machine (RFC 1939, RFC 2449 CAPA and response codes, RFC 5034
// AUTH PLAIN): command lines in, reply text and one effect out. The driver checks passwords, locks and
// lists the maildrop, streams messages and removes them; the core decides every reply.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fault/fault.hpp"
#include "pop3/listing.hpp"

namespace mail::pop3 {

enum class Phase { authorization, transaction, update, closed };
/// "authorization", "transaction", "update", "closed".
const char* to_string(Phase p) noexcept;

enum class Effect {
  none,
  login,   // check login_user()/login_password(), lock and list the maildrop, then call on_login()
  start_tls,  // write `out`, run the TLS handshake, then call on_tls_started()
  send,    // write `out`, then the message send_index() (TOP: send_body_lines()) dot-stuffed, then "."
  update,  // remove the messages marked deleted, then call on_updated()
  close,   // close the connection after writing `out`
};

struct Step {
  std::string out;  // reply text, CRLF line ends
  Effect effect = Effect::none;
  std::string log_line{};  // on_line: the command as it may be logged (secrets masked); "" for no command
  /// A fault rule applied: the driver logs it (event=fault) and performs a delay, drop or slow before the
  /// rest of the step. A reply is already in `out` (the command was not performed).
  std::optional<fault::Fault> fault{};
};

/// Why RETR/TOP could not send the message: another client removed it (a Maildir shared with Dovecot,
/// mutt...), or it is there but cannot be read.
enum class SendFailure { gone, unreadable };

enum class LoginResult { ok, bad_credentials, in_use, failed, throttled };  // throttled: not checked now

struct Options {
  std::string server_name;
  bool allow_plaintext_auth = false;  // offer AUTH PLAIN before TLS too
  int max_errors = 20;                // [limits] errors: error replies before the session is closed
  bool tls_available = false;         // STLS can be offered
  bool tls_active = false;            // an implicit-TLS port
  std::string peer_ip{};              // the client's address, for fault rules matching `client`
  fault::Injector* faults = nullptr;  // the server's fault rules (issue 13); null or empty: none, at no cost
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
  using Offered = bool (ServerSession::*)() const;

  /// One row per verb, and one per CAPA line that has no verb of its own (verb ""): everything the
  /// session knows about it. Dispatch, CAPA and the masking of log lines are read from the table
  /// (server_session.cpp). A verb used in another state gets "-ERR command not valid in this state"
  /// (RFC 1939 has that one answer).
  struct Row {
    std::string_view verb{};
    unsigned phases = 0;           // bits (1 << Phase) of the states where the verb may be used
    Proceed proceed = nullptr;     // the handler, once the verb is allowed
    Secret secret = Secret::none;
    std::string_view capa{};       // its CAPA line (RFC 2449 6), "" for none
    Offered offered = nullptr;     // when the CAPA line is listed (nullptr: always)
  };
  /// The table, in the order of the CAPA reply.
  static std::span<const Row> table() noexcept;
  /// May the row's verb be used in state `p`?
  static bool allowed(const Row& row, Phase p) noexcept;

  /// Called on every change of state, old -> new (-v logs it).
  using PhaseHook = std::function<void(Phase from, Phase to)>;

  explicit ServerSession(Options options) : opts_(std::move(options)) {}
  void watch_phases(PhaseHook hook) { phase_hook_ = std::move(hook); }

  std::string greeting() const;
  /// The connection was accepted: nothing, unless a fault rule at "pop3 connect" answers -ERR in place
  /// of the greeting (and closes) or drops; a delay or slow rides on the step.
  Step on_connect();
  /// The greeting as a step.
  Step on_greeting() const { return {greeting()}; }
  /// What the listener answers instead of a session: [limits] sessions reached, or [limits] per_peer
  /// for the client's address.
  static std::string too_many_sessions(const std::string& server_name);
  static std::string too_many_from_peer(const std::string& server_name);
  Step on_line(std::string_view line, bool too_long = false);
  /// After Effect::login. `listing` is the maildrop when the result is ok.
  Step on_login(LoginResult result, Listing listing = {});
  /// After Effect::send when the message cannot be sent: the reply to send instead of the step's.
  Step on_send_failed(SendFailure why) const;
  /// After Effect::update. `all_removed`: false when some marked messages could not be removed (RFC
  /// 1939 6: -ERR). `already_gone`: marked messages another client had removed first; they are gone
  /// as the client asked, so +OK, but the reply says they were not removed here.
  Step on_updated(bool all_removed, std::size_t already_gone = 0);
  /// After Effect::start_tls (RFC 2595 4: back to a fresh AUTHORIZATION state).
  void on_tls_started();
  bool tls_active() const noexcept { return tls_active_; }
  Step on_timeout();
  Step on_shutdown();

  const std::string& login_user() const noexcept { return user_; }
  const std::string& login_password() const noexcept { return password_; }
  std::size_t send_index() const noexcept { return send_index_; }
  std::optional<std::uint64_t> send_body_lines() const noexcept { return send_lines_; }
  /// 0-based indexes of the messages marked deleted.
  std::vector<std::size_t> deleted() const;
  const Listing& listing() const noexcept { return listing_; }
  Phase phase() const noexcept { return phase_; }
  /// The next line is a SASL response (a secret: never log it).
  bool expects_secret() const noexcept { return awaiting_sasl_; }
  /// Visible (not deleted) messages and their octets.
  std::size_t count() const noexcept { return visible_; }
  std::uint64_t octets() const noexcept { return visible_octets_; }

 private:
  static const Row* find(std::string_view verb) noexcept;
  // Fault rules (server_faults.cpp): a reply or drop is the whole step; a delay or slow rides on the
  // step of the command, which proceeds.
  bool faults_on() const noexcept { return opts_.faults != nullptr && !opts_.faults->empty(); }
  std::optional<Step> consult(std::string_view stage, std::string_view user, bool closes,
                              std::optional<fault::Fault>& pending);
  std::optional<Step> command_fault(std::string_view line, std::optional<fault::Fault>& pending);
  Step take_line(std::string_view line, bool too_long);
  /// Every state change goes through here.
  void enter(Phase next);

  Step on_user(std::string_view arg);
  Step on_pass(std::string_view arg);
  Step on_auth(std::string_view arg);
  Step on_capa(std::string_view arg);
  Step on_quit(std::string_view arg);
  Step on_stat(std::string_view arg);
  Step on_list(std::string_view arg);
  Step on_uidl(std::string_view arg);
  Step on_retr(std::string_view arg);
  Step on_top(std::string_view arg);
  Step on_dele(std::string_view arg);
  Step on_noop(std::string_view arg);
  Step on_rset(std::string_view arg);
  Step on_stls(std::string_view arg);
  Step sasl_response(std::string_view line);

  Step error(std::string text);
  /// The visible message for a 1-based number argument, or an -ERR in `bad`.
  std::optional<std::size_t> message(std::string_view arg, Step& bad);
  void clear_credentials();

  bool sasl_offered() const { return tls_active_ || opts_.allow_plaintext_auth; }
  bool stls_offered() const { return phase_ == Phase::authorization && opts_.tls_available && !tls_active_; }

  Options opts_;
  bool tls_active_ = opts_.tls_active;
  Phase phase_ = Phase::authorization;
  bool awaiting_sasl_ = false;
  std::string user_;
  std::string password_;
  std::string logged_in_;  // the login as given, once it succeeded (fault rules matching `user`)
  Listing listing_;
  std::vector<bool> deleted_;
  std::size_t visible_ = 0;
  std::uint64_t visible_octets_ = 0;
  std::size_t send_index_ = 0;
  std::optional<std::uint64_t> send_lines_;
  int errors_ = 0;
  std::string log_line_;  // how the line being taken may be logged (Step::log_line)
  PhaseHook phase_hook_;
};

}  // namespace mail::pop3
