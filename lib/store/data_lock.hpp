// One mailsrv per data folder: an exclusive flock(2) on <data>/mailsrv.lock, held for the process's
// life, with the holder's PID in the file for the refusal message. The kernel drops the lock when
// the process dies (kill -9 included), so a restart after a crash is never refused.
#pragma once

#include <filesystem>
#include <utility>

#include "util/result.hpp"

namespace mail::store {

class DataLock {
 public:
  /// Creates `data` when missing and takes its lock. Errc::refused, "<data>: in use by another
  /// mailsrv (pid N)", when another holds it; Errc::io when the lock file cannot be opened.
  static Result<DataLock> acquire(const std::filesystem::path& data);

  DataLock(DataLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  DataLock& operator=(DataLock&& o) noexcept;
  DataLock(const DataLock&) = delete;
  DataLock& operator=(const DataLock&) = delete;
  ~DataLock();  // releases the lock

 private:
  explicit DataLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace mail::store
