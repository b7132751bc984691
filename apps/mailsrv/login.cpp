#include "login.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "services.hpp"
#include "util/text.hpp"

namespace mailsrv {

using namespace mail;

asio::awaitable<std::optional<std::string>> check_login(Services& svc, net::Conn& conn, const std::string& user,
                                                        const std::string& password) {
  auto account = svc.accounts->check_login(user, password);
  if (account) {
    conn.log().info("login", {{"user", *account}, {"result", "ok"}, {"tls", conn.tls_active() ? "yes" : "no"}});
    co_return account;
  }
  auto delay = svc.login_failures.fail(conn.peer_ip(), util::to_lower(user), util::FailureThrottle::Clock::now());
  conn.log().info("login", {{"user", user}, {"result", "bad"}, {"delay_ms", delay.count()}});
  asio::steady_timer t(co_await asio::this_coro::executor, delay);
  co_await t.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  co_return std::nullopt;
}

}  // namespace mailsrv
