// A Maildir as a POP3 maildrop: opening moves new messages to cur/ the Maildir way (":2,"), so
// Dovecot and mutt agree they were seen by a client, and lists cur/ in delivery order with the octet
// counts from the ,W= in the names (files are read only when a name lacks it). Removing unlinks (a
// message another reader renamed meanwhile under its new name) and fsyncs the folder. The in-process lock table makes the maildrop one session's at a time.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "pop3/listing.hpp"
#include "util/result.hpp"

namespace mail::store {

/// Opens the maildrop at `maildir` (its new/ and cur/).
Result<pop3::Listing> open_maildrop(const std::filesystem::path& maildir);

/// A message of a Maildir as a reader that changes nothing sees it (the web view, apps/mailview).
struct MaildirEntry {
  std::string name;  // the file name in new/ or cur/
  bool seen = false;  // in cur/: a POP3 client has opened the maildrop since it arrived
};
/// The messages of new/ and cur/ in the order a POP3 session would list them, without moving any.
Result<std::vector<MaildirEntry>> peek_maildrop(const std::filesystem::path& maildir);

/// What the POP3 UPDATE did to the messages marked deleted.
struct Removal {
  std::size_t deleted = 0;  // unlinked now, under the listed name or a new one
  std::size_t renamed = 0;  // of those, found under a name another reader gave them
  std::size_t gone = 0;     // already removed by another reader: not deleted here
  std::string failed;       // the names that could not be removed, and why ("" when none)
};

/// Removes the messages named (file names in cur/ when listed) wherever they are now
/// (MessageFinder: one folder scan at most, only when a name is missing) and fsyncs the folders.
Removal remove_messages(const std::filesystem::path& maildir, const std::vector<std::string>& names);

/// A stored message's size as sent (CRLF line ends, a final CRLF added when missing): what POP3 and
/// SMTP's SIZE= count.
Result<std::uint64_t> crlf_size(const std::filesystem::path& file);

/// The POP3 unique id of a Maildir file name: the name up to its first ',' or ':' (at most 70 octets).
std::size_t uid_length(std::string_view name);

/// Which maildrops are in use. Held by one thread (the event loop); a Guard releases on every exit path,
/// and the table dies with the process (so kill -9 leaves no stale lock).
class MaildropLocks {
 public:
  class Guard {
   public:
    Guard() = default;
    Guard(MaildropLocks* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    Guard(Guard&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), key_(std::move(o.key_)) {}
    Guard& operator=(Guard&& o) noexcept;
    ~Guard() { release(); }
    explicit operator bool() const noexcept { return owner_ != nullptr; }
    void release();

   private:
    MaildropLocks* owner_ = nullptr;
    std::string key_;
  };

  /// An empty Guard when `account` is already locked.
  Guard try_lock(const std::string& account);
  bool locked(const std::string& account) const { return held_.contains(account); }

 private:
  std::unordered_set<std::string> held_;
};

}  // namespace mail::store
