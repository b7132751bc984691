// SMTP command lines (RFC 5321 4.1): the verb, the reverse/forward path of MAIL and RCPT, and their
// ESMTP parameters. Verbs are case-insensitive; arguments keep their case.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mail::smtp {

// The verbs the server knows, the key of its verb table (server_session.cpp: one row each). Their
// names are in command.cpp, once.
enum class Verb { helo, ehlo, mail, rcpt, data, rset, noop, quit, vrfy, expn, help, starttls, auth, unknown };

/// "MAIL" for Verb::mail; "" for Verb::unknown.
std::string_view verb_name(Verb v) noexcept;
/// The verb `name` names (case-insensitive), or Verb::unknown.
Verb verb_of(std::string_view name) noexcept;

struct Command {
  Verb verb = Verb::unknown;
  std::string_view name;  // the verb as sent
  std::string_view arg;   // the rest of the line, surrounding spaces removed
};

Command parse_command(std::string_view line);

struct Path {
  std::string address;  // "" for the null path <>
  std::vector<std::pair<std::string, std::string>> params;  // ESMTP keyword=value, keyword upper-cased
};

/// Parses "FROM:<a@b> SIZE=10" (MAIL) or "TO:<a@b>" (RCPT): the keyword, then the path in angle
/// brackets (a space after the colon and a bare address without brackets are tolerated, as most
/// servers do). nullopt with `why` set on a syntax error.
std::optional<Path> parse_path(std::string_view arg, std::string_view keyword, std::string& why);

/// RFC 5321 4.1.2 Mailbox: a dot-string or quoted local part, '@', a domain or an address literal.
bool valid_mailbox(std::string_view address);
/// The part after the last '@' ("" when there is none).
std::string_view domain_of(std::string_view address);

}  // namespace mail::smtp
