#include "store/data_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace mail::store {

namespace fs = std::filesystem;

Result<DataLock> DataLock::acquire(const fs::path& data) {
  std::error_code ec;
  fs::create_directories(data, ec);
  if (ec) return fail(Errc::io, "cannot create " + data.string() + ": " + ec.message());
  const auto path = data / "mailsrv.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return fail(Errc::io, "cannot open " + path.string() + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string pid;
    if (err == EWOULDBLOCK) {
      char buf[32] = {};
      ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
      for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid += buf[i];
    }
    ::close(fd);
    if (err != EWOULDBLOCK) return fail(Errc::io, "cannot lock " + path.string() + ": " + std::strerror(err));
    return fail(Errc::refused, data.string() + ": in use by another mailsrv (pid " + (pid.empty() ? "unknown" : pid) + ")");
  }
  // The PID only names the holder in a refusal: a full disk must not stop a start. Written over the
  // old one before the file is cut to its length, so the page it needs is usually there already.
  const std::string pid = std::to_string(::getpid()) + "\n";
  [[maybe_unused]] bool written = ::pwrite(fd, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size()) &&
                                  ::ftruncate(fd, static_cast<off_t>(pid.size())) == 0;
  return DataLock(fd);
}

DataLock& DataLock::operator=(DataLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

DataLock::~DataLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace mail::store
