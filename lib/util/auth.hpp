// Pieces of authentication shared by POP3 and SMTP: base64 (RFC 4648), the SASL PLAIN message
// (RFC 4616), constant-time comparison, and the throttle that slows down password guessing.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mail::util {

std::string base64_encode(std::string_view bytes);
/// Strict: only the base64 alphabet, correct padding; nullopt otherwise.
std::optional<std::string> base64_decode(std::string_view text);

struct PlainCredentials {
  std::string authzid;  // usually empty
  std::string user;
  std::string password;
};
/// The decoded SASL PLAIN message: authzid NUL authcid NUL passwd.
std::optional<PlainCredentials> parse_sasl_plain(std::string_view message);

/// Checks a password against a configured one: plaintext (the course's files), "{PLAIN}text", or a
/// crypt(3) hash as Dovecot writes it ("{SHA512-CRYPT}$6$salt$hash", "{CRYPT}..."). Constant time.
bool verify_password(std::string_view stored, std::string_view given);
/// "{SHA512-CRYPT}$6$<random salt>$..." for `password` (mailsrv --hash-password).
std::string hash_password(std::string_view password);

/// Compares without an early exit, so the time does not tell how much of a password was right.
bool constant_time_equals(std::string_view a, std::string_view b) noexcept;

/// Failed logins per (peer, user): the delay before the next "wrong password" reply grows with the
/// failures of the last minute (250 ms, 500 ms, 1 s, then 2 s at most) and decays as they age out.
/// Bounded: at most `capacity` keys are remembered. Pure: the caller passes the time.
class FailureThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit FailureThrottle(std::size_t capacity = 10000) : capacity_(capacity) {}

  /// Records a failure and returns how long to wait before answering it.
  std::chrono::milliseconds fail(std::string_view peer, std::string_view user, Clock::time_point now);
  /// Failures of the last minute for this key (after decay).
  int failures(std::string_view peer, std::string_view user, Clock::time_point now) const;
  std::size_t size() const noexcept { return entries_.size(); }

  static constexpr std::chrono::seconds kWindow{60};
  static constexpr std::chrono::milliseconds kMaxDelay{2000};

 private:
  struct Entry {
    double score = 0;  // failures, fading out linearly over kWindow after the last one
    Clock::time_point last{};
  };
  static double decayed(const Entry& e, Clock::time_point now);
  std::size_t capacity_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace mail::util
