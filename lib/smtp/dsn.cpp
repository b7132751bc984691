#include "smtp/dsn.hpp"

#include "smtp/trace.hpp"

namespace mail::smtp {

namespace {
// One line, printable: a diagnostic goes into a header-like field.
std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) out += (c == '\r' || c == '\n' || c == '\t') ? ' ' : c;
  return out;
}
}  // namespace

FailedRecipient::FailedRecipient(std::string address, std::string remote_mta, std::string_view reply, std::string command)
    : address(std::move(address)), outcome(Outcome::parse(reply)) {
  outcome.mta = std::move(remote_mta);
  outcome.command = std::move(command);
}

std::string status_of(std::string_view d) { return Outcome::parse(d).status(); }

std::string build_dsn(const DsnInput& in) {
  const std::string& b = in.boundary;
  std::string m;
  m += "From: Mail Delivery System <MAILER-DAEMON@" + in.reporting_mta + ">\n";
  m += "To: <" + in.original_sender + ">\n";
  m += "Subject: Undelivered Mail Returned to Sender\n";
  m += "Date: " + rfc5322_date(in.now) + "\n";
  m += "Message-ID: <" + in.message_id + ">\n";
  m += "Auto-Submitted: auto-replied\n";
  m += "MIME-Version: 1.0\n";
  m += "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"" + b + "\"\n";
  m += "\nThis is a MIME-encapsulated message.\n\n";

  m += "--" + b + "\nContent-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n";
  m += "This is the mail system at host " + in.reporting_mta + ".\n\n";
  m += "I'm sorry to have to inform you that your message could not\n";
  m += "be delivered to one or more recipients. It's attached below.\n\n";
  for (const auto& f : in.failed) {
    const Outcome& o = f.outcome;
    m += "<" + f.address + ">: ";
    if (!o.mta.empty()) m += "host " + o.mta + " said: ";
    m += one_line(o.line());
    if (!o.command.empty()) m += " (in reply to " + o.command + " command)";
    m += "\n";
  }

  m += "\n--" + b + "\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n";
  m += "Reporting-MTA: dns; " + in.reporting_mta + "\n";
  m += "X-Mailworld-Queue-ID: " + in.queue_id + "\n";
  m += "Arrival-Date: " + rfc5322_date(in.arrival) + "\n";
  for (const auto& f : in.failed) {
    const Outcome& o = f.outcome;
    m += "\nFinal-Recipient: rfc822; " + f.address + "\n";
    m += "Original-Recipient: rfc822; " + f.address + "\n";
    m += "Action: failed\n";
    m += "Status: " + o.status() + "\n";
    if (!o.mta.empty()) m += "Remote-MTA: dns; " + o.mta.substr(0, o.mta.find('[')) + "\n";
    // RFC 3464 2.3.6: "smtp" when a server replied, our own type for our own findings.
    m += std::string("Diagnostic-Code: ") + (o.command.empty() ? "x-mailworld; " : "smtp; ") + one_line(o.line()) + "\n";
  }

  m += "\n--" + b + "\nContent-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n";
  m += in.original_headers;
  if (!in.original_headers.empty() && in.original_headers.back() != '\n') m += "\n";
  m += "\n--" + b + "--\n";
  return m;
}

}  // namespace mail::smtp
