// The course's interactive agent: "[smtp|pop|exit]>>> " and "[pop]>>> ", prompts printed whether or
// not input is a terminal (so scripts and tmux can drive it), line editing (libedit) when it is.
#include <unistd.h>

#include <editline/readline.h>

#include <cstdlib>
#include <sstream>

#include "agent.hpp"
#include "util/text.hpp"

namespace agent {

using namespace mail;

namespace {

// One line of input after `prompt`; nullopt at end of input.
std::optional<std::string> ask(const std::string& prompt) {
  if (isatty(STDIN_FILENO)) {
    char* l = readline(prompt.c_str());
    if (l == nullptr) return std::nullopt;
    std::string s(l);
    std::free(l);
    if (!s.empty()) add_history(s.c_str());
    return s;
  }
  std::cout << prompt << std::flush;
  std::string s;
  if (!std::getline(std::cin, s)) return std::nullopt;
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

// Asks `prompt` until an empty line (or end of input).
std::vector<std::string> ask_list(const std::string& prompt) {
  std::vector<std::string> out;
  while (auto l = ask(prompt)) {
    auto t = std::string(util::trim(*l));
    if (t.empty()) break;
    out.push_back(t);
  }
  return out;
}

std::vector<std::string> words(const std::string& line) {
  std::istringstream ss(line);
  std::vector<std::string> out;
  for (std::string w; ss >> w;) out.push_back(w);
  return out;
}

asio::awaitable<void> send(Agent& a, MailRequest req) {
  auto r = co_await send_mail(a, req);
  if (r) std::cout << "Mail sent successfully" << std::endl;
  else complain(r.error().detail);
}

asio::awaitable<void> pop_loop(Agent& a) {
  PopClient pop(a);
  std::vector<std::string> transcript;
  auto opened = co_await pop.open(&transcript);
  for (const auto& l : transcript) std::cout << l << "\n";
  if (!opened) {
    complain(opened.error().detail);
    co_return;
  }
  std::cout << "[connection: " << pop.protection() << "]\n";
  while (pop.connected()) {
    auto line = ask("[pop]>>> ");
    if (!line) {
      co_await pop.command("QUIT");
      co_return;
    }
    auto args = words(*line);
    if (args.empty()) continue;
    co_await run_pop_command(a, pop, args, true);
    if (const PopCommand* c = find_pop_command(args[0]); c && c->ends_session) co_return;
    std::cout << std::flush;
  }
}

}  // namespace

asio::awaitable<int> interactive(Agent& a) {
  while (auto line = ask("[smtp|pop|exit]>>> ")) {
    auto cmd = util::to_lower(util::trim(*line));
    if (cmd.empty()) continue;
    if (cmd == "exit" || cmd == "quit") break;
    if (cmd == "smtp") {  // exactly the course's prompts
      MailRequest req;
      req.to = ask_list("To: ");
      req.subject = ask("Subject: ").value_or("");
      req.text = ask("Content: ").value_or("") + "\n";
      co_await send(a, std::move(req));
    } else if (cmd == "mail") {
      MailRequest req;
      req.to = ask_list("To: ");
      req.cc = ask_list("Cc: ");
      req.bcc = ask_list("Bcc: ");
      req.subject = ask("Subject: ").value_or("");
      req.attach = ask_list("Attach: ");
      std::cout << "Body (end with a line holding only \".\"):" << std::endl;
      while (auto l = ask("")) {
        if (*l == ".") break;
        req.text += *l + "\n";
      }
      co_await send(a, std::move(req));
    } else if (cmd == "pop") {
      co_await pop_loop(a);
    } else {
      complain("unknown command '" + cmd + "' (smtp, mail, pop, exit)");
    }
    std::cout << std::flush;
  }
  co_return 0;
}

}  // namespace agent
