// Finds a message of a Maildir whatever another reader (Dovecot, mutt, s-nail) did to its file name
// since this session listed it. Readers rewrite the info part after ':' ("cur/X:2," -> "cur/X:2,S")
// and move messages between new/ and cur/, but never the unique part before ':' (the Maildir
// convention; Dovecot finds its messages the same way). The listed name is tried first, so the normal
// case costs what it did; the folders are scanned only when that name is gone, and one scan serves
// every later miss until expire().
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/result.hpp"

namespace mail::store {

/// The unique part of a Maildir file name: everything before its first ':' (the info part).
std::string_view unique_part(std::string_view name);

/// The file names in `dir` that can be messages (regular, not hidden); none when `dir` does not
/// exist. Another failure is left in `error`.
std::vector<std::string> list_messages(const std::filesystem::path& dir, Result<void>& error);

class MessageFinder {
 public:
  enum class Where {
    listed,   // the call was made on the listed name
    renamed,  // on the name another reader gave the message (Outcome::path)
    gone,     // no such message any more: another reader removed it
    unknown,  // the folders could not be listed (Outcome::error is EIO)
  };
  struct Outcome {
    Where where;
    int result = -1;   // what the call returned (-1 when gone or unknown)
    int error = 0;     // errno when result < 0
    std::string path;  // relative to the Maildir, where the call was made ("cur/X:2,S")
  };
  /// A POSIX call on a path (open, unlink...): -1 and errno on failure.
  using Call = std::function<int(const char* path)>;

  /// The same call made relative to the Maildir's folder (openat, unlinkat): `relative` is "cur/NAME"
  /// or "new/NAME" under `dir`. The kernel then walks two components per message, not the whole path.
  using AtCall = std::function<int(int dir, const char* relative)>;

  explicit MessageFinder(std::filesystem::path maildir) : maildir_(std::move(maildir)) {}
  MessageFinder(const MessageFinder&) = delete;
  MessageFinder& operator=(const MessageFinder&) = delete;
  ~MessageFinder();

  /// Makes `call` on the message listed as `name` (a file name in cur/), wherever it is now. Only
  /// ENOENT leads to a search; any other failure is the call's outcome on that path. `gone` only when
  /// a scan does not hold the message; one renamed under three scans in a row is `renamed` with
  /// result -1 and error EAGAIN (a failure of the call, to report as such).
  Outcome apply(std::string_view name, const Call& call);
  /// apply() with an AtCall. The folder is opened at the first call (O_PATH) and held until the end;
  /// when it cannot be, the call gets AT_FDCWD and the whole path.
  Outcome apply_at(std::string_view name, const AtCall& call);
  /// The next miss may scan again: the other reader may have renamed since the last scan (the POP3
  /// driver calls it per command; one UPDATE is one scan at most).
  void expire() noexcept { fresh_ = false; }
  /// How many times the folders were scanned (the cost the normal case must not pay).
  std::size_t scans() const noexcept { return scans_; }

 private:
  Result<void> scan();
  /// Both apply()s: `call` on a path relative to the Maildir.
  Outcome find(std::string_view name, const std::function<int(const std::string& relative)>& call);

  std::filesystem::path maildir_;
  std::unordered_map<std::string, std::string> where_;  // unique part -> "cur/NAME" or "new/NAME"
  bool fresh_ = false;
  std::size_t scans_ = 0;
  int dir_ = -2;  // the Maildir's folder for apply_at: -2 not opened yet, -1 could not be
};

}  // namespace mail::store
