// A users file as in the KU Leuven assignment (`userinfo.txt`): one account per line, a login and a
// password separated by spaces or tabs. Named by `[accounts."NAME"] file` (docs/configuration.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace mail::config {

struct UserLine {
  std::string address;   // the login, with "@domain" added when it has no '@'
  std::string password;  // as written (plaintext or {SCHEME}hash)
  std::uint32_t line = 0;
};

/// The accounts of a users file. Blank lines and lines whose first non-blank byte is '#' are skipped;
/// a CR before the LF is ignored. A bare login gets "@" + `domain` ("" = bare logins are errors).
/// The error is one line: `FILE:LINE: reason`. Passwords never appear in it.
Result<std::vector<UserLine>> parse_userinfo(std::string_view text, const std::string& file_name,
                                             const std::string& domain);

/// Why `address` cannot be an account's address ("" when it can): local@domain, both parts non-empty,
/// no spaces, '<', '>' or control bytes. The rule of inline accounts too.
std::string address_problem(std::string_view address);

}  // namespace mail::config
