#include "util/peer_count.hpp"

namespace mail::util {

PeerCount::Admit PeerCount::admit(std::string_view ip) {
  if (cap_ == 0 || any_contains(exempt_, ip)) return Admit::exempt;
  auto it = count_.find(ip);
  if (it == count_.end()) {
    count_.emplace(std::string(ip), 1);
    return Admit::counted;
  }
  if (it->second >= cap_) return Admit::refused;
  ++it->second;
  return Admit::counted;
}

void PeerCount::release(std::string_view ip) {
  auto it = count_.find(ip);
  if (it == count_.end()) return;
  if (--it->second == 0) count_.erase(it);
}

std::size_t PeerCount::sessions(std::string_view ip) const {
  auto it = count_.find(ip);
  return it == count_.end() ? 0 : it->second;
}

}  // namespace mail::util
