#include "queue/conn_cache.hpp"

#include <algorithm>

namespace mail::queue {

bool reusable_after(const smtp::Reply& last) { return last.code != 421; }

ConnCache::Parked ConnCache::park(const CacheKey& key, Id id, std::int64_t now) {
  Parked p;
  if (limits_.idle_ms <= 0 || limits_.total == 0 || limits_.per_destination == 0) return p;
  // Room first: the oldest idle connection to the same destination, else the oldest of all.
  auto same = [&key](const Idle& i) { return i.key == key; };
  if (static_cast<std::size_t>(std::count_if(idle_.begin(), idle_.end(), same)) >= limits_.per_destination) {
    auto it = std::find_if(idle_.begin(), idle_.end(), same);
    p.evicted.push_back(it->id);
    idle_.erase(it);
  }
  if (idle_.size() >= limits_.total) {
    p.evicted.push_back(idle_.front().id);
    idle_.erase(idle_.begin());
  }
  idle_.push_back({id, key, now + limits_.idle_ms});
  p.kept = true;
  return p;
}

std::optional<ConnCache::Id> ConnCache::take(const CacheKey& key, std::int64_t now) {
  // The newest: the least likely to have been closed by the peer's idle timeout meanwhile.
  for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
    if (it->key != key || it->until <= now) continue;
    Id id = it->id;
    idle_.erase(std::next(it).base());
    return id;
  }
  return std::nullopt;
}

std::vector<ConnCache::Id> ConnCache::expire(std::int64_t now) {
  std::vector<Id> out;
  std::erase_if(idle_, [&](const Idle& i) {
    if (i.until > now) return false;
    out.push_back(i.id);
    return true;
  });
  return out;
}

std::optional<std::int64_t> ConnCache::next_expiry() const {
  std::optional<std::int64_t> next;
  for (const auto& i : idle_)
    if (!next || i.until < *next) next = i.until;
  return next;
}

std::vector<ConnCache::Id> ConnCache::drain() {
  std::vector<Id> out;
  for (const auto& i : idle_) out.push_back(i.id);
  idle_.clear();
  return out;
}

}  // namespace mail::queue
