// Slowing password guessing (issue 10, defect 13): failed logins count per client address (as Dovecot's
// auth penalty does) and per account, across connections, and the answers to parallel attempts queue
// behind each other per key, so N guesses in parallel cost the sum of their delays, not one delay.
// Pure: the caller passes the time and says whether the password was right.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mail::util {

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  struct Verdict {
    Clock::time_point answer_at;  // answer the attempt no earlier than this
    bool refused = false;         // answer "try again later" then, without telling whether the password was right
  };

  explicit LoginThrottle(std::size_t capacity = 10000) : capacity_(capacity < 2 ? 2 : capacity) {}

  /// One login attempt from `peer` (an IP address as Conn::peer_ip() gives it) for `account` (normalised by
  /// the caller: the account the user name resolves to, or one shared name for names that resolve to none).
  /// - A right password from an address with no recent failures is answered at once, whatever the account's
  ///   queue: an attack on an account does not lock its owner out.
  /// - Everything else waits for both keys' queues, then a delay that grows with their failures (250 ms
  ///   doubling to 2 s). That includes a right password from an address with recent failures: its answer
  ///   comes when a wrong one would, so the timing tells the guesser nothing, and it resets no count.
  ///   Only a wrong password counts, for both keys.
  /// - An attempt that would wait longer than kMaxWait is refused at kMaxWait and does not join the queue.
  Verdict attempt(std::string_view peer, std::string_view account, bool right, Clock::time_point now);

  /// Failures of the last kWindow (fading linearly) counted for a client address, or for an account.
  int peer_failures(std::string_view peer, Clock::time_point now) const;
  int account_failures(std::string_view account, Clock::time_point now) const;
  std::size_t size() const noexcept { return entries_.size(); }

  /// The key of a client address: IPv4 as is (also IPv4-mapped IPv6), IPv6 by its /48 network as Dovecot
  /// does (PENALTY_IPV6_MASK_BITS), so that one host cannot spread its failures over many addresses.
  static std::string peer_key(std::string_view ip);

  static constexpr std::chrono::seconds kWindow{60};
  static constexpr std::chrono::milliseconds kFirstDelay{250};
  static constexpr std::chrono::milliseconds kMaxDelay{2000};
  static constexpr std::chrono::seconds kMaxWait{15};

 private:
  struct Entry {
    double score = 0;          // failures, fading out linearly over kWindow after the last one
    Clock::time_point last{};  // the last failure
    Clock::time_point busy{};  // when the last queued attempt is answered
  };
  static double decayed(const Entry& e, Clock::time_point now);
  const Entry* find(const std::string& key) const;
  /// Room for `n` new keys: forgets idle entries, then the least-failed ones.
  void make_room(std::size_t n, Clock::time_point now);

  std::size_t capacity_;
  std::unordered_map<std::string, Entry> entries_;  // "a:" + peer_key, "u:" + account
};

}  // namespace mail::util
