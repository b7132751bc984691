#include "disk.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "mime/message.hpp"
#include "store/envelope.hpp"
#include "store/layout.hpp"
#include "store/maildrop.hpp"
#include "store/message_finder.hpp"
#include "store/queue.hpp"
#include "util/text.hpp"

namespace mailview {

using namespace mail;
using nlohmann::json;
namespace fs = std::filesystem;

std::string iso_time(std::time_t t) {
  if (t == 0) return {};
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

// A name a Maildir listing could hold: no path, not hidden.
bool plain_name(std::string_view n) {
  return !n.empty() && n.front() != '.' && n.find('/') == std::string_view::npos && n.find('\0') == std::string_view::npos;
}

// The whole file, at most `max` octets; nullopt when it cannot be read or is no regular file: as for
// the Maildir listing (store::list_messages), a symlink does not lead out of the data folder and a FIFO
// does not hold an HTTP thread forever.
std::optional<std::string> read_file(const fs::path& p, std::size_t max) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return std::nullopt;
  }
  std::string out;
  char buf[65536];
  while (out.size() < max) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (out.size() > max) out.resize(max);
  return out;
}

std::string header(const mime::Parsed& p, std::string_view name) {
  for (const auto& [k, v] : p.headers)
    if (util::iequals(k, name)) return std::string(util::trim(v));
  return {};
}

json part_json(const std::vector<mime::Part>& parts, std::size_t& i) {
  const auto& p = parts[i++];
  json children = json::array();
  const std::string prefix = p.part + ".";
  while (i < parts.size() && parts[i].part.rfind(prefix, 0) == 0) children.push_back(part_json(parts, i));
  return {{"part", p.part}, {"type", p.type}, {"filename", p.filename}, {"size", p.size}, {"children", std::move(children)}};
}

}  // namespace

json mime_tree(const std::vector<mime::Part>& parts) {
  std::size_t i = 0;
  return parts.empty() ? json(nullptr) : part_json(parts, i);
}

Disk::Disk(const config::Config& cfg, const std::vector<ServerInfo>& servers) {
  for (const auto& s : servers) {
    if (s.kind != "mailsrv") continue;
    store::Layout layout(s.data);
    queues_.emplace_back(s.name, layout.queue().string());
    auto accounts = cfg.accounts.find(s.name);
    if (accounts == cfg.accounts.end()) continue;
    for (const auto& a : accounts->second) boxes_.push_back({s.name, a.address, layout.maildir(a.address).string()});
  }
}

std::optional<Disk::Box> Disk::box(const std::string& server, const std::string& account) const {
  for (const auto& b : boxes_)
    if (b.server == server && b.account == account) return b;
  return std::nullopt;
}

json Disk::mailboxes() const {
  json out = json::array();
  for (const auto& b : boxes_) {
    std::uint64_t octets = 0;
    std::size_t n = 0;
    if (auto list = store::peek_maildrop(b.maildir)) {
      n = list->size();
      for (const auto& e : *list) {
        auto sizes = store::maildir::parse_sizes(e.name);
        std::error_code ec;
        octets += sizes ? sizes->size : fs::file_size(fs::path(b.maildir) / (e.seen ? "cur" : "new") / e.name, ec);
      }
    }
    out.push_back({{"server", b.server}, {"account", b.account}, {"messages", n}, {"octets", octets}});
  }
  return out;
}

json Disk::mailbox(const std::string& server, const std::string& account) const {
  auto b = box(server, account);
  if (!b) return nullptr;
  json messages = json::array();
  auto list = store::peek_maildrop(b->maildir);
  std::size_t n = 0;
  for (const auto& e : list ? *list : std::vector<store::MaildirEntry>{}) {
    fs::path file = fs::path(b->maildir) / (e.seen ? "cur" : "new") / e.name;
    auto head = store::read_headers(file);
    auto p = mime::parse(head ? *head + "\r\n" : std::string());
    std::error_code ec;
    auto size = fs::file_size(file, ec);
    messages.push_back({{"file", e.name}, {"n", ++n}, {"size", ec ? 0 : size}, {"from", p.from}, {"to", p.to},
                        {"subject", p.subject}, {"date", p.date}, {"msgid", header(p, "Message-ID")}, {"seen", e.seen}});
  }
  return {{"server", server}, {"account", account}, {"messages", std::move(messages)}};
}

std::optional<std::string> Disk::raw(const std::string& server, const std::string& account, const std::string& file) const {
  auto b = box(server, account);
  if (!b || !plain_name(file)) return std::nullopt;
  // Listed in new/, it may be in cur/ by now (a POP3 client opened the maildrop): MessageFinder looks.
  std::optional<std::string> out;
  for (const char* sub : {"new", "cur"}) {
    out = read_file(fs::path(b->maildir) / sub / file, kMaxMessage);
    if (out) return out;
  }
  store::MessageFinder finder(b->maildir);
  finder.apply(file + ":2,", [&](const char* path) {
    out = read_file(path, kMaxMessage);
    if (out) return 0;
    errno = ENOENT;
    return -1;
  });
  return out;
}

json Disk::message(const std::string& server, const std::string& account, const std::string& file) const {
  auto text = raw(server, account, file);
  if (!text) return nullptr;
  auto p = mime::parse(*text);
  json headers = json::array();
  for (const auto& [k, v] : p.headers) headers.push_back({k, v});
  json attachments = json::array();
  for (const auto& part : p.parts)
    if (part.attachment >= 0)
      attachments.push_back({{"part", part.part}, {"filename", p.attachments[part.attachment].filename},
                             {"type", part.type}, {"size", part.size}});
  return {{"file", file}, {"headers", std::move(headers)}, {"mime", mime_tree(p.parts)}, {"text", p.text},
          {"attachments", std::move(attachments)}, {"msgid", header(p, "Message-ID")}, {"subject", p.subject},
          {"problems", p.problems}};
}

std::optional<Disk::Download> Disk::part(const std::string& server, const std::string& account, const std::string& file,
                                         const std::string& part) const {
  auto text = raw(server, account, file);
  if (!text) return std::nullopt;
  auto p = mime::parse(*text);
  for (const auto& pt : p.parts)
    if (pt.part == part && pt.attachment >= 0) {
      auto& a = p.attachments[pt.attachment];
      return Download{a.filename, a.content_type, std::move(a.data)};
    }
  return std::nullopt;
}

namespace {

const char* state_name(store::RcptState s) {
  switch (s) {
    case store::RcptState::pending: return "pending";
    case store::RcptState::delivered: return "delivered";
    case store::RcptState::failed: return "failed";
  }
  return "pending";
}

// The envelopes of a queue folder, read only (store::scan_queue would also clean up: not ours to do).
std::vector<store::QueueEnvelope> envelopes(const std::string& dir) {
  std::vector<store::QueueEnvelope> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".json") continue;
    auto text = read_file(e.path(), 1u << 20);
    if (!text) continue;
    if (auto env = store::envelope_from_json(*text)) out.push_back(std::move(*env));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.received < b.received; });
  return out;
}

}  // namespace

json Disk::queue() const {
  json out = json::array();
  for (const auto& [server, dir] : queues_)
    for (const auto& env : envelopes(dir)) {
      json rcpts = json::array();
      for (const auto& r : env.recipients)
        rcpts.push_back({{"address", r.address}, {"state", state_name(r.state)}, {"attempts", r.attempts},
                         {"next_retry", iso_time(r.next_try)}, {"last", r.last_reply.line()}});
      out.push_back({{"server", server}, {"id", env.id}, {"from", env.sender}, {"received", iso_time(env.received)},
                     {"recipients", std::move(rcpts)}});
    }
  return out;
}

std::size_t Disk::queue_size(const std::string& server) const {
  std::size_t n = 0;
  for (const auto& [name, dir] : queues_) {
    if (name != server) continue;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) n += e.path().extension() == ".json";
  }
  return n;
}

}  // namespace mailview
