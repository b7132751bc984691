// SIGHUP: re-read what a running server can change without a restart (docs/reference.md "Every
// program"): fdns and mailsrv re-read their fault rules. Any program can hold one; it is independent of
// net::Stopper (SIGINT/SIGTERM).
#pragma once

#include <functional>
#include <memory>

namespace asio {
class io_context;
}

namespace mail::net {

class ReloadSignal {
 public:
  /// From now on SIGHUP no longer ends the process: `reload` runs on the io_context for each one.
  ReloadSignal(asio::io_context& io, std::function<void()> reload);
  ~ReloadSignal();
  ReloadSignal(const ReloadSignal&) = delete;
  ReloadSignal& operator=(const ReloadSignal&) = delete;

  /// Stops waiting (for net::Stopper: nothing keeps the io_context busy afterwards).
  void stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace mail::net
