// The POP3 commands of the agent, one row each: their arguments, the line they send, and how their
// answers print (docs/reference.md "agent": output forms).
#include "commands.hpp"

#include <sstream>

#include "util/cli.hpp"
#include "util/text.hpp"

namespace agent {

using namespace mail;
using pop3::Response;

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

PopRequest send(std::string line) {
  PopRequest r;
  r.line = std::move(line);
  return r;
}

bool number(const std::vector<std::string>& args, std::size_t i) {
  return i < args.size() && util::parse_uint(args[i], 1u << 30).has_value();
}

// --- arguments -> the POP3 line

std::optional<PopRequest> no_arguments(const std::vector<std::string>& args) {  // any extra word is ignored
  return send(upper(args[0]));
}

std::optional<PopRequest> optional_number(const std::vector<std::string>& args) {  // list [N], uidl [N]
  PopRequest r = send(upper(args[0]));
  if (args.size() > 1) {
    if (!number(args, 1)) return std::nullopt;
    r.line += " " + args[1];
    r.single = true;
  }
  return r;
}

std::optional<PopRequest> one_number(const std::vector<std::string>& args) {  // dele N
  if (!number(args, 1)) return std::nullopt;
  return send(upper(args[0]) + " " + args[1]);
}

std::optional<PopRequest> two_numbers(const std::vector<std::string>& args) {  // top N LINES
  if (!number(args, 1) || !number(args, 2)) return std::nullopt;
  return send(upper(args[0]) + " " + args[1] + " " + args[2]);
}

constexpr util::OptSpec kRetrOptions[] = {
    {0, "raw", "", "print the message as received"},
    {0, "save-attachments", "DIR", "write each attachment into DIR"},
};

std::optional<PopRequest> retr_arguments(const std::vector<std::string>& args) {
  std::vector<const char*> argv{"retr"};
  for (std::size_t i = 1; i < args.size(); ++i) argv.push_back(args[i].c_str());
  auto opts = util::parse_args(kRetrOptions, static_cast<int>(argv.size()), argv.data());
  if (!opts || opts->positional.size() != 1 || !util::parse_uint(opts->positional[0], 1u << 30)) return std::nullopt;
  PopRequest r = send("RETR " + opts->positional[0]);
  r.raw = opts->has("raw");
  r.save_dir = opts->get("save-attachments");
  if (!r.raw) r.reader = std::make_shared<MessageReader>(r.save_dir);  // --raw shows the message as it is: held whole
  return r;
}

std::optional<PopRequest> nothing_to_send(const std::vector<std::string>&) { return send(""); }

// --- the answer -> text or JSON

void print_lines(const std::vector<std::string>& lines, std::ostream& out) {
  for (const auto& l : lines) out << l << "\n";
}

void show_stat(const PopRequest&, const Response& r, const View& v) {  // "+OK 2 320"
  std::istringstream ss(r.status.substr(3));
  std::uint64_t n = 0, octets = 0;
  ss >> n >> octets;
  if (v.json) v.out << nlohmann::json{{"messages", n}, {"bytes", octets}}.dump() << "\n";
  else v.out << n << " messages (" << octets << " bytes)\n";
}

// "n size" or "n uid" per line (or on the status line for one message); JSON names the second field.
void show_listing(const PopRequest& req, const Response& r, const View& v, const char* field, bool numeric) {
  std::vector<std::string> lines = r.lines;
  if (req.single) lines = {r.status.substr(4)};  // "+OK n size"
  if (!v.json) return print_lines(lines, v.out);
  auto j = nlohmann::json::array();
  for (const auto& l : lines) {
    auto sp = l.find(' ');
    auto message = std::stoull(l.substr(0, sp));
    auto second = numeric ? nlohmann::json(std::stoull(l.substr(sp + 1))) : nlohmann::json(l.substr(sp + 1));
    j.push_back({{"message", message}, {field, second}});
  }
  v.out << j.dump() << "\n";
}

void show_list(const PopRequest& req, const Response& r, const View& v) { show_listing(req, r, v, "size", true); }
void show_uidl(const PopRequest& req, const Response& r, const View& v) { show_listing(req, r, v, "uid", false); }

void show_retr(const PopRequest& req, const Response& r, const View& v) {
  if (!req.raw) {
    auto reader = req.reader ? req.reader : std::make_shared<MessageReader>(req.save_dir);
    for (const auto& l : r.lines) reader->line(l);  // a response read whole rather than streamed
    auto j = reader->show(v.out, !v.json);
    if (v.json) v.out << j.dump() << "\n";
    return;
  }
  std::string message;
  for (const auto& l : r.lines) message += l + "\r\n";
  if (v.json) {
    v.out << nlohmann::json{{"raw", message}}.dump() << "\n";
  } else {
    print_lines(r.lines, v.out);
  }
}

void show_top(const PopRequest&, const Response& r, const View& v) {
  if (v.json) v.out << nlohmann::json{{"lines", r.lines}}.dump() << "\n";
  else print_lines(r.lines, v.out);
}

void show_reply(const PopRequest&, const Response& r, const View& v) {  // the prompt has shown it already
  if (v.interactive) return;
  if (v.json) v.out << nlohmann::json{{"reply", r.status}}.dump() << "\n";
  else v.out << r.status << "\n";
}

void show_help(const PopRequest&, const Response&, const View& v) { v.out << pop_help() << "\n"; }

constexpr PopCommand kCommands[] = {
    {"stat", "stat", "stat", true, false, no_arguments, show_stat},
    {"list", "list", "list [N]", true, false, optional_number, show_list},
    {"uidl", "uidl", "uidl [N]", true, false, optional_number, show_uidl},
    {"retr", "retr N [--raw] [--save-attachments DIR]", "retr N [--raw] [--save-attachments DIR]", true, false,
     retr_arguments, show_retr},
    {"top", "top N LINES", "top N LINES", true, false, two_numbers, show_top},
    {"dele", "dele N", "dele N", true, false, one_number, show_reply},
    {"rset", "rset", "rset", false, false, no_arguments, show_reply},
    {"noop", "noop", "noop", false, false, no_arguments, show_reply},
    {"quit", "quit", "quit", false, true, no_arguments, show_reply},
    {"help", "help", "help", false, false, nothing_to_send, show_help},
};

std::string join(std::string_view sep, bool scripted_only) {
  std::string out;
  for (const auto& c : kCommands)
    if (c.scripted || !scripted_only) out += (out.empty() ? "" : std::string(sep)) + std::string(c.help);
  return out;
}

}  // namespace

std::span<const PopCommand> pop_commands() { return kCommands; }

const PopCommand* find_pop_command(std::string_view name) {
  for (const auto& c : kCommands)
    if (util::iequals(c.name, name)) return &c;
  return nullptr;
}

std::string pop_help() { return "commands: " + join(", ", false); }
std::string pop_usage() { return join(" | ", true); }

PopPlan plan_pop_command(const std::vector<std::string>& args, const View& v) {
  PopPlan p;
  if (args.empty()) return p;
  const PopCommand* c = find_pop_command(args[0]);
  if (c == nullptr) {
    complain("unknown command '" + args[0] + "' (try help)", v.err);
    p.status = 2;
    return p;
  }
  auto req = c->parse(args);
  if (!req) {
    complain("usage: " + std::string(c->usage), v.err);
    p.status = 2;
    return p;
  }
  p.command = c;
  p.request = std::move(*req);
  return p;
}

int show_pop_result(const PopPlan& plan, const Result<Response>& r, const View& v) {
  if (!r) {
    complain(r.error().detail, v.err);
    return 1;
  }
  if (v.interactive && !v.json) v.out << r->status << "\n";
  if (!r->ok) {
    if (!v.interactive) v.err << r->status << "\n";
    return 1;
  }
  plan.command->show(plan.request, *r, v);
  return 0;
}

void complain(const std::string& what, std::ostream& err) { err << "agent: " << what << std::endl; }

}  // namespace agent
