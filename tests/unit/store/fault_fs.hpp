// A store::Fs for tests: every call goes to the real file system, except those a test scripts to
// fail (with an errno, doing nothing) or to "crash" at (that call and every later one do nothing, as
// if the process had died just before it: the test then looks at the disk and runs the recovery).
// Calls come from the committer's threads too, hence the mutex.
#pragma once

#include <cerrno>
#include <map>
#include <mutex>

#include "store/fs.hpp"

namespace mail::store::test {

class FaultFs final : public Fs {
 public:
  enum class Op { create, write, fdatasync, link, rename, unlink, fsync_dir };

  /// The `nth` call of `op` from now (1 = the next) fails with `err`; with `sticky`, every later one too.
  void fail(Op op, int err, int nth = 1, bool sticky = false) {
    std::lock_guard l(mu_);
    rules_[op] = Rule{calls_[op] + nth, err, sticky, false};
  }
  /// The `nth` call of `op` from now, and every call of any kind after it, do nothing.
  void crash(Op op, int nth = 1) {
    std::lock_guard l(mu_);
    rules_[op] = Rule{calls_[op] + nth, EIO, true, true};
  }
  /// Back to the real calls (a crash too: "the process restarted").
  void heal() {
    std::lock_guard l(mu_);
    rules_.clear();
    crashed_ = false;
  }
  bool crashed() const {
    std::lock_guard l(mu_);
    return crashed_;
  }
  int calls(Op op) const {
    std::lock_guard l(mu_);
    auto it = calls_.find(op);
    return it == calls_.end() ? 0 : it->second;
  }

  int create(const char* path) override { return pass(Op::create) ? real().create(path) : -1; }
  ssize_t write(int fd, const void* data, std::size_t size) override {
    return pass(Op::write) ? real().write(fd, data, size) : -1;
  }
  int fdatasync(int fd) override { return pass(Op::fdatasync) ? real().fdatasync(fd) : -1; }
  int link(const char* from, const char* to) override { return pass(Op::link) ? real().link(from, to) : -1; }
  int rename(const char* from, const char* to) override { return pass(Op::rename) ? real().rename(from, to) : -1; }
  int unlink(const char* path) override { return pass(Op::unlink) ? real().unlink(path) : -1; }
  int fsync_dir(const char* path) override { return pass(Op::fsync_dir) ? real().fsync_dir(path) : -1; }

 private:
  struct Rule {
    int at;  // the call number that fails first
    int err;
    bool sticky;
    bool crash;
  };
  static Fs& real() { return posix_fs(); }

  // False (errno set) when this call must fail.
  bool pass(Op op) {
    std::lock_guard l(mu_);
    int n = ++calls_[op];
    if (crashed_) {
      errno = EIO;
      return false;
    }
    auto it = rules_.find(op);
    if (it == rules_.end() || n < it->second.at || (n > it->second.at && !it->second.sticky)) return true;
    crashed_ = it->second.crash;
    errno = it->second.err;
    return false;
  }

  mutable std::mutex mu_;
  std::map<Op, int> calls_;
  std::map<Op, Rule> rules_;
  bool crashed_ = false;
};

}  // namespace mail::store::test
