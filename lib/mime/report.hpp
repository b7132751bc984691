// Delivery reports as a reader sees them (RFC 6522 multipart/report; report-type=delivery-status, RFC 3464):
// the fields of the message/delivery-status part, and the header fields of the returned message
// (text/rfc822-headers, or the header of a message/rfc822 part). smtp::build_dsn writes what this reads.
// Pure and bounded: any input gives at most kMaxRecipients recipients and kMaxFields fields per list.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mail::mime {

using Fields = std::vector<std::pair<std::string, std::string>>;  // name, value (unfolded), in order

/// One per-recipient group (RFC 3464 2.3). Values of Final-Recipient, Original-Recipient and Remote-MTA
/// lose their type ("rfc822; ", "dns; "): it only says how the rest is written. Diagnostic-Code keeps
/// its type ("smtp; 550 ..."): it says whether a server replied or the reporting MTA decided.
struct RecipientStatus {
  std::string recipient;           // Final-Recipient
  std::string original_recipient;  // Original-Recipient
  std::string action;              // failed, delayed, delivered, relayed, expanded
  std::string status;              // 5.1.1
  std::string remote_mta;          // Remote-MTA
  std::string diagnostic;          // Diagnostic-Code
  std::string last_attempt;        // Last-Attempt-Date
};

struct DeliveryStatus {
  std::string reporting_mta;  // Reporting-MTA, without its type
  std::string arrival_date;   // Arrival-Date
  std::vector<RecipientStatus> recipients;
  std::vector<std::string> problems;  // missing or malformed fields, what was not read
};

constexpr std::size_t kMaxRecipients = 100;
constexpr std::size_t kMaxFields = 200;
constexpr std::size_t kMaxProblems = 10;

/// Header-style fields (RFC 5322 2.2): continuation lines (starting with SP or HT) are unfolded, a line
/// that is not a field is a problem. Stops at the first empty line; `rest` (when given) gets what follows it.
Fields read_fields(std::string_view text, std::vector<std::string>& problems, std::string_view* rest = nullptr);

/// The body of a message/delivery-status part: the per-message group, then one group per recipient,
/// separated by empty lines (CRLF or LF line ends). Never throws.
DeliveryStatus parse_delivery_status(std::string_view body);

/// The group saying delivery to `address` failed (Action: failed, RFC 3464 2.3.3; a "delayed" warning
/// is not a bounce), its Final-Recipient compared as a mailbox (util::same_address); null when none.
const RecipientStatus* failed_recipient(const DeliveryStatus& ds, std::string_view address);

}  // namespace mail::mime
