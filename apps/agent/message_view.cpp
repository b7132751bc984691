// How the agent shows a retrieved message (docs/reference.md "agent": retr): headers, text, attachments, and
// the attachments saved under safe, non-colliding names.
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

}  // namespace

nlohmann::json show_message(const std::string& raw, const std::string& save_dir, std::ostream& out, bool print) {
  auto m = mime::parse(raw);
  nlohmann::json j = {{"from", m.from}, {"to", m.to}, {"cc", m.cc}, {"date", m.date}, {"subject", m.subject},
                      {"text", m.text}, {"attachments", nlohmann::json::array()}, {"problems", m.problems}};
  if (print) {
    for (auto [k, v] : {std::pair{"From", &m.from}, {"To", &m.to}, {"Cc", &m.cc}, {"Date", &m.date}, {"Subject", &m.subject}})
      if (!v->empty()) out << k << ": " << *v << "\n";
    out << "\n" << m.text;
    if (!m.text.empty() && m.text.back() != '\n') out << "\n";
    if (m.text.empty() && !m.html.empty()) out << "(HTML only)\n" << m.html << "\n";
  }
  if (!save_dir.empty()) fs::create_directories(save_dir);
  if (print && !m.attachments.empty()) out << "\nAttachments:\n";
  for (const auto& a : m.attachments) {
    nlohmann::json ja = {{"name", a.filename}, {"type", a.content_type}, {"size", a.data.size()}};
    std::string saved;
    if (!save_dir.empty()) {
      auto p = free_name(save_dir, mime::safe_filename(a.filename));
      std::ofstream f(p, std::ios::binary);
      f.write(a.data.data(), static_cast<std::streamsize>(a.data.size()));
      saved = f ? p.string() : "";
      if (saved.empty()) complain("cannot write " + p.string());
      ja["saved"] = saved;
    }
    if (print) {
      out << "  " << a.filename << " (" << a.content_type << ", " << a.data.size() << " bytes)";
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
