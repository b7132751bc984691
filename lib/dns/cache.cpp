#include "dns/cache.hpp"

namespace mail::dns {

std::optional<Answer> Cache::get(const Name& name, std::uint16_t type, Clock::time_point now) {
  auto it = entries_.find(Key{name, type});
  if (it == entries_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.answer;
}

void Cache::put(const Name& name, std::uint16_t type, const Answer& a, Clock::time_point now) {
  if (capacity_ == 0 || a.rcode != Rcode::noerror || a.records.empty()) return;
  std::uint32_t ttl = min_ttl(a);
  if (ttl == 0) return;
  Key key{name, type};
  if (entries_.size() >= capacity_ && !entries_.contains(key)) {
    std::erase_if(entries_, [now](const auto& kv) { return kv.second.expires <= now; });
    if (entries_.size() >= capacity_) {
      auto soonest = entries_.begin();
      for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (it->second.expires < soonest->second.expires) soonest = it;
      entries_.erase(soonest);
    }
  }
  entries_[key] = Entry{a, now + std::chrono::seconds(ttl)};
}

}  // namespace mail::dns
