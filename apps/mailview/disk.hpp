// What mailview reads from the servers' state folders on request, without changing anything
// (docs/view.md): mailboxes (lib/store's Maildir listing), messages (lib/mime's parse: headers, MIME
// tree, text, attachments), queue entries (lib/store's envelopes). Names from requests are checked
// against the config (servers, accounts) and Maildir file names, so no request leaves a data folder.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "mime/message.hpp"
#include "parties.hpp"

namespace mailview {

class Disk {
 public:
  Disk(const mail::config::Config& cfg, const std::vector<ServerInfo>& servers);

  nlohmann::json mailboxes() const;
  /// null when the server or account is not in the config.
  nlohmann::json mailbox(const std::string& server, const std::string& account) const;
  /// The raw file of a message (bounded by kMaxMessage), or nullopt.
  std::optional<std::string> raw(const std::string& server, const std::string& account, const std::string& file) const;
  nlohmann::json message(const std::string& server, const std::string& account, const std::string& file) const;
  struct Download {
    std::string filename, type, data;
  };
  std::optional<Download> part(const std::string& server, const std::string& account, const std::string& file,
                               const std::string& part) const;
  nlohmann::json queue() const;
  /// The entries in a server's queue (for /api/world).
  std::size_t queue_size(const std::string& server) const;

  static constexpr std::size_t kMaxMessage = 64u << 20;

 private:
  struct Box {
    std::string server, account, maildir;
  };
  std::optional<Box> box(const std::string& server, const std::string& account) const;

  std::vector<Box> boxes_;
  std::vector<std::pair<std::string, std::string>> queues_;  // server -> queue folder
};

/// A time as the API writes it: "2026-12-01T10:00:00Z" ("" for 0).
std::string iso_time(std::time_t t);
/// The MIME tree as nested JSON from lib/mime's pre-order list of parts.
nlohmann::json mime_tree(const std::vector<mail::mime::Part>& parts);

}  // namespace mailview
