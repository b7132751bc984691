// How the agent shows a retrieved message (docs/reference.md "agent": retr): headers, text, a delivery report's
// status fields and returned headers, attachments, and the attachments saved under safe, non-colliding names.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "commands.hpp"
#include "mime/codec.hpp"
#include "mime/message.hpp"

namespace agent {

using namespace mail;
namespace fs = std::filesystem;

namespace {

// `name`, then name-1.ext, name-2.ext...: the candidates for a file of the save folder.
fs::path candidate(const fs::path& dir, const std::string& name, int i) {
  if (i == 0) return dir / name;
  auto dot = name.rfind('.');
  std::string stem = dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
  std::string ext = dot == std::string::npos || dot == 0 ? "" : name.substr(dot);
  return dir / (stem + "-" + std::to_string(i) + ext);
}

constexpr int kMaxCandidates = 1000;

// A new file under the first free candidate name, opened for writing: O_EXCL, so whatever is there
// already (a file, a symlink, even a dangling one, put there by someone sharing the folder) is neither
// written through nor replaced, and no check-then-open race. -1 when none could be made.
int create_free(const fs::path& dir, const std::string& name, fs::path& chosen) {
  for (int i = 0; i < kMaxCandidates; ++i) {
    chosen = candidate(dir, name, i);
    int fd = ::open(chosen.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Moves `from` to the first free candidate name: RENAME_NOREPLACE (or link, on a file system without
// it), never over an entry that is there.
bool move_free(const fs::path& from, const fs::path& dir, const std::string& name, fs::path& chosen) {
  for (int i = 0; i < kMaxCandidates; ++i) {
    chosen = candidate(dir, name, i);
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, chosen.c_str(), RENAME_NOREPLACE) == 0) return true;
    if (errno == EINVAL || errno == ENOSYS) {
      if (::link(from.c_str(), chosen.c_str()) == 0) return ::unlink(from.c_str()), true;
    }
    if (errno != EEXIST) return false;
  }
  return false;
}

// A delivery report's machine-readable parts (RFC 3464), after its human text; nothing for other messages.
void print_report(const mime::Parsed& m, std::ostream& out) {
  if (m.delivery_status) {
    const auto& ds = *m.delivery_status;
    out << "\nDelivery status:\n";
    if (!ds.reporting_mta.empty()) out << "  Reporting MTA: " << ds.reporting_mta << "\n";
    if (!ds.arrival_date.empty()) out << "  Arrival date: " << ds.arrival_date << "\n";
    for (const auto& r : ds.recipients) {
      out << "  Recipient: " << (r.recipient.empty() ? "(not given)" : r.recipient) << "\n";
      if (!r.original_recipient.empty() && r.original_recipient != r.recipient)
        out << "    Original recipient: " << r.original_recipient << "\n";
      for (auto [k, v] : {std::pair{"Action", &r.action}, {"Status", &r.status}, {"Remote MTA", &r.remote_mta},
                          {"Diagnostic", &r.diagnostic}, {"Last attempt", &r.last_attempt}})
        if (!v->empty()) out << "    " << k << ": " << *v << "\n";
    }
  }
  if (!m.returned_headers.empty()) out << "\nReturned headers:\n";
  for (const auto& [name, value] : m.returned_headers) out << "  " << name << ": " << value << "\n";
}

void report_json(const mime::Parsed& m, nlohmann::json& j) {
  if (m.delivery_status) {
    auto recipients = nlohmann::json::array();
    for (const auto& r : m.delivery_status->recipients)
      recipients.push_back({{"recipient", r.recipient}, {"original_recipient", r.original_recipient}, {"action", r.action},
                            {"status", r.status}, {"remote_mta", r.remote_mta}, {"diagnostic", r.diagnostic},
                            {"last_attempt", r.last_attempt}});
    j["delivery_status"] = {{"reporting_mta", m.delivery_status->reporting_mta},
                            {"arrival_date", m.delivery_status->arrival_date}, {"recipients", recipients}};
  }
  if (m.delivery_status || !m.returned_headers.empty()) {
    j["returned_headers"] = nlohmann::json::array();
    for (const auto& [name, value] : m.returned_headers) j["returned_headers"].push_back({{"name", name}, {"value", value}});
  }
}

}  // namespace

MessageReader::~MessageReader() {
  close_file();
  for (const auto& f : files_) {
    std::error_code ec;
    if (!f.empty()) fs::remove(f, ec);  // never named: a broken RETR, or outside the structure
  }
}

void MessageReader::line(std::string_view text) {
  splitter_.feed(text);
  splitter_.feed("\r\n");
}

void MessageReader::close_file() {
  if (fd_ >= 0 && ::close(fd_) != 0) write_failed_ = true;
  fd_ = -1;
}

void MessageReader::attachment(const mime::Diverted&) {
  close_file();
  if (save_dir_.empty()) return files_.push_back({});
  std::error_code ec;
  fs::create_directories(save_dir_, ec);
  fs::path p;
  fd_ = create_free(save_dir_, ".retr-" + std::to_string(files_.size()) + ".part", p);
  if (fd_ < 0) write_failed_ = true;
  files_.push_back(fd_ < 0 ? std::string() : p.string());
}

void MessageReader::attachment_data(std::string_view bytes) {
  if (fd_ < 0) return;
  if (!write_all(fd_, bytes)) write_failed_ = true;
}

nlohmann::json MessageReader::show(std::ostream& out, bool print) {
  splitter_.finish();
  close_file();
  const auto& diverted = splitter_.diverted();
  auto m = mime::parse_split(skeleton_, diverted);
  nlohmann::json j = {{"from", m.from}, {"to", m.to}, {"cc", m.cc}, {"date", m.date}, {"subject", m.subject},
                      {"text", m.text}, {"attachments", nlohmann::json::array()}, {"problems", m.problems}};
  if (print) {
    for (auto [k, v] : {std::pair{"From", &m.from}, {"To", &m.to}, {"Cc", &m.cc}, {"Date", &m.date}, {"Subject", &m.subject}})
      if (!v->empty()) out << k << ": " << *v << "\n";
    out << "\n" << m.text;
    if (!m.text.empty() && m.text.back() != '\n') out << "\n";
    if (m.text.empty() && !m.html.empty()) out << "(HTML only)\n" << m.html << "\n";
    print_report(m, out);
  }
  report_json(m, j);
  if (!save_dir_.empty()) fs::create_directories(save_dir_);
  if (print && !m.attachments.empty()) out << "\nAttachments:\n";
  for (const auto& a : m.attachments) {
    std::size_t size = a.stored >= 0 ? diverted[static_cast<std::size_t>(a.stored)].size : a.data.size();
    nlohmann::json ja = {{"name", a.filename}, {"type", a.content_type}, {"size", size}};
    std::string saved;
    if (!save_dir_.empty()) {
      const std::string name = mime::safe_filename(a.filename);
      fs::path p = fs::path(save_dir_) / name;
      if (a.stored >= 0) {  // decoded on the way in: only its name is given now
        auto& hidden = files_[static_cast<std::size_t>(a.stored)];
        if (!write_failed_ && !hidden.empty() && move_free(hidden, save_dir_, name, p)) {
          saved = p.string();
          hidden.clear();
        }
      } else if (int fd = create_free(save_dir_, name, p); fd >= 0) {
        bool ok = write_all(fd, a.data);
        if (::close(fd) != 0) ok = false;
        if (ok) saved = p.string();
        else ::unlink(p.c_str());
      }
      if (saved.empty()) complain("cannot write " + p.string());
      ja["saved"] = saved;
    }
    if (print) {
      out << "  " << a.filename << " (" << a.content_type << ", " << size << " bytes)";
      if (!saved.empty()) out << " saved as " << saved;
      out << "\n";
    }
    j["attachments"].push_back(ja);
  }
  if (print)
    for (const auto& p : m.problems) out << "Problem: " << p << "\n";
  return j;
}

}  // namespace agent
