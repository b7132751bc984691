#include "relay.hpp"

#include <chrono>
#include <ctime>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "bounce.hpp"
#include "net/event_feed.hpp"
#include "smtp/message_id.hpp"
#include "queue/core.hpp"
#include "relay_connection.hpp"
#include "relay_pool.hpp"
#include "services.hpp"
#include "store/queue.hpp"
#include "util/log.hpp"

namespace mailsrv {

using namespace mail;

namespace {
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

std::time_t now() { return std::time(nullptr); }

void log_crash(const char* event, const std::exception_ptr& ex) {
  if (!ex) return;
  try {
    std::rethrow_exception(ex);
  } catch (const std::exception& e) {
    log::error("relay", event, {{"what", e.what()}});
  }
}
}  // namespace

// The driver of queue::Core: it performs each effect (timers, deliveries, store calls) and feeds the
// outcome back. Every decision is the core's.
struct Relay::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& i, Services& s, net::Resolver& r)
      : io(i), svc(s), resolver(r), wake(i), core(s.settings.queue, queue::Limits{.relay_tls = s.settings.tls.relay}),
        pool(i, queue::CacheLimits{.idle_ms = std::chrono::milliseconds(s.settings.queue.connection_cache).count()}) {}

  asio::io_context& io;
  Services& svc;
  net::Resolver& resolver;
  asio::steady_timer wake;
  queue::Core core;
  RelayPool pool;  // idle connections between attempts
  int inflight = 0;
  bool stopping = false;

  void poke() { wake.cancel(); }
  // The effects of an event that asks for nothing but a tick.
  void wakes(const queue::Effects& effects) {
    for (const auto& e : effects)
      if (std::holds_alternative<queue::WakeAt>(e)) poke();
  }

  // An entry with its message's hop count (loop protection reads the Received fields once).
  queue::Entry entry_of(store::QueueEnvelope env) const {
    auto headers = store::read_headers(svc.layout->queue() / (env.id + ".eml"));
    int hops = headers ? store::count_received(*headers) : 0;
    return {std::move(env), hops};
  }

  // A new entry for the core (from an SMTP session or a bounce); with --events its `queued` event.
  queue::Effects submit(store::QueueEnvelope env) {
    if (net::feed::on()) {
      std::string to;
      for (const auto& r : env.recipients) to += (to.empty() ? "" : ",") + r.address;
      net::feed::emit("queued", {{"id", env.id}, {"msgid", message_id(env.id)}, {"from", "<" + env.sender + ">"}, {"to", to}});
    }
    return core.submitted(entry_of(std::move(env)), now());
  }

  std::string message_id(const std::string& id) const {
    auto headers = store::read_headers(svc.layout->queue() / (id + ".eml"));
    return headers ? smtp::message_id_of(*headers) : std::string();
  }

  // With --events: the bounce made for entry `b`, queued (`r` holds its envelope) or delivered here.
  void bounce_events(const queue::Bounce& b, const std::optional<store::QueueEnvelope>& queued) {
    if (!queued) return;  // delivered locally: store_bounce emits `delivered`
    net::feed::emit("bounced", {{"id", b.env.id}, {"bounce_id", queued->id}, {"to", "<" + b.env.sender + ">"}});
  }

  asio::awaitable<void> loop() {
    auto self = shared_from_this();
    while (!stopping) {
      std::time_t t = now(), next = t;
      for (auto& e : core.tick(t)) {
        if (auto* w = std::get_if<queue::WakeAt>(&e)) next = w->at;
        else spawn(std::move(e));
      }
      wake.expires_after(std::chrono::seconds(std::max<std::time_t>(0, next - t)));
      co_await wake.async_wait(kTuple);
    }
  }

  // A delivery attempt, or a settle the schedule started, in a coroutine of its own.
  void spawn(queue::Effect e) {
    ++inflight;
    if (auto* c = std::get_if<queue::Connect>(&e))
      asio::co_spawn(io, deliver(shared_from_this(), std::move(*c)), [](const std::exception_ptr& ex) { log_crash("delivery_crashed", ex); });
    else
      asio::co_spawn(io, settle(shared_from_this(), std::move(e)), [](const std::exception_ptr& ex) { log_crash("settle_crashed", ex); });
  }

  static asio::awaitable<void> deliver(std::shared_ptr<Impl> self, queue::Connect c) {
    AttemptContext x{self->svc, self->resolver, self->core, self->pool, self->stopping,
                     [s = self.get()](queue::Effects e) { return s->perform(std::move(e)); }};
    co_await run_attempt(x, c);
    co_await self->perform(self->core.attempt_done(c.attempt, now()));
    --self->inflight;
  }

  static asio::awaitable<void> settle(std::shared_ptr<Impl> self, queue::Effect e) {
    queue::Effects first{std::move(e)};
    co_await self->perform(std::move(first));
    --self->inflight;
  }

  // Performs `effects` in order, each with the effects its outcome brings before the next (as the
  // queue's steps must be: bounce stored, then entry removed).
  asio::awaitable<void> perform(queue::Effects effects) {
    std::vector<queue::Effect> todo(std::make_move_iterator(effects.rbegin()), std::make_move_iterator(effects.rend()));
    while (!todo.empty()) {
      auto e = std::move(todo.back());
      todo.pop_back();
      queue::Effects more;
      if (auto* s = std::get_if<queue::Save>(&e)) {
        auto r = co_await save(s->id);
        more = core.saved(*s, r, now());
      } else if (auto* b = std::get_if<queue::Bounce>(&e)) {
        auto r = co_await store_bounce(svc, *b);
        if (r && *r && net::feed::on()) bounce_events(*b, **r);
        if (r && *r) wakes(submit(std::move(**r)));  // the bounce to a remote sender
        more = core.bounced(*b, r ? Result<void>() : Result<void>(r.error()), now());
      } else if (auto* rm = std::get_if<queue::Remove>(&e)) {
        auto r = co_await svc.store->remove(rm->id);
        more = core.removed(*rm, r, now());
      } else if (std::holds_alternative<queue::WakeAt>(e)) {
        poke();
      } else {
        spawn(std::move(e));
      }
      todo.insert(todo.end(), std::make_move_iterator(more.rbegin()), std::make_move_iterator(more.rend()));
    }
  }

  // Writes the entry's envelope as it is now over the one on disk.
  asio::awaitable<Result<void>> save(const std::string& id) {
    const auto* env = core.envelope(id);
    if (env == nullptr) co_return Result<void>();  // it left the queue meanwhile
    co_return co_await svc.store->save(*env);
  }
};

Relay::Relay(asio::io_context& io, Services& svc, net::Resolver& resolver)
    : impl_(std::make_shared<Impl>(io, svc, resolver)) {}

Relay::~Relay() { stop(); }

void Relay::start() {
  auto scan = store::scan_queue(*impl_->svc.layout);
  for (const auto& p : scan.problems) log::warn("relay", "queue_recovery", {{"what", p}});
  std::vector<queue::Entry> entries;
  for (auto& env : scan.envelopes) entries.push_back(impl_->entry_of(std::move(env)));
  impl_->core.loaded(std::move(entries));
  log::info("relay", "queue_loaded", {{"entries", impl_->core.size()}});
  asio::co_spawn(impl_->io, impl_->loop(), asio::detached);
}

void Relay::add(store::QueueEnvelope env) {
  impl_->wakes(impl_->submit(std::move(env)));
}

void Relay::stop() {
  impl_->stopping = true;
  impl_->pool.stop();
  impl_->poke();
}

bool Relay::idle() const noexcept { return impl_->inflight == 0 && impl_->pool.idle(); }

}  // namespace mailsrv
