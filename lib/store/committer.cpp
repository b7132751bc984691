#include "store/committer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

namespace mail::store {

namespace {

Error os_error(const char* what, const std::string& path) {
  return fail(Errc::io, std::string(what) + " " + path + ": " + std::strerror(errno));
}

Result<void> sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return os_error("open", dir);
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) return os_error("fsync", dir);
  return {};
}

}  // namespace

Committer::Committer(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { worker(); });
}

Committer::~Committer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void Committer::submit(CommitJob job, Done done) {
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

std::vector<Result<void>> Committer::run_batch(const std::vector<CommitJob>& jobs) {
  std::vector<Result<void>> results(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    for (int fd : jobs[i].sync_fds) {
      if (::fdatasync(fd) != 0) {
        results[i] = os_error("fdatasync", "fd " + std::to_string(fd));
        break;
      }
    }
  }
  std::map<std::string, std::vector<size_t>> dirs;  // folder -> jobs that need it synced
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!results[i]) continue;
    const auto& j = jobs[i];
    for (const auto& [from, to] : j.links) {
      if (::link(from.c_str(), to.c_str()) != 0) {
        results[i] = os_error("link", to);
        break;
      }
    }
    if (results[i]) {
      for (const auto& [from, to] : j.renames) {
        if (::rename(from.c_str(), to.c_str()) != 0) {
          results[i] = os_error("rename", to);
          break;
        }
      }
    }
    if (!results[i]) continue;
    for (const auto& u : j.unlinks) ::unlink(u.c_str());  // a leftover in tmp/ is harmless
    for (const auto& d : j.sync_dirs) dirs[d].push_back(i);
  }
  for (const auto& [dir, users] : dirs) {
    if (auto r = sync_dir(dir); !r)
      for (auto i : users) results[i] = r;
  }
  return results;
}

void Committer::worker() {
  while (true) {
    std::vector<CommitJob> jobs;
    std::vector<Done> dones;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and nothing left
      while (!pending_.empty()) {
        jobs.push_back(std::move(pending_.front().first));
        dones.push_back(std::move(pending_.front().second));
        pending_.pop_front();
      }
      ++stats_.batches;
      stats_.jobs += jobs.size();
      stats_.largest_batch = std::max<std::uint64_t>(stats_.largest_batch, jobs.size());
    }
    auto results = run_batch(jobs);
    for (size_t i = 0; i < dones.size(); ++i) dones[i](std::move(results[i]));
  }
}

}  // namespace mail::store
