#include "receiver.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace mailview {

using namespace mail;

Result<Receiver> Receiver::bind(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path) return fail(Errc::invalid, "--events: path too long or empty: " + path);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return fail(Errc::invalid, "--events: " + path + " exists and is not a socket");
    ::unlink(path.c_str());  // a stale socket of an earlier run: nobody reads it
  }
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(Errc::io, std::string("socket: ") + std::strerror(errno));
  int buf = 4 << 20;  // room for bursts while the HTTP side holds the lock (the kernel may cap it)
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd);
    return fail(Errc::io, "--events: cannot bind " + path + ": " + std::strerror(e));
  }
  return Receiver(fd, path);
}

Receiver::~Receiver() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(path_.c_str());
}

bool feed_datagram(State& state, std::string_view d) {
  bool changed = false;
  while (!d.empty()) {
    auto nl = d.find('\n');
    auto line = d.substr(0, nl);
    if (!line.empty()) {
      auto kind = state.model.feed(line);
      if (!kind.empty()) {
        changed = true;
        state.kind = std::string(kind);
      }
    }
    if (nl == std::string_view::npos) break;
    d.remove_prefix(nl + 1);
  }
  return changed;
}

void Receiver::run(State& state) {
  std::vector<char> buf(kMaxDatagram);
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n <= 0) continue;
    std::lock_guard lock(state.mutex);
    if (feed_datagram(state, std::string_view(buf.data(), static_cast<std::size_t>(n)))) {
      ++state.seq;
      state.changed.notify_all();
    }
  }
}

}  // namespace mailview
