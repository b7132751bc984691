// The POP3 commands of the agent and how their results are shown (docs/reference.md "agent": output forms).
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent.hpp"
#include "mime/codec.hpp"
#include "util/cli.hpp"
#include "util/text.hpp"

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

std::optional<std::uint64_t> number(const std::vector<std::string>& args, std::size_t i) {
  if (i >= args.size()) return std::nullopt;
  return util::parse_uint(args[i], 1u << 30);
}

constexpr util::OptSpec kRetrOptions[] = {
    {0, "raw", "", "print the message as received"},
    {0, "save-attachments", "DIR", "write each attachment into DIR"},
};

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

asio::awaitable<int> run_pop_command(Agent& a, PopClient& pop, const std::vector<std::string>& args, bool interactive) {
  if (args.empty()) co_return 0;
  std::string verb = util::to_lower(args[0]);
  auto fail_usage = [&](const std::string& usage) {
    complain("usage: " + usage);
    return 2;
  };
  std::string line;
  std::string save_dir;
  bool raw = false;
  if (verb == "help") {
    std::cout << "commands: stat, list, uidl, retr N [--raw] [--save-attachments DIR], top N LINES, dele N, rset, "
                 "noop, quit, help\n";
    co_return 0;
  } else if (verb == "stat" || verb == "rset" || verb == "noop" || verb == "quit") {
    line = verb;
    for (auto& c : line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  } else if (verb == "list" || verb == "uidl") {
    line = verb == "list" ? "LIST" : "UIDL";
    if (args.size() > 1) {
      if (!number(args, 1)) co_return fail_usage(verb + " [N]");
      line += " " + args[1];
    }
  } else if (verb == "retr") {
    std::vector<const char*> argv{"retr"};
    for (std::size_t i = 1; i < args.size(); ++i) argv.push_back(args[i].c_str());
    auto opts = util::parse_args(kRetrOptions, static_cast<int>(argv.size()), argv.data());
    if (!opts || opts->positional.size() != 1 || !util::parse_uint(opts->positional[0], 1u << 30))
      co_return fail_usage("retr N [--raw] [--save-attachments DIR]");
    raw = opts->has("raw");
    save_dir = opts->get("save-attachments");
    line = "RETR " + opts->positional[0];
  } else if (verb == "top") {
    if (!number(args, 1) || !number(args, 2)) co_return fail_usage("top N LINES");
    line = "TOP " + args[1] + " " + args[2];
  } else if (verb == "dele") {
    if (!number(args, 1)) co_return fail_usage("dele N");
    line = "DELE " + args[1];
  } else {
    complain("unknown command '" + args[0] + "' (try help)");
    co_return 2;
  }

  auto r = co_await pop.command(line);
  if (!r) {
    complain(r.error().detail);
    co_return 1;
  }
  if (interactive && !a.json) std::cout << r->status << "\n";
  if (!r->ok) {
    if (!interactive) std::cerr << r->status << "\n";
    co_return 1;
  }
  std::string_view v = verb;
  if (v == "stat") {
    std::istringstream ss(r->status.substr(3));
    std::uint64_t n = 0, octets = 0;
    ss >> n >> octets;
    if (a.json) std::cout << nlohmann::json{{"messages", n}, {"bytes", octets}}.dump() << "\n";
    else std::cout << n << " messages (" << octets << " bytes)\n";
  } else if (v == "list" || v == "uidl") {
    std::vector<std::string> lines = r->lines;
    if (args.size() > 1) lines = {r->status.substr(4)};  // "+OK n size"
    if (a.json) {
      auto j = nlohmann::json::array();
      for (const auto& l : lines) {
        auto sp = l.find(' ');
        j.push_back({{"message", std::stoull(l.substr(0, sp))}, {v == "list" ? "size" : "uid", v == "list"
            ? nlohmann::json(std::stoull(l.substr(sp + 1))) : nlohmann::json(l.substr(sp + 1))}});
      }
      std::cout << j.dump() << "\n";
    } else {
      for (const auto& l : lines) std::cout << l << "\n";
    }
  } else if (v == "retr") {
    std::string message;
    for (const auto& l : r->lines) message += l + "\r\n";
    if (raw) {
      if (a.json) std::cout << nlohmann::json{{"raw", message}}.dump() << "\n";
      else for (const auto& l : r->lines) std::cout << l << "\n";
    } else {
      auto j = show_message(message, save_dir, std::cout, !a.json);
      if (a.json) std::cout << j.dump() << "\n";
    }
  } else if (v == "top") {
    if (a.json) std::cout << nlohmann::json{{"lines", r->lines}}.dump() << "\n";
    else for (const auto& l : r->lines) std::cout << l << "\n";
  } else if (!interactive) {
    if (a.json) std::cout << nlohmann::json{{"reply", r->status}}.dump() << "\n";
    else std::cout << r->status << "\n";
  }
  co_return 0;
}

}  // namespace agent
