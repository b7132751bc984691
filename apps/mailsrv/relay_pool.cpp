#include "relay_pool.hpp"

#include <chrono>
#include <map>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace mailsrv {

using namespace mail;

namespace {
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

struct RelayPool::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& i, queue::CacheLimits limits) : io(i), cache(limits), timer(i) {}

  asio::io_context& io;
  queue::ConnCache cache;
  std::map<queue::ConnCache::Id, std::unique_ptr<RelaySession>> sessions;  // the idle ones, by cache id
  queue::ConnCache::Id next_id = 1;
  asio::steady_timer timer;
  bool expiring = false;  // expire_loop runs
  bool stopped = false;
  int quitting = 0;

  // QUIT, then the connection closes (its feed `close` with it).
  void quit(std::unique_ptr<RelaySession> s) {
    ++quitting;
    asio::co_spawn(io, say_quit(shared_from_this(), std::move(s)), asio::detached);
  }
  static asio::awaitable<void> say_quit(std::shared_ptr<Impl> self, std::unique_ptr<RelaySession> s) {
    const std::string quit = s->cs.quit();
    if (net::feed::on()) net::feed::emit_lines("c", s->conn.log().sid(), quit);
    co_await s->conn.write(quit);
    s.reset();
    --self->quitting;
  }
  void quit_ids(const std::vector<queue::ConnCache::Id>& ids) {
    for (auto id : ids) {
      auto it = sessions.find(id);
      if (it == sessions.end()) continue;
      auto s = std::move(it->second);
      sessions.erase(it);
      quit(std::move(s));
    }
  }

  // While anything is idle: wakes when the oldest one's time runs out.
  static asio::awaitable<void> expire_loop(std::shared_ptr<Impl> self) {
    while (!self->stopped) {
      auto next = self->cache.next_expiry();
      if (!next) break;
      self->timer.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(0, *next - now_ms())));
      co_await self->timer.async_wait(kTuple);
      if (self->stopped) break;
      self->quit_ids(self->cache.expire(now_ms()));
    }
    self->expiring = false;
  }
};

RelayPool::RelayPool(asio::io_context& io, queue::CacheLimits limits) : impl_(std::make_shared<Impl>(io, limits)) {}
RelayPool::~RelayPool() { stop(); }

std::unique_ptr<RelaySession> RelayPool::take(const queue::CacheKey& key) {
  auto id = impl_->cache.take(key, now_ms());
  if (!id) return nullptr;
  auto it = impl_->sessions.find(*id);
  if (it == impl_->sessions.end()) return nullptr;
  auto s = std::move(it->second);
  impl_->sessions.erase(it);
  return s;
}

void RelayPool::park(const queue::CacheKey& key, std::unique_ptr<RelaySession> s) {
  if (impl_->stopped) return impl_->quit(std::move(s));
  const auto id = impl_->next_id++;
  auto parked = impl_->cache.park(key, id, now_ms());
  impl_->quit_ids(parked.evicted);
  if (!parked.kept) return impl_->quit(std::move(s));
  impl_->sessions.emplace(id, std::move(s));
  if (!impl_->expiring) {
    impl_->expiring = true;
    asio::co_spawn(impl_->io, Impl::expire_loop(impl_), asio::detached);
  }
}

void RelayPool::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->timer.cancel();
  impl_->quit_ids(impl_->cache.drain());
}

bool RelayPool::idle() const noexcept { return impl_->quitting == 0; }

}  // namespace mailsrv
