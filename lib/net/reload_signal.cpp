#include "net/reload_signal.hpp"

#include <csignal>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

namespace mail::net {

struct ReloadSignal::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, std::function<void()> f) : signals(io, SIGHUP), reload(std::move(f)) {}
  asio::signal_set signals;
  std::function<void()> reload;

  void wait() {
    signals.async_wait([weak = weak_from_this()](const std::error_code& ec, int) {
      auto self = weak.lock();
      if (ec || !self) return;  // cancelled by stop() or the destructor
      self->reload();
      self->wait();
    });
  }
};

ReloadSignal::ReloadSignal(asio::io_context& io, std::function<void()> reload)
    : impl_(std::make_shared<Impl>(io, std::move(reload))) {
  impl_->wait();
}

ReloadSignal::~ReloadSignal() { stop(); }

void ReloadSignal::stop() {
  std::error_code ec;
  impl_->signals.cancel(ec);
}

}  // namespace mail::net
