// Group commit (docs/reference.md "State on disk"): sessions hand their staged files over; one committer thread takes
// whatever is waiting as one batch, fsyncs the batch's files in parallel (helper threads: concurrent
// fsyncs share the filesystem journal's commits), renames or links them into place, fsyncs each
// touched folder once per batch, and reports back. While it works, the next batch gathers.
// Nothing here runs on the event loop; `done` is called on the committer thread. Every call goes
// through a store::Fs, so tests can make each step fail.
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

#include "store/fs.hpp"
#include "store/staged_file.hpp"
#include "util/result.hpp"

namespace mail::store {

// A job fails at its first failed step. Before anything is placed (fdatasync) that leaves the staged
// files to their owner; a failed link, rename or unlink undoes the job's links and renames made so
// far (renamed back), so a failed job puts nothing in place (a rename that replaces a file must
// therefore be a job's only rename). A failed folder fsync leaves the files in place, as a crash just
// before it would: the caller answers "failed", a retry may duplicate, nothing is lost.
struct CommitJob {
  std::vector<int> sync_fds;                                 // fdatasync each, first
  std::vector<std::pair<std::string, std::string>> links;    // then link(from, to)
  std::vector<std::pair<std::string, std::string>> renames;  // and rename(from, to)
  std::vector<std::string> unlinks;                          // then unlink (ENOENT counts as done)
  std::vector<std::string> sync_dirs;                        // last, fsync (once per batch each)
};

/// A CommitJob that owns the staged files it syncs, so no descriptor outlives its file: they live as
/// long as the job, and once the committer has run it they are closed, and unlinked unless the job
/// put them in place. Whoever submits it may go away meanwhile. Move-only.
class Commit {
 public:
  Commit() = default;
  /// Steps that sync no staged file (a removal), or whose files their caller keeps open (the old
  /// CommitJob form, which only the unit tests still build by hand).
  explicit Commit(CommitJob steps) : steps_(std::move(steps)) {}

  /// fdatasync `f` (after the files given before it); the job owns it from now on.
  void sync(StagedFile f);
  void link(std::string from, std::string to) { steps_.links.emplace_back(std::move(from), std::move(to)); }
  void rename(std::string from, std::string to) { steps_.renames.emplace_back(std::move(from), std::move(to)); }
  void unlink(std::string path) { steps_.unlinks.push_back(std::move(path)); }
  void sync_dir(std::string path) { steps_.sync_dirs.push_back(std::move(path)); }

  const CommitJob& steps() const noexcept { return steps_; }
  /// The committer moves the steps out to run them (the files stay here until settle()).
  CommitJob take_steps() noexcept { return std::move(steps_); }
  /// After the job ran: placed files now belong to their folders; the rest are unlinked. All closed.
  void settle(bool placed) noexcept;

 private:
  CommitJob steps_;
  std::vector<StagedFile> files_;
};

class Committer {
 public:
  using Done = std::function<void(Result<void>)>;

  /// `parallel`: how many fsyncs may run at once (the committer thread and parallel-1 helpers).
  /// `fs` is used from the committer's threads and must outlive it.
  explicit Committer(int parallel = 8, Fs& fs = posix_fs());
  ~Committer();  // finishes every job already submitted
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  /// Runs `job` in the next batch; `done` gets its result after its files were settled.
  void submit(Commit job, Done done);
  /// The same for steps whose staged files the caller keeps open until `done` (net::commit's
  /// CommitJob form: the tests' hand-made jobs).
  void submit(CommitJob job, Done done) { submit(Commit(std::move(job)), std::move(done)); }

  struct Stats {
    std::uint64_t jobs = 0;
    std::uint64_t batches = 0;
    std::uint64_t largest_batch = 0;
  };
  Stats stats() const;

  /// Runs fn(0) .. fn(n-1), possibly at the same time, and returns when all are done.
  using ForEach = std::function<void(std::size_t n, const std::function<void(std::size_t)>& fn)>;
  static void serially(std::size_t n, const std::function<void(std::size_t)>& fn);
  /// The whole sequence for one batch (also used by tests).
  static std::vector<Result<void>> run_batch(const std::vector<CommitJob>& jobs, Fs& fs = posix_fs(),
                                             const ForEach& for_each = serially);

 private:
  void coordinator();
  void helper();
  void in_parallel(std::size_t n, const std::function<void(std::size_t)>& fn);

  Fs* fs_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<Commit, Done>> pending_;
  bool stopping_ = false;
  Stats stats_;

  std::mutex task_mu_;
  std::condition_variable task_cv_;
  std::deque<std::function<void()>> tasks_;
  bool helpers_stop_ = false;
  std::vector<std::thread> helpers_;
  std::thread coordinator_;
};

}  // namespace mail::store
