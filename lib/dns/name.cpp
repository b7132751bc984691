#include "dns/name.hpp"

#include "util/text.hpp"

namespace mail::dns {

bool wire_iequal(std::string_view a, std::string_view b) noexcept { return util::iequals(a, b); }

bool operator==(const Name& a, const Name& b) noexcept { return wire_iequal(a.wire_, b.wire_); }

std::size_t NameHash::operator()(const Name& n) const noexcept {
  std::size_t h = 1469598103934665603ull;  // FNV-1a over the lowercased wire form
  for (char c : n.wire()) {
    h ^= static_cast<unsigned char>(util::ascii_lower(c));
    h *= 1099511628211ull;
  }
  return h;
}

Name Name::lower() const {
  Name n;
  n.wire_ = util::to_lower(wire_);
  return n;
}

Result<Name> Name::from_text(std::string_view text) {
  Name n;
  if (text == ".") return n;
  if (text.empty()) return fail(Errc::invalid, "empty name");
  if (text.back() == '.') {  // the root's dot, unless escaped: an odd number of backslashes before it
    std::size_t slashes = 0;
    while (slashes + 1 < text.size() && text[text.size() - 2 - slashes] == '\\') ++slashes;
    if (slashes % 2 == 0) text.remove_suffix(1);
  }
  std::string label;
  auto flush = [&]() -> Result<void> {
    if (label.empty()) return fail(Errc::invalid, "empty label in '" + std::string(text) + "'");
    if (label.size() > kMaxLabel) return fail(Errc::invalid, "label longer than 63 octets in '" + std::string(text) + "'");
    n.wire_ += static_cast<char>(label.size());
    n.wire_ += label;
    label.clear();
    return {};
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (auto r = flush(); !r) return r.error();
    } else if (c == '\\') {
      if (i + 1 >= text.size()) return fail(Errc::invalid, "dangling '\\' in '" + std::string(text) + "'");
      char d = text[i + 1];
      if (d >= '0' && d <= '9') {
        auto v = i + 3 < text.size() ? util::parse_uint(text.substr(i + 1, 3), 255) : std::nullopt;
        if (!v) return fail(Errc::invalid, "bad \\DDD escape in '" + std::string(text) + "'");
        label += static_cast<char>(*v);
        i += 3;
      } else {
        label += d;
        ++i;
      }
    } else {
      label += c;
    }
  }
  if (auto r = flush(); !r) return r.error();
  if (n.wire_size() > kMaxNameWire) return fail(Errc::invalid, "name longer than 255 octets");
  return n;
}

std::string Name::to_text() const {
  if (wire_.empty()) return ".";
  std::string out;
  size_t i = 0;
  while (i < wire_.size()) {
    size_t len = static_cast<unsigned char>(wire_[i]);
    if (!out.empty()) out += '.';
    for (size_t j = i + 1; j <= i + len && j < wire_.size(); ++j) {
      auto c = static_cast<unsigned char>(wire_[j]);
      if (c == '.' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c <= ' ' || c >= 0x7f) {
        char buf[5];
        buf[0] = '\\';
        buf[1] = static_cast<char>('0' + c / 100);
        buf[2] = static_cast<char>('0' + (c / 10) % 10);
        buf[3] = static_cast<char>('0' + c % 10);
        buf[4] = 0;
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    i += len + 1;
  }
  return out;
}

}  // namespace mail::dns
