#include "smtp/trace.hpp"

#include <cstdio>

namespace mail::smtp {

std::string rfc5322_date(std::time_t t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday % 7], tm.tm_mday,
                kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string received_header(const TraceInfo& t) {
  // RFC 3848: ESMTP, then S over TLS and A after AUTH ("ESMTPSA"); plain SMTP after HELO.
  std::string with = t.esmtp ? std::string("ESMTP") + (t.tls ? "S" : "") + (t.authenticated ? "A" : "") : "SMTP";
  std::string h = "Received: from " + t.helo + " ([" + t.peer_ip + "])\n\tby " + t.server_name + " (mailworld) with " +
                  with + " id " + t.id;
  if (!t.for_address.empty()) h += "\n\tfor <" + t.for_address + ">";
  h += "; " + rfc5322_date(t.when) + "\n";
  return h;
}

std::string local_received_header(std::string_view server_name, std::string_view id, std::time_t when) {
  return "Received: by " + std::string(server_name) + " (mailworld) id " + std::string(id) + "; " + rfc5322_date(when) + "\n";
}

std::string return_path_header(std::string_view sender) { return "Return-Path: <" + std::string(sender) + ">\n"; }

}  // namespace mail::smtp
