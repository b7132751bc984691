// Bounded reading and writing of DNS wire data (RFC 1035 4.1): every read checks the bounds, names
// follow compression pointers only backwards (so no loop can form) and stay within 255 octets;
// the writer compresses names against those already written (RFC 1035 4.1.4).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dns/name.hpp"

namespace mail::dns {

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> msg) : msg_(msg) {}

  bool u8(std::uint8_t& v);
  bool u16(std::uint16_t& v);
  bool u32(std::uint32_t& v);
  bool bytes(std::size_t n, std::string& out);
  bool skip(std::size_t n);
  /// Reads a possibly compressed name. On failure `error()` says why.
  bool name(Name& out);

  std::size_t pos() const noexcept { return pos_; }
  std::size_t size() const noexcept { return msg_.size(); }
  std::size_t remaining() const noexcept { return msg_.size() - pos_; }
  const char* error() const noexcept { return error_; }

 private:
  bool failed(const char* why) {
    error_ = why;
    return false;
  }
  std::span<const std::uint8_t> msg_;
  std::size_t pos_ = 0;
  const char* error_ = "";
};

class Writer {
 public:
  explicit Writer(std::vector<std::uint8_t>& out) : out_(out), base_(out.size()) {}

  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v);
  void u32(std::uint32_t v);
  void bytes(std::string_view b);
  /// Writes `n`, pointing at an earlier copy of its longest known suffix. The Name must outlive the
  /// Writer (the table keeps views into it).
  void name(const Name& n);
  void patch_u16(std::size_t at, std::uint16_t v);

  /// Bytes written by this writer (the message size).
  std::size_t size() const noexcept { return out_.size() - base_; }
  /// Cuts the message back to `n` bytes and forgets names written after that point.
  void truncate(std::size_t n);

 private:
  struct Entry {
    std::string_view suffix;  // wire labels of a name from some label on, to the end
    std::uint16_t offset;     // where that suffix starts in the message
  };
  std::vector<std::uint8_t>& out_;
  std::size_t base_;
  std::vector<Entry> table_;
};

}  // namespace mail::dns
