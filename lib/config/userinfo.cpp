#include "config/userinfo.hpp"

namespace mail::config {
namespace {

bool blank(char c) { return c == ' ' || c == '\t'; }

// The whitespace-separated words of a line (spaces and tabs only: other control bytes stay in words
// and are refused by address_problem).
std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && blank(line[i])) ++i;
    std::size_t start = i;
    while (i < line.size() && !blank(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool has_control(std::string_view s) {
  for (unsigned char c : s)
    if (c < ' ' || c == 0x7f) return true;
  return false;
}

// One line's account, or the reason it is not one.
Result<UserLine> parse_line(std::string_view line, const std::string& domain) {
  auto w = words(line);
  if (w.size() == 1) return fail(Errc::parse, "a login without a password (expected: LOGIN PASSWORD)");
  if (w.size() > 2)
    return fail(Errc::parse, "expected a login and a password separated by spaces, got " + std::to_string(w.size()) +
                                 " words (a password may not contain spaces)");
  if (has_control(w[1])) return fail(Errc::parse, "the password contains a control byte");
  UserLine u;
  u.password = std::string(w[1]);
  u.address = std::string(w[0]);
  if (u.address.find('@') == std::string::npos) {
    if (has_control(u.address)) return fail(Errc::parse, "the login contains a control byte");
    if (domain.empty())
      return fail(Errc::parse, "login \"" + u.address + "\" has no @domain and the accounts table gives no domain");
    u.address += "@" + domain;
  }
  if (auto why = address_problem(u.address); !why.empty()) return fail(Errc::parse, why);
  return u;
}

}  // namespace

std::string address_problem(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == address.size()) return "expected an address like user@example.com";
  for (unsigned char c : address)
    if (c <= ' ' || c == '<' || c == '>' || c == 0x7f) return "an address may not contain spaces, '<', '>' or control bytes";
  return "";
}

Result<std::vector<UserLine>> parse_userinfo(std::string_view text, const std::string& file_name,
                                             const std::string& domain) {
  std::vector<UserLine> out;
  std::uint32_t number = 0;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark (Windows Notepad)
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF files from Windows editors
    auto first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    auto u = parse_line(line, domain);
    if (!u) return fail(Errc::parse, file_name + ":" + std::to_string(number) + ": " + u.error().detail);
    u->line = number;
    out.push_back(std::move(*u));
  }
  return out;
}

}  // namespace mail::config
