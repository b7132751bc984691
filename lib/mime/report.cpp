#include "mime/report.hpp"

#include "util/address.hpp"
#include "util/text.hpp"

namespace mail::mime {

namespace {

// Problems are capped too: a report made of junk lines must not make a list as long as itself.
void note(std::vector<std::string>& problems, std::string what) {
  if (problems.size() < kMaxProblems) problems.push_back(std::move(what));
  else if (problems.size() == kMaxProblems) problems.push_back("more problems not listed");
}

// One line and what follows it; a CR before the LF is not part of the line.
std::string_view next_line(std::string_view& text) {
  auto nl = text.find('\n');
  std::string_view line = text.substr(0, nl);
  text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// "rfc822; a@b" -> "a@b": RFC 3464 2.3.2, 2.3.3 and 2.3.5 write address-type ";" address.
std::string without_type(std::string_view v) {
  auto semi = v.find(';');
  return std::string(util::trim(semi == std::string_view::npos ? v : v.substr(semi + 1)));
}

// A group's fields from `text`, counting lines from `line_no` for the problems.
Fields read_group(std::string_view& text, std::size_t& line_no, std::vector<std::string>& problems) {
  Fields out;
  bool full = false;
  while (!text.empty()) {
    auto line = next_line(text);
    ++line_no;
    if (line.empty()) break;
    if (full) continue;  // skip to the end of the group
    if (line.front() == ' ' || line.front() == '\t') {  // RFC 5322 2.2.3: unfolding
      if (out.empty()) note(problems, "line " + std::to_string(line_no) + ": a continuation with no field before it");
      else out.back().second += (out.back().second.empty() ? "" : " ") + std::string(util::trim(line));
      continue;
    }
    auto colon = line.find(':');
    auto name = colon == std::string_view::npos ? std::string_view() : util::trim(line.substr(0, colon));
    if (name.empty() || name.find_first_of(" \t") != std::string_view::npos) {
      note(problems, "line " + std::to_string(line_no) + ": not a field");
      continue;
    }
    if (out.size() == kMaxFields) {
      note(problems, "more than " + std::to_string(kMaxFields) + " fields; the rest not read");
      full = true;
      continue;
    }
    out.emplace_back(std::string(name), std::string(util::trim(line.substr(colon + 1))));
  }
  return out;
}

const std::string* find(const Fields& f, std::string_view name) {
  for (const auto& [n, v] : f)
    if (util::iequals(n, name)) return &v;
  return nullptr;
}

std::string value(const Fields& f, std::string_view name) {
  const auto* v = find(f, name);
  return v ? *v : std::string();
}

RecipientStatus recipient_of(const Fields& f, std::size_t n, std::vector<std::string>& problems) {
  RecipientStatus r;
  r.recipient = without_type(value(f, "Final-Recipient"));
  r.original_recipient = without_type(value(f, "Original-Recipient"));
  r.action = util::to_lower(value(f, "Action"));
  r.status = value(f, "Status");
  r.remote_mta = without_type(value(f, "Remote-MTA"));
  r.diagnostic = value(f, "Diagnostic-Code");
  r.last_attempt = value(f, "Last-Attempt-Date");
  // RFC 3464 2.3: Final-Recipient, Action and Status are required in every recipient's group.
  for (const char* required : {"Final-Recipient", "Action", "Status"})
    if (!find(f, required)) note(problems, "recipient " + std::to_string(n) + ": no " + required);
  return r;
}

}  // namespace

Fields read_fields(std::string_view text, std::vector<std::string>& problems, std::string_view* rest) {
  std::size_t line_no = 0;
  auto out = read_group(text, line_no, problems);
  if (rest) *rest = text;
  return out;
}

DeliveryStatus parse_delivery_status(std::string_view body) {
  DeliveryStatus ds;
  std::size_t line_no = 0;
  auto skip_blank = [&] {
    while (!body.empty()) {
      std::string_view peek = body;
      if (!next_line(peek).empty()) return;
      body = peek;
      ++line_no;
    }
  };
  skip_blank();
  auto per_message = read_group(body, line_no, ds.problems);
  ds.reporting_mta = without_type(value(per_message, "Reporting-MTA"));
  ds.arrival_date = value(per_message, "Arrival-Date");
  if (!find(per_message, "Reporting-MTA")) note(ds.problems, "no Reporting-MTA");  // RFC 3464 2.2
  for (skip_blank(); !body.empty(); skip_blank()) {
    if (ds.recipients.size() == kMaxRecipients) {
      note(ds.problems, "more than " + std::to_string(kMaxRecipients) + " recipients; the rest not listed");
      break;
    }
    auto group = read_group(body, line_no, ds.problems);
    ds.recipients.push_back(recipient_of(group, ds.recipients.size() + 1, ds.problems));
  }
  if (ds.recipients.empty()) note(ds.problems, "no recipient");
  return ds;
}

const RecipientStatus* failed_recipient(const DeliveryStatus& ds, std::string_view address) {
  for (const auto& r : ds.recipients)
    if (util::iequals(r.action, "failed") && util::same_address(r.recipient, address)) return &r;
  return nullptr;
}

}  // namespace mail::mime
