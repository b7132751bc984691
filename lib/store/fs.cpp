#include "store/fs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace mail::store {

namespace {

class PosixFs final : public Fs {
 public:
  int create(const char* path) override { return ::open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600); }
  ssize_t write(int fd, const void* data, std::size_t size) override { return ::write(fd, data, size); }
  int fdatasync(int fd) override { return ::fdatasync(fd); }
  int link(const char* from, const char* to) override { return ::link(from, to); }
  int rename(const char* from, const char* to) override { return ::rename(from, to); }
  int unlink(const char* path) override { return ::unlink(path); }
  int fsync_dir(const char* path) override {
    int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = ::fsync(fd);
    int saved = errno;
    ::close(fd);
    errno = saved;
    return rc;
  }
};

}  // namespace

Fs& posix_fs() {
  static PosixFs fs;
  return fs;
}

}  // namespace mail::store
