// Clean shutdown on SIGINT/SIGTERM (docs/reference.md "Every program"): stop accepting, let sessions finish
// what is in flight and say goodbye, and stop the io_context once all are done or the grace ends.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace asio {
class io_context;
}

namespace mail::net {

class Stopper {
 public:
  explicit Stopper(asio::io_context& io);
  ~Stopper();

  /// `stop` runs once when a signal arrives; `drained` tells when that part has nothing left to do.
  void add(std::function<void()> stop, std::function<bool()> drained = {});
  /// Starts waiting for SIGINT/SIGTERM. The io_context is stopped at most `grace` after the signal.
  void arm(std::chrono::milliseconds grace = std::chrono::milliseconds(1500));
  /// The same as receiving a signal (tests, fatal errors).
  void stop_now();
  bool stopping() const noexcept;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace mail::net
