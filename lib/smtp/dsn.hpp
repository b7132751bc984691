// Delivery status notifications (RFC 3464 in an RFC 6522 multipart/report): what a bounce says.
// Pure: the caller gives the names, ids and times. LF line ends (stored form).
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/outcome.hpp"

namespace mail::smtp {

struct FailedRecipient {
  FailedRecipient(std::string address, Outcome outcome) : address(std::move(address)), outcome(std::move(outcome)) {}
  /// From text: the host that answered ("" when none did), its reply ("550 5.1.1 no such user") or
  /// our reason ("5.1.2 ..."), and the command it answered ("" when no server replied).
  FailedRecipient(std::string address, std::string remote_mta, std::string_view reply, std::string command);

  std::string address;
  Outcome outcome;  // the last one: what the bounce reports
};

struct DsnInput {
  std::string reporting_mta;     // our server name
  std::string original_sender;   // the envelope sender the bounce goes to
  std::string queue_id;
  std::time_t arrival = 0;
  std::time_t now = 0;
  std::string message_id;        // of the bounce itself, without <>
  std::string boundary;
  std::vector<FailedRecipient> failed;
  std::string original_headers;  // the returned message's header section (LF line ends)
};

/// The status code of a reply line: its RFC 3463 code when the text starts with one, else 5.0.0 / 4.0.0
/// (Outcome::status of the parsed line).
std::string status_of(std::string_view diagnostic);

/// The whole bounce message (header and body), from MAILER-DAEMON@reporting_mta.
std::string build_dsn(const DsnInput& in);

}  // namespace mail::smtp
