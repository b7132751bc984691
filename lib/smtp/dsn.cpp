#include "smtp/dsn.hpp"

#include "smtp/trace.hpp"

namespace mail::smtp {

namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// One line, printable: a diagnostic goes into a header-like field.
std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) out += (c == '\r' || c == '\n' || c == '\t') ? ' ' : c;
  return out;
}
}  // namespace

std::string status_of(std::string_view d) {
  // "550 5.1.1 text" or "5.1.1 text": class.subject.detail
  auto text = d;
  if (text.size() > 4 && is_digit(text[0]) && is_digit(text[1]) && is_digit(text[2]) && text[3] == ' ') text = text.substr(4);
  std::size_t i = 0;
  auto digits = [&](std::size_t max) {
    std::size_t n = 0;
    while (i < text.size() && is_digit(text[i]) && n < max) ++i, ++n;
    return n;
  };
  if (!text.empty() && (text[0] == '2' || text[0] == '4' || text[0] == '5') && text.size() > 1 && text[1] == '.') {
    i = 2;
    if (digits(3) > 0 && i < text.size() && text[i] == '.') {
      ++i;
      if (digits(3) > 0 && (i == text.size() || text[i] == ' ')) return std::string(text.substr(0, i));
    }
  }
  return !d.empty() && d[0] == '4' ? "4.0.0" : "5.0.0";
}

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
    m += "<" + f.address + ">: ";
    if (!f.remote_mta.empty()) m += "host " + f.remote_mta + " said: ";
    m += one_line(f.diagnostic);
    if (!f.command.empty()) m += " (in reply to " + f.command + " command)";
    m += "\n";
  }

  m += "\n--" + b + "\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n";
  m += "Reporting-MTA: dns; " + in.reporting_mta + "\n";
  m += "X-Mailworld-Queue-ID: " + in.queue_id + "\n";
  m += "Arrival-Date: " + rfc5322_date(in.arrival) + "\n";
  for (const auto& f : in.failed) {
    m += "\nFinal-Recipient: rfc822; " + f.address + "\n";
    m += "Original-Recipient: rfc822; " + f.address + "\n";
    m += "Action: failed\n";
    m += "Status: " + status_of(f.diagnostic) + "\n";
    if (!f.remote_mta.empty()) m += "Remote-MTA: dns; " + f.remote_mta.substr(0, f.remote_mta.find('[')) + "\n";
    m += std::string("Diagnostic-Code: ") + (f.command.empty() ? "x-mailworld; " : "smtp; ") + one_line(f.diagnostic) + "\n";
  }

  m += "\n--" + b + "\nContent-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n";
  m += in.original_headers;
  if (!in.original_headers.empty() && in.original_headers.back() != '\n') m += "\n";
  m += "\n--" + b + "--\n";
  return m;
}

}  // namespace mail::smtp
