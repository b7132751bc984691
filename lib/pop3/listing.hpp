// The messages of a maildrop as one POP3 session sees them: fixed numbers, octet counts (CRLF line
// ends, before byte-stuffing) and unique ids, packed into one buffer (about 16 octets per message
// plus its file name) so that a session over a large maildrop stays small.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mail::pop3 {

class Listing {
 public:
  /// `uid_length`: the unique id is the first uid_length octets of `name` (1..70 printable octets).
  void add(std::string_view name, std::size_t uid_length, std::uint64_t octets);
  void reserve(std::size_t messages, std::size_t name_bytes);

  std::size_t size() const noexcept { return entries_.size(); }
  /// 0-based index.
  std::string_view name(std::size_t i) const noexcept;
  std::string_view uid(std::size_t i) const noexcept;
  std::uint64_t octets(std::size_t i) const noexcept { return entries_[i].octets; }
  std::size_t memory() const noexcept { return names_.capacity() + entries_.capacity() * sizeof(Entry); }

 private:
  struct Entry {
    std::uint64_t octets;
    std::uint32_t offset;
    std::uint16_t name_length;
    std::uint16_t uid_length;
  };
  std::string names_;
  std::vector<Entry> entries_;
};

}  // namespace mail::pop3
