// One message on its way to disk (docs/reference.md "State on disk"): a single staged copy for all local
// recipients (hard-linked into each Maildir's new/) with Return-Path, and a queue copy for remote
// recipients (without Return-Path) beside its JSON envelope. seal() hands the copies to a Commit
// that owns them (net::Store::commit awaits it in one call).
#pragma once

#include <ctime>
#include <filesystem>
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
  bool body_8bit = false;           // the content has octets above 127 (QueueEnvelope::body_8bit)
};

/// What a committed message became.
struct Stored {
  std::string id;                                    // the queue id
  std::vector<std::filesystem::path> mailbox_files;  // its file in each local recipient's new/
  std::filesystem::path queue_file;                  // queue/<id>.eml; empty without remote recipients
  std::optional<QueueEnvelope> queued;               // the envelope beside it (queue/<id>.json)
  std::uint64_t size = 0;                            // of the mailbox copy (or the queue copy)
};

/// A message ready to be made durable: the job (owning the staged copies) and what it will become.
struct Sealed {
  Commit job;
  Stored stored;
};

class Delivery {
 public:
  /// Opens the staged copies and writes the trace fields.
  static Result<Delivery> begin(const Layout& layout, MessageInfo info);

  /// One line of the message (without its ending), to every copy.
  Result<void> write_line(std::string_view text);
  /// A piece of a long line (no LF in it): the line goes on.
  Result<void> write_piece(std::string_view text);
  /// Flushes the copies and hands them to a job that owns them: the Delivery is used up. Dropping the
  /// job (or a failed one) removes them; a Delivery dropped before seal() removes them too.
  Result<Sealed> seal() &&;

  /// Flushes the copies and describes how to make them durable; the Delivery must stay alive until
  /// the job is done (the job refers to its open files). Only for the unit tests that run a job's steps
  /// themselves (Committer::run_batch with a faulty Fs); the program seals.
  Result<CommitJob> finish();
  /// After finish()'s job succeeded: the files now live in new/ and queue/. For those tests too.
  void committed();

  const MessageInfo& info() const noexcept { return info_; }
  /// Known at the end of the content: the queue envelope's body_8bit.
  void set_body_8bit(bool b) noexcept { info_.body_8bit = b; }
  /// Size of the mailbox copy (or the queue copy when there is none).
  std::uint64_t size() const noexcept;

 private:
  Delivery(const Layout& layout, MessageInfo info) : layout_(&layout), info_(std::move(info)) {}
  /// The steps that place the copies (and the queue envelope, written here), with or without the
  /// descriptors to sync; fills `stored`.
  Result<void> plan(CommitJob& job, bool with_fds, Stored& stored);

  const Layout* layout_;
  MessageInfo info_;
  std::optional<StagedFile> mailbox_;  // in the first local recipient's tmp/
  std::optional<StagedFile> queue_;    // in queue/tmp/
  std::optional<StagedFile> envelope_;
};

}  // namespace mail::store
