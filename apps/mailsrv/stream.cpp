#include "stream.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <memory>

namespace mailsrv {

namespace {
constexpr std::size_t kChunk = 64 * 1024;
}

asio::awaitable<bool> stream_message(mail::net::Conn& conn, int fd, mail::util::DotStuffer& stuffer, std::string& out) {
  // One read buffer per thread: it is fully copied into `out` before any co_await.
  thread_local auto chunk = std::make_unique<std::array<char, kChunk>>();
  bool ok = true;
  while (ok && !stuffer.done()) {
    ssize_t n = ::read(fd, chunk->data(), chunk->size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    stuffer.feed(std::string_view(chunk->data(), static_cast<std::size_t>(n)), out);
    if (out.size() >= kChunk) {
      ok = co_await conn.write(out);
      out.clear();
    }
  }
  stuffer.finish(out);
  co_return ok;
}

}  // namespace mailsrv
