// The event feed's receiving end (docs/reference.md "Event feed"): a Unix datagram socket mailview
// binds, read on a thread of its own; each datagram holds whole event lines.
#pragma once

#include <atomic>
#include <string>

#include "state.hpp"
#include "util/result.hpp"

namespace mailview {

class Receiver {
 public:
  /// Binds `path`, removing a stale socket left there (a file of another kind is an error).
  static mail::Result<Receiver> bind(const std::string& path);
  Receiver(Receiver&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  ~Receiver();
  /// Reads datagrams into `state` until stop() (checked at least every 200 ms).
  void run(State& state);
  void stop() noexcept { stop_ = true; }

  static constexpr std::size_t kMaxDatagram = 64 * 1024;

 private:
  Receiver(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
  std::atomic<bool> stop_{false};
};

/// Feeds one datagram's lines to the model (the caller holds the state's mutex); true when something
/// changed.
bool feed_datagram(State& state, std::string_view datagram);

}  // namespace mailview
