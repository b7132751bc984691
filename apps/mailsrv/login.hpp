// Checking a login for SMTP AUTH and POP3 alike: the account on success; on failure, after the
// growing delay of the failure throttle (only this session waits). Credentials never reach a log.
#pragma once

#include <optional>
#include <string>

#include <asio/awaitable.hpp>

#include "net/conn.hpp"

namespace mailsrv {

struct Services;

asio::awaitable<std::optional<std::string>> check_login(Services& svc, mail::net::Conn& conn, const std::string& user,
                                                        const std::string& password);

}  // namespace mailsrv
