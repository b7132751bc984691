// Checking a login for SMTP AUTH and POP3 alike, through the login throttle (util::LoginThrottle):
// failures count per client address and per account across connections, and the answer waits its
// turn. Credentials never reach a log; a user name is logged as the account it names, or <unknown>.
#pragma once

#include <optional>
#include <string>

#include <asio/awaitable.hpp>

#include "net/conn.hpp"

namespace mailsrv {

struct Services;

struct LoginOutcome {
  std::optional<std::string> account;  // the account, when the password was right
  bool refused = false;                // the throttle would not answer now: "try again later", nothing else said
};

asio::awaitable<LoginOutcome> check_login(Services& svc, mail::net::Conn& conn, const std::string& user,
                                          const std::string& password);

}  // namespace mailsrv
