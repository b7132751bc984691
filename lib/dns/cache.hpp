// A bounded TTL cache of positive answers, keyed by (name, type). Pure: the caller passes the time.
// Negative answers are not cached (our zones carry no SOA to bound them, RFC 2308 5).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "dns/answer.hpp"

namespace mail::dns {

class Cache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Cache(std::size_t capacity = 4096) : capacity_(capacity) {}

  std::optional<Answer> get(const Name& name, std::uint16_t type, Clock::time_point now);
  /// Keeps `a` for its lowest TTL; answers without records or with TTL 0 are not kept. When full,
  /// expired entries go first, then the one closest to expiry.
  void put(const Name& name, std::uint16_t type, const Answer& a, Clock::time_point now);
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Key {
    Name name;
    std::uint16_t type;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept { return NameHash{}(k.name) * 31 + k.type; }
  };
  struct Entry {
    Answer answer;
    Clock::time_point expires;
  };
  std::size_t capacity_;
  std::unordered_map<Key, Entry, KeyHash> entries_;
};

}  // namespace mail::dns
