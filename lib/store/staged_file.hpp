// A file being written in a tmp/ folder: buffered writes (a message never sits in memory whole),
// counting what POP3 will need (size on disk, and size with CRLF line ends). Unlinked unless
// committed. The calls go through a store::Fs (the real ones, or a test's that fail): the writes go
// to the page cache; fsync is the Committer's job.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "store/fs.hpp"
#include "util/result.hpp"

namespace mail::store {

class StagedFile {
 public:
  /// Creates `dir/name` (O_EXCL, mode 0600) through `fs`, which must outlive the file.
  static Result<StagedFile> create(Fs& fs, const std::filesystem::path& dir, std::string_view name);

  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&& other) noexcept;
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  ~StagedFile();

  Result<void> write(std::string_view bytes);
  /// `text` then LF.
  Result<void> write_line(std::string_view text);
  Result<void> flush();

  std::uint64_t size() const noexcept { return size_; }
  /// The size with every LF counted as CRLF.
  std::uint64_t crlf_size() const noexcept { return size_ + lines_; }
  int fd() const noexcept { return fd_; }
  const std::filesystem::path& path() const noexcept { return path_; }
  /// The file now belongs elsewhere (renamed or linked away): do not unlink it at destruction.
  void release() noexcept { owned_ = false; }

 private:
  StagedFile(Fs& fs, int fd, std::filesystem::path p) : fs_(&fs), fd_(fd), path_(std::move(p)) {}
  void close_and_maybe_unlink() noexcept;

  Fs* fs_;
  int fd_ = -1;
  std::filesystem::path path_;
  std::string buf_;
  std::uint64_t size_ = 0;
  std::uint64_t lines_ = 0;
  bool owned_ = true;
};

}  // namespace mail::store
