// The agent as a test driver (docs/reference.md "agent": wait, expect-bounce): their arguments, what one
// look at the mailbox means, and how the outcome prints. Pure: the driver (watch_session.cpp) opens a
// POP3 session per look, sends the lines and sleeps between looks; nothing here deletes mail.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "mime/report.hpp"

namespace agent {

/// Between two looks at the mailbox: short, so a test waits little, and bounded, so a waiting agent
/// costs the server five POP3 sessions a second at most.
constexpr std::chrono::milliseconds kPollInterval{200};

struct WatchRequest {
  enum class Kind { wait, expect_bounce } kind = Kind::wait;
  std::uint64_t count = 0;          // wait: at least this many messages
  std::string address;              // expect-bounce: the failed recipient
  std::chrono::seconds timeout{30};
};

/// Is `name` one of the watch commands (wait, expect-bounce)?
bool is_watch_command(std::string_view name);
/// The command's words (args[0] is its name); nullopt when they do not fit watch_usage().
std::optional<WatchRequest> parse_watch(const std::vector<std::string>& args);
std::string watch_usage(std::string_view name);

/// The message count of a STAT answer ("+OK 2 320"); 0 when it has none.
std::uint64_t stat_count(const mail::pop3::Response& r);
/// The message numbers of a UIDL listing ("1 uid") whose UIDs are not in `seen`, in order; their UIDs
/// are added to `seen`, so each message is read once however many looks it takes.
std::vector<std::string> unseen_messages(const std::vector<std::string>& uidl_lines, std::vector<std::string>& seen);
/// The failed-recipient group for `address` in a retrieved message; nullopt when it is no such bounce.
std::optional<mail::mime::RecipientStatus> bounce_for(const std::string& raw, std::string_view address);

/// Is a refused login (`why` holds the server's -ERR line) temporary, so the next look may get in:
/// `[IN-USE]` (another client holds the maildrop) or `[SYS/TEMP]` (RFC 2449 8, RFC 3206)?
bool refusal_is_temporary(std::string_view why);

/// Prints the group found: Recipient, Action, Status, Remote MTA, Diagnostic lines (or one JSON object).
void show_bounce(const mail::mime::RecipientStatus& r, const View& v);
/// The one line after the timeout: "wait: timed out after 5 s: ..." (`why` says what was last seen).
std::string timeout_message(const WatchRequest& req, const std::string& why);

}  // namespace agent
