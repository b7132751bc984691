// Group commit (DESIGN.md): sessions hand their staged files over; committer threads take whatever
// is waiting as one batch, fsync each file, rename or link it into place, fsync each touched folder
// once per batch, and report back. Several threads let batches overlap in the kernel's journal.
// Nothing here runs on the event loop; `done` is called on a committer thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace mail::store {

struct CommitJob {
  std::vector<int> sync_fds;                                 // fdatasync each, first
  std::vector<std::pair<std::string, std::string>> links;    // then link(from, to)
  std::vector<std::pair<std::string, std::string>> renames;  // and rename(from, to)
  std::vector<std::string> unlinks;                          // then unlink
  std::vector<std::string> sync_dirs;                        // last, fsync (once per batch each)
};

class Committer {
 public:
  using Done = std::function<void(Result<void>)>;

  explicit Committer(int threads = 4);
  ~Committer();  // finishes every job already submitted
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  void submit(CommitJob job, Done done);

  struct Stats {
    std::uint64_t jobs = 0;
    std::uint64_t batches = 0;
    std::uint64_t largest_batch = 0;
  };
  Stats stats() const;

  /// The whole sequence for one batch, in the calling thread (also used by tests).
  static std::vector<Result<void>> run_batch(const std::vector<CommitJob>& jobs);

 private:
  void worker();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<CommitJob, Done>> pending_;
  bool stopping_ = false;
  Stats stats_;
  std::vector<std::thread> threads_;
};

}  // namespace mail::store
