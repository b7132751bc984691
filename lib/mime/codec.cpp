#include "mime/codec.hpp"

#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "mime/stream.hpp"
#include "util/auth.hpp"
#include "util/text.hpp"

namespace mail::mime {

namespace {
constexpr char kHex[] = "0123456789ABCDEF";
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}
}  // namespace

bool is_ascii(std::string_view s) noexcept {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

std::string qp_encode(std::string_view text) {
  std::string out;
  std::size_t col = 0;
  auto put = [&](std::string_view piece) {
    if (col + piece.size() > 75) {  // soft line break
      out += "=\r\n";
      col = 0;
    }
    out += piece;
    col += piece.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\r\n";
      col = 0;
      continue;
    }
    bool at_line_end = i + 1 == text.size() || text[i + 1] == '\n';
    bool plain = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    if (c == '.' && col == 0) plain = false;  // a lone "." line means something to SMTP
    if (plain) {
      char ch = static_cast<char>(c);
      put(std::string_view(&ch, 1));
    } else {
      char e[3] = {'=', kHex[c >> 4], kHex[c & 15]};
      put(std::string_view(e, 3));
    }
  }
  return out;
}

std::string qp_decode(std::string_view text, bool* ok) {
  std::string out;
  bool good = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '=') {
      out += c;
      continue;
    }
    if (i + 1 < text.size() && (text[i + 1] == '\n' || text[i + 1] == '\r')) {  // soft break
      ++i;
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      continue;
    }
    int h = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
    int l = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
    if (h < 0 || l < 0) {
      good = false;
      out += c;
      continue;
    }
    out += static_cast<char>(h * 16 + l);
    i += 2;
  }
  if (ok) *ok = good;
  return out;
}

// Both through the streaming coders (stream.hpp), so a message in one piece and one in chunks agree.
std::string base64_lines(std::string_view bytes) {
  std::string out;
  out.reserve(base64_lines_size(bytes.size()));
  Base64Encoder e;
  e.feed(bytes, out);
  e.finish(out);
  return out;
}

std::string base64_decode_lenient(std::string_view text, bool* ok) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  Base64Decoder d;
  d.feed(text, out);
  bool good = d.finish(out);
  if (ok) *ok = good;
  return out;
}

std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::string encode_header(std::string_view utf8) {
  if (is_ascii(utf8)) return std::string(utf8);
  // Words of at most 45 input octets (60 encoded) that never split a UTF-8 sequence.
  std::string out;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::size_t n = std::min<std::size_t>(45, utf8.size() - i);
    std::size_t cut = n;
    while (cut > 0 && i + cut < utf8.size() && (static_cast<unsigned char>(utf8[i + cut]) & 0xC0) == 0x80) --cut;
    if (cut > 0) n = cut;  // else not UTF-8: cut anywhere rather than never advance
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + util::base64_encode(utf8.substr(i, n)) + "?=";
    i += n;
  }
  return out;
}

std::string decode_header(std::string_view v) {
  std::string out;
  std::size_t i = 0;
  bool last_was_word = false;
  std::string pending_space;
  while (i < v.size()) {
    auto start = v.find("=?", i);
    if (start == std::string_view::npos) {
      out += pending_space;
      out += v.substr(i);
      break;
    }
    auto q1 = v.find('?', start + 2);
    auto q2 = q1 == std::string_view::npos ? q1 : v.find('?', q1 + 1);
    auto end = q2 == std::string_view::npos ? q2 : v.find("?=", q2 + 1);
    if (end == std::string_view::npos) {
      out += pending_space;
      out += v.substr(i);
      break;
    }
    std::string_view between = v.substr(i, start - i);
    bool only_space = between.find_first_not_of(" \t\r\n") == std::string_view::npos;
    if (!(last_was_word && only_space)) out += between;  // space between two words disappears
    std::string charset = util::to_lower(v.substr(start + 2, q1 - start - 2));
    if (auto star = charset.find('*'); star != std::string::npos) charset.resize(star);  // RFC 2231 language
    char enc = static_cast<char>(util::ascii_lower(v[q1 + 1]));
    std::string_view payload = v.substr(q2 + 1, end - q2 - 1);
    std::string text;
    if (enc == 'b') {
      text = base64_decode_lenient(payload);
    } else {
      std::string p(payload);
      for (char& c : p)
        if (c == '_') c = ' ';
      text = qp_decode(p);
    }
    out += (charset == "iso-8859-1" || charset == "latin1") ? latin1_to_utf8(text) : text;
    last_was_word = true;
    i = end + 2;
  }
  return out;
}

namespace {

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

HeaderValue parse_header_value(std::string_view v) {
  HeaderValue hv;
  std::size_t i = v.find(';');
  hv.value = util::to_lower(util::trim(v.substr(0, i)));
  std::map<std::string, std::map<int, std::pair<bool, std::string>>> parts;  // name -> section -> (encoded, text)
  std::map<std::string, std::string> charsets;
  while (i != std::string_view::npos && i < v.size()) {
    ++i;
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n')) ++i;
    auto eq = v.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string name = util::to_lower(util::trim(v.substr(i, eq - i)));
    std::size_t j = eq + 1;
    while (j < v.size() && (v[j] == ' ' || v[j] == '\t')) ++j;
    std::string value;
    if (j < v.size() && v[j] == '"') {
      for (++j; j < v.size() && v[j] != '"'; ++j) {
        if (v[j] == '\\' && j + 1 < v.size()) ++j;
        value += v[j];
      }
      i = v.find(';', j);
    } else {
      i = v.find(';', j);
      value = std::string(util::trim(v.substr(j, i == std::string_view::npos ? std::string_view::npos : i - j)));
    }
    // RFC 2231: name*=, name*0=, name*0*=
    bool encoded = !name.empty() && name.back() == '*';
    if (encoded) name.pop_back();
    int section = 0;
    if (auto star = name.find('*'); star != std::string::npos) {
      section = static_cast<int>(util::parse_uint(name.substr(star + 1), 1000).value_or(0));
      name.resize(star);
    }
    if (encoded && section == 0) {  // charset'language'text
      auto a = value.find('\'');
      auto b = a == std::string::npos ? a : value.find('\'', a + 1);
      if (b != std::string::npos) {
        charsets[name] = util::to_lower(value.substr(0, a));
        value = value.substr(b + 1);
      }
    }
    parts[name][section] = {encoded, value};
  }
  for (auto& [name, sections] : parts) {
    std::string joined;
    for (auto& [n, piece] : sections) joined += piece.first ? percent_decode(piece.second) : piece.second;
    if (charsets[name] == "iso-8859-1") joined = latin1_to_utf8(joined);
    hv.params[name] = joined;
  }
  return hv;
}

std::string header_param(std::string_view name, std::string_view value) {
  if (is_ascii(value)) {
    std::string out = std::string(name) + "=\"";
    for (char c : value) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }
  std::string out = std::string(name) + "*=utf-8''";
  for (unsigned char c : value) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string content_type_for(std::string_view filename) {
  static std::once_flag once;
  static std::unordered_map<std::string, std::string> types;
  std::call_once(once, [] {
    std::ifstream in("/etc/mime.types");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ss(line);
      std::string type, ext;
      ss >> type;
      while (ss >> ext) types.emplace(util::to_lower(ext), type);
    }
  });
  auto dot = filename.rfind('.');
  if (dot != std::string_view::npos) {
    auto it = types.find(util::to_lower(filename.substr(dot + 1)));
    if (it != types.end()) return it->second;
  }
  return "application/octet-stream";
}

std::string safe_filename(std::string_view name) {
  auto slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name = name.substr(slash + 1);
  std::string out;
  for (unsigned char c : name)
    if (c >= 0x20 && c != 0x7f) out += static_cast<char>(c);
  std::size_t lead = out.find_first_not_of(". ");
  out = lead == std::string::npos ? std::string() : out.substr(lead);
  if (out.empty()) out = "attachment";
  return out;
}

}  // namespace mail::mime
