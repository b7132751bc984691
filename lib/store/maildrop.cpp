#include "store/maildrop.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <tuple>

#include "store/fs.hpp"
#include "store/layout.hpp"
#include "store/message_finder.hpp"
#include "util/sort_by_key.hpp"
#include "util/text.hpp"

namespace mail::store {

namespace fs = std::filesystem;

namespace {

// Delivery order: the Maildir unique name starts "SECONDS.M<usec>..." (ours and Dovecot's).
std::tuple<std::uint64_t, std::uint64_t, std::string_view> order_key(std::string_view name) {
  auto dot = name.find('.');
  auto secs = util::parse_uint(name.substr(0, dot), UINT64_MAX).value_or(UINT64_MAX);
  std::uint64_t usec = 0;
  if (dot != std::string_view::npos && dot + 1 < name.size() && name[dot + 1] == 'M') {
    auto rest = name.substr(dot + 2);
    // A plain loop: find_first_not_of with a set calls memchr once per byte (libstdc++).
    std::size_t end = 0;
    while (end < rest.size() && rest[end] >= '0' && rest[end] <= '9') ++end;
    usec = util::parse_uint(rest.substr(0, end), UINT64_MAX).value_or(0);
  }
  return {secs, usec, name};
}

}  // namespace

Result<std::uint64_t> crlf_size(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(Errc::io, "cannot open " + file.string() + ": " + std::strerror(errno));
  char buf[65536];
  std::uint64_t size = 0, lf = 0;
  char prev = 0;
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n' && prev != '\r') ++lf;  // a bare LF becomes CRLF on the wire
      prev = buf[i];
    }
    size += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  return size + lf + (size > 0 && prev != '\n' ? 2 : 0);
}

std::size_t uid_length(std::string_view name) {
  std::size_t end = 0;  // a plain loop, as in order_key
  while (end < name.size() && name[end] != ',' && name[end] != ':') ++end;
  return std::min<std::size_t>(end, 70);
}

Result<pop3::Listing> open_maildrop(const fs::path& maildir) {
  Result<void> err;
  const fs::path cur = maildir / "cur";
  for (const auto& n : list_messages(maildir / "new", err)) {
    // RFC-less but universal: a message a client has seen lives in cur/ with an info suffix.
    auto to = cur / (n.find(':') == std::string::npos ? n + ":2," : n);
    if (::rename((maildir / "new" / n).c_str(), to.c_str()) != 0 && errno != ENOENT)
      return fail(Errc::io, "cannot move " + n + " to cur/: " + std::strerror(errno));
  }
  if (!err) return err.error();
  auto names = list_messages(cur, err);
  if (!err) return err.error();
  util::sort_by_key(names, [](const std::string& n) { return order_key(n); });
  pop3::Listing listing;
  std::size_t bytes = 0;
  for (const auto& n : names) bytes += n.size();
  listing.reserve(names.size(), bytes);
  for (const auto& n : names) {
    std::uint64_t octets;
    if (auto sizes = maildir::parse_sizes(n)) {
      octets = sizes->wsize;
    } else {
      auto counted = crlf_size(cur / n);
      if (!counted) continue;  // gone meanwhile (another client): not part of this session
      octets = *counted;
    }
    listing.add(n, uid_length(n), octets);
  }
  return listing;
}

Result<std::vector<MaildirEntry>> peek_maildrop(const fs::path& maildir) {
  Result<void> err;
  std::vector<MaildirEntry> out;
  for (auto& n : list_messages(maildir / "new", err)) out.push_back({std::move(n), false});
  if (!err) return err.error();
  for (auto& n : list_messages(maildir / "cur", err)) out.push_back({std::move(n), true});
  if (!err) return err.error();
  util::sort_by_key(out, [](const MaildirEntry& e) { return order_key(e.name); });
  return out;
}

Removal remove_messages(const fs::path& maildir, const std::vector<std::string>& names) {
  MessageFinder finder(maildir);  // one scan at most for the whole update, only when a name is missing
  const auto unlink = [](const char* path) { return ::unlink(path); };
  Removal out;
  bool in_new = false;
  for (const auto& n : names) {
    auto o = finder.apply(n, unlink);
    if (o.where == MessageFinder::Where::gone) {
      ++out.gone;  // the other reader removed it: not ours to count
    } else if (o.result != 0) {
      out.failed += (out.failed.empty() ? "" : ", ") + n + " (" + std::strerror(o.error) + ")";
    } else {
      ++out.deleted;
      if (o.where == MessageFinder::Where::renamed) ++out.renamed;
      in_new = in_new || o.path.starts_with("new/");
    }
  }
  posix_fs().fsync_dir((maildir / "cur").c_str());
  if (in_new) posix_fs().fsync_dir((maildir / "new").c_str());
  return out;
}

MaildropLocks::Guard& MaildropLocks::Guard::operator=(Guard&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = std::exchange(o.owner_, nullptr);
    key_ = std::move(o.key_);
  }
  return *this;
}

void MaildropLocks::Guard::release() {
  if (owner_ != nullptr) owner_->held_.erase(key_);
  owner_ = nullptr;
}

MaildropLocks::Guard MaildropLocks::try_lock(const std::string& account) {
  if (!held_.insert(account).second) return {};
  return Guard(this, account);
}

}  // namespace mail::store
