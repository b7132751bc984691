#include "login.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "services.hpp"

namespace mailsrv {

using namespace mail;

namespace {

using Clock = util::LoginThrottle::Clock;

// Waits until `at`, or until the server stops (Services::cancel_login_waits): a stopping server does
// not sit out a guesser's queue.
asio::awaitable<void> wait_until(Services& svc, Clock::time_point at) {
  asio::steady_timer timer(co_await asio::this_coro::executor, at);
  struct Registered {
    Services& svc;
    asio::steady_timer* t;
    ~Registered() { svc.login_waits.erase(t); }
  } registered{svc, &timer};
  svc.login_waits.insert(&timer);
  co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
}

}  // namespace

asio::awaitable<LoginOutcome> check_login(Services& svc, net::Conn& conn, const std::string& user,
                                          const std::string& password) {
  // Failures count for the account the name means (a bare local part, the address in any domain case);
  // a name that means none counts, and is logged, as <unknown>: it may be a password typed as a name.
  const std::string who = svc.accounts->resolve_user(user).value_or("<unknown>");
  auto account = svc.accounts->check_login(user, password);
  const auto now = Clock::now();
  auto verdict = svc.login_throttle.attempt(conn.peer_ip(), who, account.has_value(), now);
  if (verdict.answer_at > now && !conn.stopping()) co_await wait_until(svc, verdict.answer_at);
  auto delay_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - now).count();
  if (verdict.refused || conn.stopping()) {
    conn.log().info("login", {{"user", who}, {"result", "refused"}, {"delay_ms", delay_ms}});
    co_return LoginOutcome{std::nullopt, true};
  }
  if (!account) {
    conn.log().info("login", {{"user", who}, {"result", "bad"}, {"delay_ms", delay_ms}});
    co_return LoginOutcome{};
  }
  conn.log().info("login", {{"user", *account}, {"result", "ok"}, {"tls", conn.tls_active() ? "yes" : "no"},
                            {"delay_ms", delay_ms}});
  co_return LoginOutcome{account, false};
}

}  // namespace mailsrv
