// Mail addresses as compared: the one rule for every place that matches two of them (docs/configuration.md: domains
// compare case-insensitively, local parts exactly; RFC 5321 2.4). Here, below lib/config and lib/smtp,
// so the config's duplicate-account check, the SMTP core, the accounts and the store share it.
#pragma once

#include <string>
#include <string_view>

namespace mail::util {

/// RFC 5321 4.1.2 Dot-string: atext atoms separated by single dots.
bool is_dot_string(std::string_view s);

/// A domain as compared: ASCII lowercased, one trailing dot dropped ("Example.ORG." is example.org:
/// the absolute form names the same domain, RFC 1034 3.1). The SMTP parser still refuses a trailing
/// dot on the wire (RFC 5321 4.1.2 Domain), so only configured names can carry one.
std::string canonical_domain(std::string_view domain);
/// An address as compared: the local part exact (RFC 5321 2.4: case-sensitive), '@', the canonical
/// domain. A quoted local part is the string it quotes (RFC 5321 4.1.2: `"usr1"@d` is `usr1@d`): written
/// bare when that is a dot-string, else re-quoted with only '"' and '\' escaped. Without '@': unchanged.
std::string canonical_address(std::string_view address);
/// Do `a` and `b` name the same mailbox? (canonical_address of both are equal.)
bool same_address(std::string_view a, std::string_view b);

}  // namespace mail::util
