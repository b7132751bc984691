#include "util/text.hpp"

#include <arpa/inet.h>

namespace mail::util {

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max) noexcept {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

Result<HostPort> parse_host_port(std::string_view s, std::optional<std::uint16_t> default_port) {
  HostPort hp;
  std::string_view port_text;
  bool has_port = false;
  if (!s.empty() && s.front() == '[') {  // [v6]:port
    auto close = s.find(']');
    if (close == std::string_view::npos) return fail(Errc::invalid, "missing ']' in '" + std::string(s) + "'");
    hp.host = std::string(s.substr(1, close - 1));
    auto rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail(Errc::invalid, "expected ':' after ']' in '" + std::string(s) + "'");
      port_text = rest.substr(1);
      has_port = true;
    }
  } else {
    auto colon = s.rfind(':');
    if (colon != std::string_view::npos && s.find(':') != colon)
      return fail(Errc::invalid, "an IPv6 address needs brackets: '[" + std::string(s) + "]:PORT'");
    hp.host = std::string(s.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = s.substr(colon + 1);
      has_port = true;
    }
  }
  if (hp.host.empty()) return fail(Errc::invalid, "missing host in '" + std::string(s) + "'");
  if (has_port) {
    auto port = parse_uint(port_text, 65535);
    if (!port || *port == 0) return fail(Errc::invalid, "bad port in '" + std::string(s) + "'");
    hp.port = static_cast<std::uint16_t>(*port);
  } else if (default_port) {
    hp.port = *default_port;
  } else {
    return fail(Errc::invalid, "missing ':PORT' in '" + std::string(s) + "'");
  }
  return hp;
}

std::string format_host_port(std::string_view host, std::uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out = "[" + std::string(host) + "]";
  } else {
    out = std::string(host);
  }
  return out + ":" + std::to_string(port);
}

bool is_ip_literal(std::string_view s) {
  std::string str(s);
  unsigned char buf[16];
  return inet_pton(AF_INET, str.c_str(), buf) == 1 || inet_pton(AF_INET6, str.c_str(), buf) == 1;
}

std::string unparsed_line(std::string_view line, bool (*is_verb)(std::string_view word)) {
  std::string_view word = line;
  while (!word.empty() && static_cast<unsigned char>(word.front()) <= ' ') word.remove_prefix(1);
  std::size_t n = 0;
  while (n < word.size() && word[n] > ' ' && word[n] < 127) ++n;
  word = word.substr(0, n);
  std::string out = "<unparsed, " + std::to_string(line.size()) + " octets>";
  if (word.empty() || !is_verb(word)) return out;
  std::string verb(word);
  for (char& c : verb) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return verb + " " + out;
}

}  // namespace mail::util
