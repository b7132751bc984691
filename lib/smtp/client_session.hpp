// The SMTP client as a pure state machine (RFC 5321 as a relay, RFC 2920 PIPELINING, RFC 1870 SIZE):
// replies in, commands out, one result per recipient. Several messages may go over one connection.
// The driver writes what it is given, streams the body when asked (util::DotStuffer), and feeds every
// reply through the shared smtp::ReplyParser.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smtp/outcome.hpp"
#include "smtp/reply.hpp"

namespace mail::smtp {

struct Outgoing {
  std::string sender;                   // "" for <>
  std::vector<std::string> recipients;
  std::uint64_t size = 0;               // octets, for SIZE=
  bool eight_bit = false;               // the content has octets above 127: BODY=8BITMIME when offered (RFC 6152)
};

struct RecipientResult {
  std::string address;
  Reply reply;          // the reply that decided this recipient
  const char* command;  // what it answered: "MAIL FROM", "RCPT TO", "DATA" or "end of DATA" (for bounces)
  bool local = false;   // refused here, nothing sent (above the server's SIZE): `reply` is our own reason
};

/// What a recipient's result means for the queue: the server's reply, said by `mta` over `tls`, or
/// (a local refusal) our own finding, which names no remote MTA and no command.
Outcome outcome_of(const RecipientResult& r, std::string mta, std::string tls);

enum class ClientEvent {
  none,         // keep reading replies
  ready,        // greeted: call begin() for a message, or quit()
  send_body,    // 354: write the dot-stuffed body and its final ".", then read the next reply
  message_done, // results() holds this message's recipients; ready for the next
  tls,          // 220 to STARTTLS: run the handshake, then call restart()
  auth_done,    // the AUTH exchange ended: authenticated() says how
  failed,       // the connection is of no more use (greeting refused, EHLO and HELO refused, bad reply)
};

struct ClientStep {
  std::string out;  // commands to write now
  ClientEvent event = ClientEvent::none;
};

class ClientSession {
 public:
  /// `peer` names the server in a refusal made here ("host mx.example[10.0.0.1]:25").
  explicit ClientSession(std::string helo_name, std::string peer = "the server")
      : helo_(std::move(helo_name)), peer_(std::move(peer)) {}

  /// One complete reply from the server.
  ClientStep on_reply(const Reply& r);
  /// Starts a message (only after ClientEvent::ready or message_done).
  ClientStep begin(Outgoing message);
  /// Ends the session.
  std::string quit();
  /// RSET on a ready session (a cached relay connection, before its next message): ClientEvent::ready
  /// on 250, else ClientEvent::failed (the server closed it meanwhile: 421, or no reply).
  std::string reset();
  /// STARTTLS (RFC 3207): ClientEvent::tls on 220, else ClientEvent::ready without TLS (failure() says why).
  std::string starttls();
  /// After the handshake: EHLO again (RFC 3207 4.2: forget what the server said before).
  std::string restart();
  /// AUTH PLAIN, or LOGIN when the server offers only that (RFC 4954); ends with ClientEvent::auth_done.
  std::string authenticate(const std::string& user, const std::string& password);
  bool offers_starttls() const noexcept { return starttls_; }
  bool offers_auth() const noexcept { return auth_plain_ || auth_login_; }
  bool authenticated() const noexcept { return authenticated_; }

  const std::vector<RecipientResult>& results() const noexcept { return results_; }
  /// Why the connection failed (the reply that ended it), after ClientEvent::failed.
  const Reply& failure() const noexcept { return failure_; }
  bool pipelining() const noexcept { return pipelining_; }
  std::optional<std::uint64_t> size_limit() const noexcept { return size_limit_; }

 private:
  enum class State { greeting, ehlo, helo, ready, reset, mail, rcpt, data, body, done, closed, starttls, auth, auth_user,
                     auth_password };
  ClientStep fail(const Reply& r);
  ClientStep next_envelope_command();
  ClientStep finish_message(const Reply& data_reply, const char* command);

  std::string helo_;
  std::string peer_;
  State state_ = State::greeting;
  bool pipelining_ = false;
  bool starttls_ = false;
  bool eight_bit_mime_ = false;  // 8BITMIME offered
  bool auth_plain_ = false;
  bool auth_login_ = false;
  bool authenticated_ = false;
  std::string login_user_, login_password_;
  std::optional<std::uint64_t> size_limit_;
  Outgoing msg_;
  std::size_t sent_rcpt_ = 0;      // RCPT commands sent (without pipelining: one at a time)
  std::size_t replied_rcpt_ = 0;   // RCPT replies read
  std::vector<std::optional<Reply>> rcpt_replies_;
  std::optional<Reply> mail_reply_;
  bool data_sent_ = false;
  std::vector<RecipientResult> results_;
  Reply failure_;
};

}  // namespace mail::smtp
