#include "util/auth.hpp"

#include <crypt.h>

#include <algorithm>
#include <cmath>
#include <fstream>

namespace mail::util {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    auto v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
             static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    auto v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    auto v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      v[k] = base64_value(c);
      if (v[k] < 0) return std::nullopt;
    }
    unsigned triple = static_cast<unsigned>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out += static_cast<char>(triple >> 16 & 0xFF);
    if (pad < 2) out += static_cast<char>(triple >> 8 & 0xFF);
    if (pad < 1) out += static_cast<char>(triple & 0xFF);
  }
  return out;
}

std::optional<PlainCredentials> parse_sasl_plain(std::string_view m) {
  auto first = m.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = m.find('\0', first + 1);
  if (second == std::string_view::npos || m.find('\0', second + 1) != std::string_view::npos) return std::nullopt;
  PlainCredentials c{std::string(m.substr(0, first)), std::string(m.substr(first + 1, second - first - 1)),
                     std::string(m.substr(second + 1))};
  if (c.user.empty()) return std::nullopt;
  return c;
}

bool constant_time_equals(std::string_view a, std::string_view b) noexcept {
  // Loop over the longer one: the time depends on the lengths only.
  std::size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

bool verify_password(std::string_view stored, std::string_view given) {
  auto scheme_end = stored.size() > 1 && stored.front() == '{' ? stored.find('}') : std::string_view::npos;
  if (scheme_end == std::string_view::npos) return constant_time_equals(stored, given);
  std::string scheme(stored.substr(1, scheme_end - 1));
  std::string_view value = stored.substr(scheme_end + 1);
  for (char& c : scheme) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  if (scheme == "PLAIN") return constant_time_equals(value, given);
  if (scheme == "SHA512-CRYPT" || scheme == "SHA256-CRYPT" || scheme == "CRYPT" || scheme == "BLF-CRYPT" ||
      scheme == "MD5-CRYPT") {
    crypt_data data{};
    std::string setting(value), key(given);
    const char* out = crypt_r(key.c_str(), setting.c_str(), &data);
    bool ok = out != nullptr && out[0] != '*' && constant_time_equals(out, value);
    std::fill(key.begin(), key.end(), '\0');
    return ok;
  }
  return false;  // an unknown scheme never matches
}

std::string hash_password(std::string_view password) {
  static constexpr char kSalt[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  unsigned char raw[16];
  std::ifstream("/dev/urandom", std::ios::binary).read(reinterpret_cast<char*>(raw), sizeof raw);
  std::string setting = "$6$";
  for (unsigned char c : raw) setting += kSalt[c % 64];
  crypt_data data{};
  std::string key(password);
  const char* out = crypt_r(key.c_str(), setting.c_str(), &data);
  return std::string("{SHA512-CRYPT}") + (out ? out : "*");
}

}  // namespace mail::util
