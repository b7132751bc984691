// The file-system calls that make mail durable (creating and writing staged files, fdatasync, link,
// rename, unlink, a folder's fsync), behind an interface so a test can make any of them fail: ENOSPC,
// EIO, or a crash between two steps. The Committer, StagedFile and the queue's writes go through it;
// recovery at start (Layout::prepare, scan_queue, open_maildrop) and the POP3 reads and removals
// (remove_messages, MessageFinder) use the real calls.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace mail::store {

class Fs {
 public:
  virtual ~Fs() = default;
  // Each returns what the POSIX call returns, with errno set on failure.
  /// open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600).
  virtual int create(const char* path) = 0;
  virtual ssize_t write(int fd, const void* data, std::size_t size) = 0;
  virtual int fdatasync(int fd) = 0;
  virtual int link(const char* from, const char* to) = 0;
  virtual int rename(const char* from, const char* to) = 0;
  virtual int unlink(const char* path) = 0;
  /// Opens the folder, fsyncs it (its entries become durable) and closes it.
  virtual int fsync_dir(const char* path) = 0;
};

/// The real calls. Stateless: one instance serves every thread.
Fs& posix_fs();

}  // namespace mail::store
