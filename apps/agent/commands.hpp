// The agent's POP3 commands as a table (docs/reference.md "agent"): one row per command, used alike by the
// [pop]>>> prompt and by `agent ... CMD`. Pure: words in, a POP3 line out; a response in, text or
// JSON out (the drivers in client.cpp and interactive.cpp only send the line and read the answer).
#pragma once

#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pop3/client.hpp"
#include "util/result.hpp"

namespace agent {

/// A command's checked arguments: what to send, and how to show the answer.
struct PopRequest {
  std::string line;      // the POP3 command ("RETR 2"); empty when nothing is sent (help)
  bool single = false;   // LIST/UIDL N: the answer is on the status line
  bool raw = false;      // retr --raw
  std::string save_dir;  // retr --save-attachments DIR
};

/// Where and how results print.
struct View {
  std::ostream& out;
  std::ostream& err;
  bool json = false;
  bool interactive = false;  // the [pop]>>> prompt: the server's reply line is shown as well
};

struct PopCommand {
  std::string_view name;   // as typed, in any case
  std::string_view help;   // its entry in `help`, and in `agent --help` when `scripted`
  std::string_view usage;  // after "usage: " when the arguments do not fit
  bool scripted;           // listed in `agent --help` (rset, noop, quit mean little in a one-shot session)
  bool ends_session;       // the [pop]>>> prompt ends after it
  /// `args[0]` is the command itself; nullopt when the arguments do not fit `usage`.
  std::optional<PopRequest> (*parse)(const std::vector<std::string>& args);
  /// Prints a +OK response (or, for a row that sends nothing, what it has to say).
  void (*show)(const PopRequest& req, const mail::pop3::Response& r, const View& v);
};

std::span<const PopCommand> pop_commands();
/// The row named `name`, ignoring case; null when there is none.
const PopCommand* find_pop_command(std::string_view name);
/// "commands: stat, list, ..." (the prompt's `help`).
std::string pop_help();
/// "stat | list | ..." (the scripted commands in `agent --help`).
std::string pop_usage();

/// A command line checked before anything is sent.
struct PopPlan {
  const PopCommand* command = nullptr;  // null: nothing to send (no words, or a complaint printed)
  PopRequest request;
  int status = 0;  // the exit status when `command` is null: 2 after a complaint
};
PopPlan plan_pop_command(const std::vector<std::string>& args, const View& v);

/// Shows the outcome of sending the plan's line: the reply line at the prompt, a refusal on stderr
/// in scripts, then the row's own output. Returns the exit status (0, or 1 on any failure).
int show_pop_result(const PopPlan& plan, const mail::Result<mail::pop3::Response>& r, const View& v);

/// Renders a retrieved message: headers (Subject decoded), text, attachments; saves them to `save_dir`.
/// Returns the JSON form too.
nlohmann::json show_message(const std::string& raw, const std::string& save_dir, std::ostream& out, bool print);

/// "agent: <what>" on `err`.
void complain(const std::string& what, std::ostream& err = std::cerr);

}  // namespace agent
