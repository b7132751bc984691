// How the agent shows a retrieved message (docs/reference.md "agent": retr): headers, text, a delivery report's
// status fields and returned headers, attachments, and the attachments saved under safe, non-colliding names.
#include <filesystem>
#include <fstream>

#include "commands.hpp"
#include "mime/codec.hpp"
#include "mime/message.hpp"

namespace agent {

using namespace mail;
namespace fs = std::filesystem;

namespace {

// `name`, or name-1.ext, name-2.ext... when taken.
fs::path free_name(const fs::path& dir, const std::string& name) {
  fs::path p = dir / name;
  auto dot = name.rfind('.');
  std::string stem = dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
  std::string ext = dot == std::string::npos || dot == 0 ? "" : name.substr(dot);
  for (int i = 1; fs::exists(p); ++i) p = dir / (stem + "-" + std::to_string(i) + ext);
  return p;
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
  file_.close();
  for (const auto& f : files_) {
    std::error_code ec;
    if (!f.empty()) fs::remove(f, ec);  // never named: a broken RETR, or outside the structure
  }
}

void MessageReader::line(std::string_view text) {
  splitter_.feed(text);
  splitter_.feed("\r\n");
}

void MessageReader::attachment(const mime::Diverted&) {
  file_.close();
  if (save_dir_.empty()) return files_.push_back({});
  std::error_code ec;
  fs::create_directories(save_dir_, ec);
  fs::path p = free_name(save_dir_, ".retr-" + std::to_string(files_.size()) + ".part");
  file_.open(p, std::ios::binary | std::ios::trunc);
  files_.push_back(p.string());
}

void MessageReader::attachment_data(std::string_view bytes) {
  if (!file_.is_open()) return;
  file_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!file_) write_failed_ = true;
}

nlohmann::json MessageReader::show(std::ostream& out, bool print) {
  splitter_.finish();
  file_.close();
  if (file_.fail()) write_failed_ = true;
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
      auto p = free_name(save_dir_, mime::safe_filename(a.filename));
      std::error_code ec;
      if (a.stored >= 0) {  // decoded on the way in: only its name is given now
        auto& hidden = files_[static_cast<std::size_t>(a.stored)];
        if (!write_failed_) fs::rename(hidden, p, ec);
        if (!write_failed_ && !ec) hidden.clear();
        saved = write_failed_ || ec ? "" : p.string();
      } else {
        std::ofstream f(p, std::ios::binary);
        f.write(a.data.data(), static_cast<std::streamsize>(a.data.size()));
        saved = f ? p.string() : "";
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
