// What the receiver thread and the HTTP threads share: the model behind one mutex, and a change
// counter the live view waits on (/api/stream, /api/version).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "model.hpp"

namespace mailview {

struct State {
  explicit State(Model m) : model(std::move(m)) {}
  std::mutex mutex;
  std::condition_variable changed;
  Model model;
  std::uint64_t seq = 0;   // one per datagram that changed something
  std::string kind;        // what the last change was: session | message | queue
  bool stopping = false;
};

}  // namespace mailview
