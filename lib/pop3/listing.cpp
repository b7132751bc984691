#include "pop3/listing.hpp"

#include <algorithm>

namespace mail::pop3 {

void Listing::reserve(std::size_t messages, std::size_t name_bytes) {
  entries_.reserve(messages);
  names_.reserve(name_bytes);
}

void Listing::add(std::string_view name, std::size_t uid_length, std::uint64_t octets) {
  name = name.substr(0, 65535);
  entries_.push_back(Entry{octets, static_cast<std::uint32_t>(names_.size()), static_cast<std::uint16_t>(name.size()),
                           static_cast<std::uint16_t>(std::min<std::size_t>({uid_length, name.size(), 70}))});
  names_.append(name);
}

std::string_view Listing::name(std::size_t i) const noexcept {
  const Entry& e = entries_[i];
  return std::string_view(names_).substr(e.offset, e.name_length);
}

std::string_view Listing::uid(std::size_t i) const noexcept { return name(i).substr(0, entries_[i].uid_length); }

}  // namespace mail::pop3
