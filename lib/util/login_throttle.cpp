#include "util/login_throttle.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mail::util {

namespace {
std::string address_key(std::string_view peer) { return "a:" + LoginThrottle::peer_key(peer); }
std::string account_key(std::string_view account) { return "u:" + std::string(account); }
int count_of(double score) { return static_cast<int>(std::ceil(score - 1e-9)); }
}  // namespace

std::string LoginThrottle::peer_key(std::string_view ip) {
  std::string text(ip);
  unsigned char b[16];
  if (text.find(':') == std::string::npos || inet_pton(AF_INET6, text.c_str(), b) != 1) return text;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char out[64];
  if (std::equal(b, b + 12, kMapped)) {
    std::snprintf(out, sizeof out, "%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
  } else {
    std::snprintf(out, sizeof out, "%02x%02x:%02x%02x:%02x%02x::/48", b[0], b[1], b[2], b[3], b[4], b[5]);
  }
  return out;
}

double LoginThrottle::decayed(const Entry& e, Clock::time_point now) {
  double age = std::chrono::duration<double>(now - e.last).count();
  double keep = 1.0 - age / std::chrono::duration<double>(kWindow).count();
  return keep <= 0 ? 0 : e.score * std::min(keep, 1.0);
}

const LoginThrottle::Entry* LoginThrottle::find(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

int LoginThrottle::peer_failures(std::string_view peer, Clock::time_point now) const {
  const Entry* e = find(address_key(peer));
  return e ? count_of(decayed(*e, now)) : 0;
}

int LoginThrottle::account_failures(std::string_view account, Clock::time_point now) const {
  const Entry* e = find(account_key(account));
  return e ? count_of(decayed(*e, now)) : 0;
}

void LoginThrottle::make_room(std::size_t n, Clock::time_point now) {
  if (entries_.size() + n <= capacity_) return;
  std::erase_if(entries_, [&](const auto& kv) { return decayed(kv.second, now) <= 0 && kv.second.busy <= now; });
  while (!entries_.empty() && entries_.size() + n > capacity_) {  // still full: forget the least-failed
    auto least = std::min_element(entries_.begin(), entries_.end(), [&](const auto& a, const auto& b) {
      return decayed(a.second, now) < decayed(b.second, now);
    });
    entries_.erase(least);
  }
}

LoginThrottle::Verdict LoginThrottle::attempt(std::string_view peer, std::string_view account, bool right,
                                              Clock::time_point now) {
  std::string pk = address_key(peer), ak = account_key(account);
  const Entry* known = find(pk);
  if (right && (known == nullptr || (decayed(*known, now) <= 0 && known->busy <= now))) return {now, false};

  make_room(2, now);
  Entry& p = entries_[pk];  // references stay valid while the map grows
  Entry& a = entries_[ak];
  int n = count_of(std::max(decayed(p, now), decayed(a, now))) + 1;  // as if this attempt failed too
  auto delay = std::min<Clock::duration>(kFirstDelay * (1 << std::min(n - 1, 8)), kMaxDelay);
  auto at = std::max({now, p.busy, a.busy}) + delay;
  if (at - now > kMaxWait) return {now + kMaxWait, true};
  p.busy = a.busy = at;
  if (!right) {
    for (Entry* e : {&p, &a}) {
      e->score = decayed(*e, now) + 1;
      e->last = now;
    }
  }
  return {at, false};
}

}  // namespace mail::util
