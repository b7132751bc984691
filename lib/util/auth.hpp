// Pieces of authentication shared by POP3 and SMTP: base64 (RFC 4648), the SASL PLAIN message
// (RFC 4616), constant-time comparison. The throttle that slows down password guessing: login_throttle.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mail::util {

std::string base64_encode(std::string_view bytes);
/// The value (0-63) of one base64 alphabet character, -1 for any other (padding included).
int base64_value(char c) noexcept;
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

}  // namespace mail::util
