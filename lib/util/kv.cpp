#include "util/kv.hpp"

#include <algorithm>

namespace mail::util {
namespace {

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // log.cpp writes lowercase only
}

// A quoted value from just after its opening quote; `pos` ends just after the closing one.
std::optional<std::string> quoted(std::string_view s, std::size_t& pos) {
  std::string out;
  while (pos < s.size()) {
    char c = s[pos++];
    if (c == '"') return out;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (pos >= s.size()) return std::nullopt;
    char e = s[pos++];
    if (e == '"' || e == '\\') {
      out += e;
    } else if (e == 'x' && pos + 2 <= s.size() && hex_digit(s[pos]) >= 0 && hex_digit(s[pos + 1]) >= 0) {
      out += static_cast<char>(hex_digit(s[pos]) * 16 + hex_digit(s[pos + 1]));
      pos += 2;
    } else {
      return std::nullopt;
    }
  }
  return std::nullopt;  // no closing quote
}

}  // namespace

std::optional<KvPairs> parse_kv(std::string_view line) {
  KvPairs out;
  std::size_t pos = 0;
  while (pos < line.size()) {
    if (!out.empty()) {
      if (line[pos] != ' ') return std::nullopt;
      ++pos;
    }
    auto eq = line.find('=', pos);
    auto key = line.substr(pos, eq == std::string_view::npos ? std::string_view::npos : eq - pos);
    if (eq == std::string_view::npos || key.empty() || key.find_first_of(" \"") != std::string_view::npos)
      return std::nullopt;
    pos = eq + 1;
    std::string value;
    if (pos < line.size() && line[pos] == '"') {
      ++pos;
      auto v = quoted(line, pos);
      if (!v) return std::nullopt;
      value = std::move(*v);
    } else {
      auto end = std::min(line.find(' ', pos), line.size());
      auto raw = line.substr(pos, end - pos);
      if (raw.find_first_of("\"\\") != std::string_view::npos) return std::nullopt;  // would have been quoted
      value = std::string(raw);
      pos = end;
    }
    if (pos < line.size() && line[pos] != ' ') return std::nullopt;  // `a="x"y`
    if (pos + 1 == line.size()) return std::nullopt;                  // a trailing space
    out.emplace_back(std::string(key), std::move(value));
  }
  return out;
}

std::string_view kv_get(const KvPairs& fields, std::string_view key) noexcept {
  for (const auto& [k, v] : fields)
    if (k == key) return v;
  return {};
}

}  // namespace mail::util
