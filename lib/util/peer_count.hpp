// Concurrent sessions per client address, capped as Postfix's smtpd_client_connection_count_limit
// does; addresses in the exempt ranges are never counted (Postfix exempts $mynetworks). Pure.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/cidr.hpp"

namespace mail::util {

class PeerCount {
 public:
  enum class Admit { counted, exempt, refused };

  /// `cap` sessions per address at most (0 = no cap: nothing is counted).
  PeerCount(std::size_t cap, std::vector<Cidr> exempt) : cap_(cap), exempt_(std::move(exempt)) {}

  /// A session from `ip` (as Conn::peer_ip() gives it) wants in. `counted`: release(ip) is owed when
  /// it ends; `refused`: the address already has `cap` sessions, nothing was counted.
  Admit admit(std::string_view ip);
  void release(std::string_view ip);

  std::size_t sessions(std::string_view ip) const;
  /// Addresses with counted sessions: none are kept once their sessions ended.
  std::size_t addresses() const noexcept { return count_.size(); }
  std::size_t cap() const noexcept { return cap_; }

 private:
  std::size_t cap_;
  std::vector<Cidr> exempt_;
  std::map<std::string, std::size_t, std::less<>> count_;
};

}  // namespace mail::util
