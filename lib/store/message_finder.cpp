#include "store/message_finder.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace mail::store {

namespace fs = std::filesystem;

std::string_view unique_part(std::string_view name) { return name.substr(0, name.find(':')); }

std::vector<std::string> list_messages(const fs::path& dir, Result<void>& error) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno != ENOENT) error = fail(Errc::io, "cannot list " + dir.string() + ": " + std::strerror(errno));
    return names;
  }
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;  // ".", ".." and hidden files are not messages
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    names.emplace_back(e->d_name);
  }
  ::closedir(d);
  return names;
}

MessageFinder::~MessageFinder() {
  if (dir_ >= 0) ::close(dir_);
}

MessageFinder::Outcome MessageFinder::apply(std::string_view name, const Call& call) {
  return find(name, [&](const std::string& relative) { return call((maildir_ / relative).c_str()); });
}

MessageFinder::Outcome MessageFinder::apply_at(std::string_view name, const AtCall& call) {
  if (dir_ == -2) dir_ = ::open(maildir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir_ < 0) return find(name, [&](const std::string& relative) { return call(AT_FDCWD, (maildir_ / relative).c_str()); });
  return find(name, [&](const std::string& relative) { return call(dir_, relative.c_str()); });
}

MessageFinder::Outcome MessageFinder::find(std::string_view name, const std::function<int(const std::string&)>& call) {
  const std::string listed = "cur/" + std::string(name);
  int r = call(listed);
  if (r >= 0 || errno != ENOENT) return {Where::listed, r, r < 0 ? errno : 0, listed};
  const std::string unique(unique_part(name));
  // "Gone" needs a scan that does not hold the unique part: names never come back once removed. An
  // index entry the call did not find (renamed again since that scan) needs another scan; a message
  // that keeps moving under every scan is reported as a failure of the call, never as gone.
  for (int pass = 0; pass < 3; ++pass) {
    auto it = where_.find(unique);
    if (it == where_.end() && fresh_) return {Where::gone, -1, ENOENT, {}};
    if (it != where_.end() && it->second != listed) {
      int rc = call(it->second);
      if (rc >= 0 || errno != ENOENT) return {Where::renamed, rc, rc < 0 ? errno : 0, it->second};
    }
    if (!scan()) return {Where::unknown, -1, EIO, {}};
  }
  return {Where::renamed, -1, EAGAIN, {}};
}

Result<void> MessageFinder::scan() {
  where_.clear();
  ++scans_;
  Result<void> err;
  // new/ first: a name in both (a reader between its link and unlink) resolves to cur/, where
  // readers move messages to.
  for (const char* sub : {"new", "cur"})
    for (auto& n : list_messages(maildir_ / sub, err))
      where_.insert_or_assign(std::string(unique_part(n)), std::string(sub) + "/" + n);
  fresh_ = err.has_value();
  return err;
}

}  // namespace mail::store
