#include "stream.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <memory>

namespace mailsrv {

namespace {
constexpr std::size_t kChunk = 64 * 1024;
}

asio::awaitable<bool> stream_message(mail::net::Conn& conn, int fd, mail::util::DotStuffer& stuffer, std::string& out,
                                     std::optional<std::uint64_t> size) {
  // One read buffer per thread: it is fully copied into `out` before any co_await.
  thread_local auto chunk = std::make_unique<std::array<char, kChunk>>();
  bool ok = true;
  std::uint64_t total = 0;
  while (ok && !stuffer.done()) {
    ssize_t n = ::read(fd, chunk->data(), chunk->size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    stuffer.feed(std::string_view(chunk->data(), static_cast<std::size_t>(n)), out);
    total += static_cast<std::uint64_t>(n);
    if (size && total == *size && static_cast<std::size_t>(n) < chunk->size()) break;  // the end, as named
    if (out.size() >= kChunk) {
      ok = co_await conn.write(out);
      out.clear();
    }
  }
  stuffer.finish(out);
  co_return ok;
}

}  // namespace mailsrv
