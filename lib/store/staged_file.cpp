#include "store/staged_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mail::store {

namespace {
constexpr std::size_t kBuffer = 64 * 1024;
}

Result<StagedFile> StagedFile::create(Fs& fs, const std::filesystem::path& dir, std::string_view name) {
  auto p = dir / name;
  int fd = fs.create(p.c_str());
  if (fd < 0) return fail(Errc::io, "cannot create " + p.string() + ": " + std::strerror(errno));
  StagedFile f(fs, fd, std::move(p));
  f.buf_.reserve(4096);
  return f;
}

StagedFile::StagedFile(StagedFile&& o) noexcept
    : fs_(o.fs_), fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)), buf_(std::move(o.buf_)), size_(o.size_),
      lines_(o.lines_), owned_(o.owned_) {}

StagedFile& StagedFile::operator=(StagedFile&& o) noexcept {
  if (this != &o) {
    close_and_maybe_unlink();
    fs_ = o.fs_;
    fd_ = std::exchange(o.fd_, -1);
    path_ = std::move(o.path_);
    buf_ = std::move(o.buf_);
    size_ = o.size_;
    lines_ = o.lines_;
    owned_ = o.owned_;
  }
  return *this;
}

StagedFile::~StagedFile() { close_and_maybe_unlink(); }

void StagedFile::close_and_maybe_unlink() noexcept {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  if (owned_) fs_->unlink(path_.c_str());
}

Result<void> StagedFile::write(std::string_view bytes) {
  size_ += bytes.size();
  lines_ += static_cast<std::uint64_t>(std::count(bytes.begin(), bytes.end(), '\n'));
  buf_.append(bytes);
  if (buf_.size() >= kBuffer) return flush();
  return {};
}

Result<void> StagedFile::write_line(std::string_view text) {
  size_ += text.size() + 1;
  ++lines_;
  buf_.append(text);
  buf_ += '\n';
  if (buf_.size() >= kBuffer) return flush();
  return {};
}

Result<void> StagedFile::flush() {
  std::string_view rest = buf_;
  while (!rest.empty()) {
    ssize_t n = fs_->write(fd_, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errc::io, "cannot write " + path_.string() + ": " + std::strerror(errno));
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  buf_.clear();
  return {};
}

}  // namespace mail::store
