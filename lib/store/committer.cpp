#include "store/committer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

namespace mail::store {

namespace {

Error os_error(const char* what, const std::string& path) {
  return fail(Errc::io, std::string(what) + " " + path + ": " + std::strerror(errno));
}

// Puts one job's files in place: links, renames, unlinks. At the first failure the links and renames
// already made are undone, last first (see CommitJob).
Result<void> place(Fs& fs, const CommitJob& j) {
  Result<void> r;
  std::size_t linked = 0, renamed = 0;
  while (r && linked < j.links.size()) {
    const auto& [from, to] = j.links[linked];
    if (fs.link(from.c_str(), to.c_str()) != 0) r = os_error("link", to);
    else ++linked;
  }
  while (r && renamed < j.renames.size()) {
    const auto& [from, to] = j.renames[renamed];
    if (fs.rename(from.c_str(), to.c_str()) != 0) r = os_error("rename", to);
    else ++renamed;
  }
  for (const auto& u : j.unlinks)
    if (r && fs.unlink(u.c_str()) != 0 && errno != ENOENT) r = os_error("unlink", u);
  if (r) return r;
  while (renamed > 0) {
    const auto& [from, to] = j.renames[--renamed];
    fs.rename(to.c_str(), from.c_str());
  }
  while (linked > 0) fs.unlink(j.links[--linked].second.c_str());
  return r;
}

}  // namespace

void Commit::sync(StagedFile f) {
  steps_.sync_fds.push_back(f.fd());
  files_.push_back(std::move(f));
}

void Commit::settle(bool placed) noexcept {
  if (placed)
    for (auto& f : files_) f.release();
  files_.clear();  // closes each (and unlinks its tmp/ name unless placed)
}

Committer::Committer(int parallel, Fs& fs) : fs_(&fs) {
  for (int i = 1; i < parallel; ++i) helpers_.emplace_back([this] { helper(); });
  coordinator_ = std::thread([this] { coordinator(); });
}

Committer::~Committer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  coordinator_.join();
  {
    std::lock_guard lock(task_mu_);
    helpers_stop_ = true;
  }
  task_cv_.notify_all();
  for (auto& t : helpers_) t.join();
}

void Committer::submit(Commit job, Done done) {
  {
    std::lock_guard lock(mu_);
    pending_.emplace_back(std::move(job), std::move(done));
  }
  cv_.notify_one();
}

Committer::Stats Committer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Committer::serially(std::size_t n, const std::function<void(std::size_t)>& fn) {
  for (std::size_t i = 0; i < n; ++i) fn(i);
}

void Committer::in_parallel(std::size_t n, const std::function<void(std::size_t)>& fn) {
  if (helpers_.empty() || n <= 1) return serially(n, fn);
  std::mutex m;
  std::condition_variable all_done;
  std::size_t left = n;
  {
    std::lock_guard lock(task_mu_);
    for (std::size_t i = 0; i < n; ++i) {
      tasks_.emplace_back([&, i] {
        fn(i);
        std::lock_guard l(m);
        if (--left == 0) all_done.notify_one();
      });
    }
  }
  task_cv_.notify_all();
  while (true) {  // the coordinator takes a share too
    std::function<void()> task;
    {
      std::lock_guard lock(task_mu_);
      if (tasks_.empty()) break;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
  std::unique_lock l(m);
  all_done.wait(l, [&] { return left == 0; });
}

void Committer::helper() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock lock(task_mu_);
      task_cv_.wait(lock, [this] { return helpers_stop_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

std::vector<Result<void>> Committer::run_batch(const std::vector<CommitJob>& jobs, Fs& fs, const ForEach& for_each) {
  std::vector<Result<void>> results(jobs.size());
  for_each(jobs.size(), [&](std::size_t i) {
    for (int fd : jobs[i].sync_fds) {
      if (fs.fdatasync(fd) != 0) {
        results[i] = os_error("fdatasync", "fd " + std::to_string(fd));
        break;
      }
    }
  });
  std::map<std::string, std::vector<size_t>> dirs;  // folder -> jobs that need it synced
  // One thread at a time moves files: a cross-folder rename takes the filesystem's rename lock, and
  // threads contending for it in the kernel spin (measured: 15 % of the server's CPU with 4 threads).
  static std::mutex rename_mutex;
  std::unique_lock lock(rename_mutex);
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!results[i]) continue;
    results[i] = place(fs, jobs[i]);
    if (!results[i]) continue;
    const auto& j = jobs[i];
    for (const auto& d : j.sync_dirs) dirs[d].push_back(i);
  }
  lock.unlock();
  std::vector<const std::pair<const std::string, std::vector<size_t>>*> list;
  for (const auto& d : dirs) list.push_back(&d);
  std::vector<Result<void>> dir_results(list.size());
  for_each(list.size(), [&](std::size_t k) {
    if (fs.fsync_dir(list[k]->first.c_str()) != 0) dir_results[k] = os_error("fsync", list[k]->first);
  });
  for (size_t k = 0; k < list.size(); ++k)
    if (!dir_results[k])
      for (auto i : list[k]->second) results[i] = dir_results[k];
  return results;
}

void Committer::coordinator() {
  while (true) {
    std::vector<CommitJob> jobs;
    std::vector<Commit> owners;  // the staged files of each job, settled once it ran
    std::vector<Done> dones;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and nothing left
      while (!pending_.empty()) {
        jobs.push_back(pending_.front().first.take_steps());
        owners.push_back(std::move(pending_.front().first));
        dones.push_back(std::move(pending_.front().second));
        pending_.pop_front();
      }
      ++stats_.batches;
      stats_.jobs += jobs.size();
      stats_.largest_batch = std::max<std::uint64_t>(stats_.largest_batch, jobs.size());
    }
    auto results = run_batch(jobs, *fs_, [this](std::size_t n, const std::function<void(std::size_t)>& fn) { in_parallel(n, fn); });
    for (size_t i = 0; i < dones.size(); ++i) {
      owners[i].settle(results[i].has_value());  // before `done`: its waiter then finds tmp/ as it left it
      dones[i](std::move(results[i]));
    }
  }
}

}  // namespace mail::store
