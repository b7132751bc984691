#include "net/stopper.hpp"

#include <csignal>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "util/log.hpp"

namespace mail::net {

struct Stopper::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(asio::io_context& i) : io(i), signals(i) {}
  asio::io_context& io;
  asio::signal_set signals;
  std::vector<std::pair<std::function<void()>, std::function<bool()>>> parts;
  std::chrono::milliseconds grace{1500};
  bool stopping = false;

  bool drained() const {
    for (const auto& [stop, done] : parts)
      if (done && !done()) return false;
    return true;
  }

  // Polls for the end of in-flight work: cheap, and only runs while stopping.
  static asio::awaitable<void> drain(std::shared_ptr<Impl> self) {
    constexpr auto tuple = asio::experimental::as_tuple(asio::use_awaitable);
    auto until = std::chrono::steady_clock::now() + self->grace;
    asio::steady_timer t(self->io);
    while (!self->drained() && std::chrono::steady_clock::now() < until) {
      t.expires_after(std::chrono::milliseconds(10));
      co_await t.async_wait(tuple);
    }
    log::info("", "stopped", {{"clean", self->drained() ? "yes" : "no"}});
    self->io.stop();
  }

  void stop_now() {
    if (stopping) return;
    stopping = true;
    std::error_code ec;
    signals.cancel(ec);
    for (auto& [stop, done] : parts)
      if (stop) stop();
    asio::co_spawn(io, drain(shared_from_this()), asio::detached);
  }
};

Stopper::Stopper(asio::io_context& io) : impl_(std::make_shared<Impl>(io)) {}
Stopper::~Stopper() = default;

void Stopper::add(std::function<void()> stop, std::function<bool()> drained) {
  impl_->parts.emplace_back(std::move(stop), std::move(drained));
}

void Stopper::arm(std::chrono::milliseconds grace) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed log pipe or socket is an error to handle, not a reason to die
  impl_->grace = grace;
  impl_->signals.add(SIGINT);
  impl_->signals.add(SIGTERM);
  std::weak_ptr<Impl> weak = impl_;
  impl_->signals.async_wait([weak](const std::error_code& ec, int sig) {
    if (ec) return;
    if (auto self = weak.lock()) {
      log::info("", "stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
      self->stop_now();
    }
  });
}

void Stopper::stop_now() { impl_->stop_now(); }
bool Stopper::stopping() const noexcept { return impl_->stopping; }

}  // namespace mail::net
