// The driver of wait and expect-bounce (watch.hpp): a fresh POP3 session per look, because a maildrop
// is a snapshot taken at login (RFC 1939 8), then QUIT without DELE, then a timer until the next look.
#include <algorithm>

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "agent.hpp"
#include "watch.hpp"

namespace agent {

using namespace mail;

namespace {

// What one look found: done (the request is met), or what to say if time runs out.
struct Look {
  bool done = false;
  std::string seen;  // "the mailbox holds 2 messages, not 3" / the last error
};

std::string plural(std::uint64_t n) { return std::to_string(n) + (n == 1 ? " message" : " messages"); }

asio::awaitable<Result<Look>> look(PopClient& pop, const WatchRequest& req, std::vector<std::string>& seen, const View& v) {
  if (req.kind == WatchRequest::Kind::wait) {
    auto r = co_await pop.command("STAT");
    if (!r) co_return r.error();
    if (!r->ok) co_return fail(Errc::refused, "STAT: " + r->status);
    auto n = stat_count(*r);
    if (n < req.count) co_return Look{false, "the mailbox holds " + plural(n) + ", not " + std::to_string(req.count)};
    show_pop_result(PopPlan{find_pop_command("stat"), {}, 0}, r, v);  // the stat command's output
    co_return Look{true, {}};
  }
  auto listing = co_await pop.command("UIDL");
  if (!listing) co_return listing.error();
  if (!listing->ok) co_return fail(Errc::refused, "UIDL: " + listing->status);
  for (const auto& n : unseen_messages(listing->lines, seen)) {
    auto m = co_await pop.command("RETR " + n);
    if (!m) co_return m.error();
    if (!m->ok) continue;  // gone meanwhile (another client's DELE)
    std::string raw;
    for (const auto& l : m->lines) raw += l + "\r\n";
    if (auto found = bounce_for(raw, req.address)) {
      show_bounce(*found, v);
      co_return Look{true, {}};
    }
  }
  co_return Look{false, "no bounce for " + req.address + " among " + plural(listing->lines.size())};
}

}  // namespace

asio::awaitable<int> run_watch(Agent& a, const std::vector<std::string>& args) {
  auto req = parse_watch(args);
  if (!req) {
    complain("usage: " + watch_usage(args[0]));
    co_return 2;
  }
  View v{std::cout, std::cerr, a.json, false};
  auto deadline = std::chrono::steady_clock::now() + req->timeout;
  std::vector<std::string> seen;  // UIDs of the messages read already
  std::string last = "no look at the mailbox succeeded";
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    // A server that accepts and says nothing must not hold a look past the deadline: each of its
    // reads gets at most the time left (and a little, so that a look can still begin at the end).
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    a.io_timeout = std::clamp(left, std::chrono::milliseconds(100), std::chrono::milliseconds(60000));
    PopClient pop(a);
    auto opened = co_await pop.open();
    if (!opened && pop.login_refused() && !refusal_is_temporary(opened.error().detail)) {
      complain(opened.error().detail);
      co_return 1;
    }
    Result<Look> found = Look{};
    if (opened) found = co_await look(pop, *req, seen, v);  // not inside ?: (house rules: g++ 12 traps)
    else found = opened.error();
    if (pop.connected()) co_await pop.command("QUIT");
    if (found && found->done) co_return 0;
    last = found ? found->seen : found.error().detail;  // a server down or restarting: try again
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    timer.expires_after(std::min<std::chrono::steady_clock::duration>(kPollInterval, deadline - now));
    co_await timer.async_wait(asio::use_awaitable);
  }
  complain(timeout_message(*req, last));
  co_return 1;
}

}  // namespace agent
