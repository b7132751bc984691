// The trace fields a server prepends to each message it accepts (RFC 5321 4.4): Received on every
// copy, Return-Path on mailbox copies only. LF line ends (the Maildir convention).
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace mail::smtp {

struct TraceInfo {
  std::string helo;         // what the client said in HELO/EHLO
  std::string peer_ip;
  std::string server_name;  // "by" this server
  bool esmtp = true;        // "with ESMTP" after EHLO, "with SMTP" after HELO
  std::string id;           // the queue id
  std::string for_address;  // the recipient when there is exactly one, else ""
  std::time_t when = 0;
  bool tls = false;            // the session was encrypted (STARTTLS or implicit TLS): "ESMTPS" (RFC 3848)
  bool authenticated = false;  // the client authenticated (AUTH): "ESMTPA", with TLS "ESMTPSA"
};

/// "Received: from HELO ([IP])\n\tby NAME (mailworld) with ESMTP id ID\n\tfor <a@b>; DATE\n" (ESMTPS,
/// ESMTPA, ESMTPSA as RFC 3848 says).
std::string received_header(const TraceInfo& t);
/// "Received: by NAME (mailworld) id ID; DATE\n": for mail the server writes itself (bounces).
std::string local_received_header(std::string_view server_name, std::string_view id, std::time_t when);
/// "Return-Path: <sender>\n" ("<>" for the null sender).
std::string return_path_header(std::string_view sender);
/// RFC 5322 3.3 date-time in UTC: "Sun, 22 Nov 2026 03:04:05 +0000".
std::string rfc5322_date(std::time_t t);

}  // namespace mail::smtp
