// What one delivery attempt to one recipient came to, as the relay keeps it (issue 11): a server's
// reply (its code, RFC 3463 enhanced status and text, which host said it, in reply to which command,
// over what protection) or the relay's own finding (code 0: DNS, connection, TLS policy, loop,
// lifetime). Stored as such in the queue envelope (version 2) and handed to the DSN builder as is:
// nothing parses a status back out of text, except `parse` for the text of version-1 envelopes.
#pragma once

#include <string>
#include <string_view>

#include "smtp/reply.hpp"

namespace mail::smtp {

struct Outcome {
  int code = 0;          // the server's reply code; 0 when no server replied (our own finding)
  std::string enhanced;  // "5.1.1" (RFC 3463); "" when the reply carried none
  std::string mta;       // the server that replied, "host[ip]:port"; "" for our own findings
  std::string command;   // what the reply answered: "MAIL FROM", "RCPT TO", "DATA", "end of DATA"; or ""
  std::string text;      // the reply's text after the code and the enhanced status (lines joined by "; ")
  std::string tls;       // the connection's protection when a server replied ("none", "TLSv1.3 ..."), else ""

  Outcome() = default;
  /// A reply line as version-1 envelopes kept it (see `parse`); implicit so that a literal reads as
  /// what it stands for: `Outcome o = "550 5.1.1 no such user";`.
  Outcome(const char* line) : Outcome(parse(line)) {}  // NOLINT: implicit by design

  /// "550 5.1.1 text" (a server's reply), "4.4.1 text" (ours), "host|command|550 ..." (a version-1
  /// permanent failure). The code is kept when three digits lead; the status when one follows.
  static Outcome parse(std::string_view line);
  /// A server's reply to `command`; the enhanced status is split off the front of its text.
  static Outcome from_reply(const Reply& reply, std::string mta, std::string command, std::string tls);
  /// Our own finding: `enhanced` says whether it is temporary (4.x.x) or permanent (5.x.x).
  static Outcome ours(std::string enhanced, std::string text);

  bool empty() const { return *this == Outcome{}; }
  /// The recipient has the message (2xx; 3xx only ever precedes a final reply).
  bool positive() const noexcept;
  /// Trying again will not help (5xx, or our 5.x.x).
  bool permanent() const noexcept;
  /// The RFC 3464 Status: the enhanced status, else 4.0.0 or 5.0.0 by the class of the reply.
  std::string status() const;
  /// The reply as logs and bounces quote it: "550 5.1.1 text" from a server, "5.1.2 text" of ours.
  std::string line() const;

  bool operator==(const Outcome&) const = default;
};

/// The length of the RFC 3463 status ("5.1.1") that `text` starts with, 0 when none does.
std::size_t enhanced_status_length(std::string_view text);

}  // namespace mail::smtp
