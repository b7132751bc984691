#include "services.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "util/address.hpp"
#include "util/auth.hpp"
#include "util/text.hpp"

namespace mailsrv {

using namespace mail;

Accounts::Accounts(const std::vector<config::Account>& accounts) {
  for (const auto& a : accounts) {
    by_key_.emplace(util::canonical_address(a.address), a.address);
    passwords_.emplace(a.address, a.password);
    auto at = a.address.rfind('@');
    by_local_[a.address.substr(0, at)].push_back(a.address);
    domains_.emplace(util::canonical_domain(a.address.substr(at + 1)), true);
  }
}

std::optional<std::string> Accounts::resolve_user(std::string_view user) const {
  if (user.find('@') != std::string_view::npos) return account(user);
  auto it = by_local_.find(std::string(user));
  if (it == by_local_.end() || it->second.size() != 1) return std::nullopt;
  return it->second.front();
}

std::optional<std::string> Accounts::check_login(std::string_view user, std::string_view password) const {
  auto account = resolve_user(user);
  // An unknown user costs the same comparison, so the time does not tell which accounts exist.
  static const std::string kNobody = "\x01no such account\x01";
  const std::string& stored = account ? passwords_.at(*account) : kNobody;
  bool ok = util::verify_password(stored, password);
  if (!account || !ok) return std::nullopt;
  return account;
}

bool Accounts::is_local(std::string_view domain) const { return domains_.contains(util::canonical_domain(domain)); }

std::optional<std::string> Accounts::account(std::string_view address) const {
  auto it = by_key_.find(util::canonical_address(address));
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Accounts::addresses() const {
  std::vector<std::string> out;
  for (const auto& [k, a] : by_key_) out.push_back(a);
  return out;
}

std::string Services::next_id() {
  using namespace std::chrono;
  auto us = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%llX%04llX", static_cast<unsigned long long>(us),
                static_cast<unsigned long long>(counter.fetch_add(1) & 0xFFFF));
  return buf;
}

std::string Services::next_unique() {
  using namespace std::chrono;
  auto now = system_clock::now().time_since_epoch();
  auto secs = duration_cast<seconds>(now).count();
  auto usecs = duration_cast<microseconds>(now).count() % 1000000;
  return store::maildir::unique_name(secs, static_cast<long>(usecs), static_cast<long>(::getpid()), counter.fetch_add(1),
                                     host);
}

}  // namespace mailsrv
