#include "smtp/command.hpp"

#include <array>

#include "util/address.hpp"
#include "util/text.hpp"

namespace mail::smtp {
namespace {

// Indexed by Verb.
constexpr std::array<std::string_view, static_cast<std::size_t>(Verb::unknown)> kNames{
    "HELO", "EHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP", "STARTTLS", "AUTH",
};

bool valid_quoted(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      if (++i + 1 >= s.size()) return false;
      c = static_cast<unsigned char>(s[i]);
      if (c < 32 || c > 126) return false;
    } else if (c < 32 || c > 126 || c == '"') {
      return false;
    }
  }
  return true;
}

bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 255) return false;
  if (d.front() == '[') {  // address literal
    if (d.back() != ']') return false;
    auto inner = d.substr(1, d.size() - 2);
    if (inner.rfind("IPv6:", 0) == 0) return util::is_ip_literal(inner.substr(5));
    return util::is_ip_literal(inner) && inner.find(':') == std::string_view::npos;
  }
  size_t start = 0;
  while (start <= d.size()) {
    auto dot = d.find('.', start);
    auto label = d.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

// The end of an address inside <...>: the first '>' outside a quoted string.
size_t closing_bracket(std::string_view s, size_t from) {
  bool quoted = false;
  for (size_t i = from; i < s.size(); ++i) {
    if (quoted && s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && s[i] == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::string_view verb_name(Verb v) noexcept {
  auto i = static_cast<std::size_t>(v);
  return i < kNames.size() ? kNames[i] : std::string_view{};
}

Verb verb_of(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (util::iequals(kNames[i], name)) return static_cast<Verb>(i);
  return Verb::unknown;
}

Command parse_command(std::string_view line) {
  Command c;
  auto sp = line.find(' ');
  c.name = line.substr(0, sp);
  c.arg = sp == std::string_view::npos ? std::string_view{} : util::trim(line.substr(sp + 1));
  c.verb = verb_of(c.name);
  return c;
}

std::string_view domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

bool valid_mailbox(std::string_view a) {
  size_t at;
  if (!a.empty() && a.front() == '"') {
    size_t i = 1;
    for (; i < a.size(); ++i) {
      if (a[i] == '\\') ++i;
      else if (a[i] == '"') break;
    }
    at = i + 1;
    if (at >= a.size() || a[at] != '@') return false;
    if (!valid_quoted(a.substr(0, at))) return false;
  } else {
    at = a.rfind('@');
    if (at == std::string_view::npos || !util::is_dot_string(a.substr(0, at))) return false;
  }
  if (at > 64) return false;  // RFC 5321 4.5.3.1.1
  return valid_domain(a.substr(at + 1));
}

std::optional<Path> parse_path(std::string_view arg, std::string_view keyword, std::string& why) {
  if (arg.size() <= keyword.size() || !util::iequals(arg.substr(0, keyword.size()), keyword) ||
      arg[keyword.size()] != ':') {
    why = "Syntax: " + std::string(keyword == "FROM" ? "MAIL FROM:<address>" : "RCPT TO:<address>");
    return std::nullopt;
  }
  std::string_view rest = util::trim(arg.substr(keyword.size() + 1));
  Path p;
  std::string_view addr;
  if (!rest.empty() && rest.front() == '<') {
    auto close = closing_bracket(rest, 1);
    if (close == std::string_view::npos) {
      why = "Missing '>' after the address";
      return std::nullopt;
    }
    addr = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!addr.empty() && addr.front() == '@') {  // an obsolete source route: <@a,@b:user@host>
      auto colon = addr.find(':');
      if (colon == std::string_view::npos) {
        why = "Bad source route";
        return std::nullopt;
      }
      addr = addr.substr(colon + 1);
    }
  } else {
    auto sp = rest.find(' ');
    addr = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp);
  }
  if (!addr.empty() && !valid_mailbox(addr)) {
    why = "Bad address syntax";
    return std::nullopt;
  }
  p.address = std::string(addr);
  rest = util::trim(rest);
  while (!rest.empty()) {
    auto sp = rest.find(' ');
    auto param = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view{} : util::trim(rest.substr(sp));
    if (param.empty()) continue;
    auto eq = param.find('=');
    std::string key = util::to_lower(param.substr(0, eq));
    for (char& c : key) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    p.params.emplace_back(key, eq == std::string_view::npos ? std::string() : std::string(param.substr(eq + 1)));
  }
  return p;
}

}  // namespace mail::smtp
