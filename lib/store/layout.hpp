// Where one mail server keeps its state under --data (docs/reference.md "State on disk"):
//   mail/<address>/{tmp,new,cur}   a Maildir per account, readable by Dovecot and mutt
//   queue/{tmp/,<id>.eml,<id>.json}  the relay queue: message and envelope
// and the Maildir file names (Dovecot's ,S= and ,W= sizes, so POP3 can answer without reading files).
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/fs.hpp"
#include "util/result.hpp"

namespace mail::store {

/// The folder name of an address: domain lowercased, local part exact; '/', '%', NUL, control bytes,
/// DEL and a leading '.' are percent-encoded, so no address can leave the mail/ folder.
std::string address_dirname(std::string_view address);

class Layout {
 public:
  /// `fs`: what stages files under this layout (a test's may fail); it must outlive the Layout.
  explicit Layout(std::filesystem::path data, Fs& fs = posix_fs()) : data_(std::move(data)), fs_(&fs) {}

  const std::filesystem::path& data() const noexcept { return data_; }
  Fs& fs() const noexcept { return *fs_; }
  std::filesystem::path maildir(std::string_view address) const;
  std::filesystem::path queue() const { return data_ / "queue"; }
  std::filesystem::path queue_tmp() const { return data_ / "queue" / "tmp"; }

  /// Creates the folders (a Maildir per account, the queue) and removes files left in tmp/ folders by
  /// a crash: nothing there was ever acknowledged.
  Result<void> prepare(const std::vector<std::string>& accounts) const;

 private:
  std::filesystem::path data_;
  Fs* fs_;
};

namespace maildir {

/// "1795316797.M143341P1234Q5.host" (the Maildir unique name; '/' and ':' in host escaped as \057 \072).
std::string unique_name(std::time_t secs, long usecs, long pid, std::uint64_t counter, std::string_view host);
/// "<unique>,S=<size>,W=<wsize>": size on disk, and size with CRLF line ends (what POP3 reports).
std::string final_name(std::string_view unique, std::uint64_t size, std::uint64_t wsize);

struct Sizes {
  std::uint64_t size = 0;
  std::uint64_t wsize = 0;
};
/// The ,S= and ,W= of a file name in new/ or cur/ (with or without the ":2,FLAGS" suffix).
std::optional<Sizes> parse_sizes(std::string_view filename);

}  // namespace maildir
}  // namespace mail::store
