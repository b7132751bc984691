// Delivery status notifications (RFC 3464 in an RFC 6522 multipart/report): what a bounce says.
// Pure: the caller gives the names, ids and times. LF line ends (stored form).
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace mail::smtp {

struct FailedRecipient {
  std::string address;
  std::string remote_mta;  // host that answered, "" when none did
  std::string diagnostic;  // the remote reply ("550 5.1.1 no such user") or our reason
  std::string command;     // "RCPT TO", "MAIL FROM", "end of DATA", or "" (no SMTP reply)
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

/// The status code of a reply: its RFC 3463 code when the text starts with one, else 5.0.0 / 4.0.0.
std::string status_of(std::string_view diagnostic);

/// The whole bounce message (header and body), from MAILER-DAEMON@reporting_mta.
std::string build_dsn(const DsnInput& in);

}  // namespace mail::smtp
