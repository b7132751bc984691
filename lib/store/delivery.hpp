// One message on its way to disk (docs/reference.md "State on disk"): a single staged copy for all local
// recipients (hard-linked into each Maildir's new/) with Return-Path, and a queue copy for remote
// recipients (without Return-Path) beside its JSON envelope. finish() turns it into a CommitJob.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "store/committer.hpp"
#include "store/envelope.hpp"
#include "store/layout.hpp"
#include "store/staged_file.hpp"

namespace mail::store {

struct MessageInfo {
  std::string id;                   // queue id, also in Received
  std::string unique;               // Maildir unique name (without sizes)
  std::string sender;               // "" for <>
  std::string helo;
  std::vector<std::string> local;   // accounts
  std::vector<std::string> remote;  // relay recipients
  std::string received_header;      // the Received field, LF line ends
  std::time_t when = 0;
};

class Delivery {
 public:
  /// Opens the staged copies and writes the trace fields.
  static Result<Delivery> begin(const Layout& layout, MessageInfo info);

  /// One line of the message (without its ending), to every copy.
  Result<void> write_line(std::string_view text);
  /// A piece of a long line (no LF in it): the line goes on.
  Result<void> write_piece(std::string_view text);
  /// Flushes the copies and describes how to make them durable. The Delivery must stay alive until
  /// the job is done (the job refers to its open files).
  Result<CommitJob> finish();
  /// After the job succeeded: the files now live in new/ and queue/.
  void committed();

  const MessageInfo& info() const noexcept { return info_; }
  /// Size of the mailbox copy (or the queue copy when there is none).
  std::uint64_t size() const noexcept;

 private:
  Delivery(const Layout& layout, MessageInfo info) : layout_(&layout), info_(std::move(info)) {}
  const Layout* layout_;
  MessageInfo info_;
  std::optional<StagedFile> mailbox_;  // in the first local recipient's tmp/
  std::optional<StagedFile> queue_;    // in queue/tmp/
  std::optional<StagedFile> envelope_;
};

}  // namespace mail::store
