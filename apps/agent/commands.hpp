// The agent's POP3 commands as a table (docs/reference.md "agent"): one row per command, used alike by the
// [pop]>>> prompt and by `agent ... CMD`. Pure: words in, a POP3 line out; a response in, text or
// JSON out (the drivers in client.cpp and interactive.cpp only send the line and read the answer).
#pragma once

#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mime/stream.hpp"
#include "pop3/client.hpp"
#include "util/result.hpp"

namespace agent {

class MessageReader;

/// A command's checked arguments: what to send, and how to show the answer.
struct PopRequest {
  std::string line;      // the POP3 command ("RETR 2"); empty when nothing is sent (help)
  bool single = false;   // LIST/UIDL N: the answer is on the status line
  bool raw = false;      // retr --raw
  std::string save_dir;  // retr --save-attachments DIR
  std::shared_ptr<MessageReader> reader;  // retr: the body lines go here as they arrive, not into Response::lines
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

/// A RETR answer read as it arrives (issue 15): the message is split on the way (mime::StreamSplitter)
/// and its base64 attachments are decoded straight into hidden files in the save folder (or only
/// counted without one), so only the rest of the message is held. show() names the files as
/// show_message does; whatever it did not name is removed.
class MessageReader : public mail::mime::SplitSink {
 public:
  explicit MessageReader(std::string save_dir) : save_dir_(std::move(save_dir)) {}
  ~MessageReader() override;
  MessageReader(const MessageReader&) = delete;
  MessageReader& operator=(const MessageReader&) = delete;
  /// One body line of the response (dot-unstuffed, without its CRLF).
  void line(std::string_view text);
  /// Renders the message: headers (Subject decoded), text, attachments, saved to the save folder under
  /// safe names that do not collide. Returns the JSON form too.
  nlohmann::json show(std::ostream& out, bool print);

  void kept(std::string_view text) override { skeleton_.append(text); }
  void attachment(const mail::mime::Diverted& d) override;
  void attachment_data(std::string_view bytes) override;

 private:
  std::string save_dir_;
  std::string skeleton_;
  mail::mime::StreamSplitter splitter_{*this};
  void close_file();
  int fd_ = -1;                     // the hidden file of the body being diverted
  std::vector<std::string> files_;  // per diverted body: its hidden file ("" when only counted, or once named)
  bool write_failed_ = false;
};

/// "agent: <what>" on `err`.
void complain(const std::string& what, std::ostream& err = std::cerr);

}  // namespace agent
