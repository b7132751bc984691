#include "dns/wire.hpp"

namespace mail::dns {

bool Reader::u8(std::uint8_t& v) {
  if (remaining() < 1) return failed("truncated");
  v = msg_[pos_++];
  return true;
}

bool Reader::u16(std::uint16_t& v) {
  if (remaining() < 2) return failed("truncated");
  v = static_cast<std::uint16_t>(msg_[pos_] << 8 | msg_[pos_ + 1]);
  pos_ += 2;
  return true;
}

bool Reader::u32(std::uint32_t& v) {
  if (remaining() < 4) return failed("truncated");
  v = static_cast<std::uint32_t>(msg_[pos_]) << 24 | static_cast<std::uint32_t>(msg_[pos_ + 1]) << 16 |
      static_cast<std::uint32_t>(msg_[pos_ + 2]) << 8 | msg_[pos_ + 3];
  pos_ += 4;
  return true;
}

bool Reader::bytes(std::size_t n, std::string& out) {
  if (remaining() < n) return failed("truncated");
  out.assign(reinterpret_cast<const char*>(msg_.data() + pos_), n);
  pos_ += n;
  return true;
}

bool Reader::skip(std::size_t n) {
  if (remaining() < n) return failed("truncated");
  pos_ += n;
  return true;
}

bool Reader::name(Name& out) {
  std::string wire;
  std::size_t p = pos_;
  std::size_t end_of_name = 0;  // where reading continues after the name: set at the first pointer
  std::size_t lowest = p;       // pointers must go strictly below every position seen so far
  bool jumped = false;
  while (true) {
    if (p >= msg_.size()) return failed("truncated name");
    std::uint8_t len = msg_[p];
    if ((len & 0xC0) == 0xC0) {
      if (p + 1 >= msg_.size()) return failed("truncated pointer");
      std::size_t target = static_cast<std::size_t>(len & 0x3F) << 8 | msg_[p + 1];
      if (!jumped) end_of_name = p + 2;
      jumped = true;
      if (target >= lowest) return failed("compression pointer does not point backwards");
      lowest = target;
      p = target;
      continue;
    }
    if ((len & 0xC0) != 0) return failed("unknown label type");
    if (len == 0) {
      ++p;
      break;
    }
    if (p + 1 + len > msg_.size()) return failed("truncated label");
    if (wire.size() + 1 + len + 1 > kMaxNameWire) return failed("name longer than 255 octets");
    wire.append(reinterpret_cast<const char*>(msg_.data() + p), 1 + len);
    p += 1 + len;
  }
  pos_ = jumped ? end_of_name : p;
  out = Name::from_wire(std::move(wire));
  return true;
}

void Writer::u16(std::uint16_t v) {
  out_.push_back(static_cast<std::uint8_t>(v >> 8));
  out_.push_back(static_cast<std::uint8_t>(v));
}

void Writer::u32(std::uint32_t v) {
  u16(static_cast<std::uint16_t>(v >> 16));
  u16(static_cast<std::uint16_t>(v));
}

void Writer::bytes(std::string_view b) { out_.insert(out_.end(), b.begin(), b.end()); }

void Writer::patch_u16(std::size_t at, std::uint16_t v) {
  out_[base_ + at] = static_cast<std::uint8_t>(v >> 8);
  out_[base_ + at + 1] = static_cast<std::uint8_t>(v);
}

void Writer::truncate(std::size_t n) {
  out_.resize(base_ + n);
  std::erase_if(table_, [n](const Entry& e) { return e.offset >= n; });
}

void Writer::name(const Name& n) {
  std::string_view wire = n.wire();
  // Find the longest suffix already in the message.
  std::size_t match_at = wire.size();  // label offset in `wire` where the known suffix starts
  std::uint16_t match_offset = 0;
  for (std::size_t i = 0; i < wire.size(); i += 1 + static_cast<unsigned char>(wire[i])) {
    std::string_view suffix = wire.substr(i);
    for (const auto& e : table_) {
      if (wire_iequal(e.suffix, suffix)) {
        match_at = i;
        match_offset = e.offset;
        break;
      }
    }
    if (match_at != wire.size()) break;
  }
  for (std::size_t i = 0; i < match_at; i += 1 + static_cast<unsigned char>(wire[i])) {
    if (size() < 0x4000) table_.push_back({wire.substr(i), static_cast<std::uint16_t>(size())});
    std::size_t len = static_cast<unsigned char>(wire[i]);
    bytes(wire.substr(i, 1 + len));
  }
  if (match_at != wire.size()) {
    u16(static_cast<std::uint16_t>(0xC000 | match_offset));
  } else {
    u8(0);
  }
}

}  // namespace mail::dns
