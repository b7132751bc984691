#include "util/address.hpp"

#include "util/text.hpp"

namespace mail::util {
namespace {

bool is_atext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

}  // namespace

bool is_dot_string(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char c : s) {
    if (c == '.' ? prev == '.' : !is_atext(c)) return false;
    prev = c;
  }
  return true;
}

std::string canonical_domain(std::string_view domain) {
  if (domain.size() > 1 && domain.back() == '.') domain.remove_suffix(1);
  return to_lower(domain);
}

std::string canonical_address(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return std::string(address);
  std::string_view local = address.substr(0, at);
  std::string out;
  if (local.size() >= 2 && local.front() == '"' && local.back() == '"') {
    std::string inner;
    for (size_t i = 1; i + 1 < local.size(); ++i) {
      if (local[i] == '\\' && i + 2 < local.size()) ++i;  // quoted-pairSMTP: the character itself
      inner += local[i];
    }
    if (is_dot_string(inner)) {
      out = std::move(inner);
    } else {
      out = "\"";
      for (char c : inner) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    }
  } else {
    out = std::string(local);
  }
  return out + '@' + canonical_domain(address.substr(at + 1));
}

bool same_address(std::string_view a, std::string_view b) { return canonical_address(a) == canonical_address(b); }

}  // namespace mail::util
