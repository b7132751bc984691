// Where the SMTP driver puts a message (docs/architecture.md "A message, from the socket to fsync"):
// it opens one for the envelope the core accepted, streams the content into it, and finishes it
// (durable, answered with the queue id) or drops it (nothing stays). Delivery, Committer and relay
// stay behind this seam, so a test can drive the SMTP core with a fake sink.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>

#include "net/store.hpp"
#include "smtp/server_session.hpp"
#include "util/log.hpp"

namespace mail::net {

class MessageSink {
 public:
  class Message {
   public:
    virtual ~Message() = default;  // an unfinished message is abandoned: its staged copies go
    /// The queue id (in the Received field and the logs).
    virtual const std::string& id() const noexcept = 0;
    /// The Maildir unique name of its local copies (the event feed's `files`).
    virtual const std::string& unique() const noexcept = 0;
    /// A line of the content without its ending; a piece of a long line (no LF in it). The first
    /// write error is kept for finish(); later writes do nothing.
    virtual void write_line(std::string_view text) = 0;
    virtual void write_piece(std::string_view text) = 0;
    /// Makes the message durable (its remote recipients then go to the relay): the queue id, or why
    /// not (then nothing of it stays). Once. `body_8bit`: the content has octets above 127 (the
    /// queue envelope's "body", for the relay's BODY=8BITMIME).
    virtual asio::awaitable<Result<std::string>> finish(bool body_8bit) = 0;
  };

  virtual ~MessageSink() = default;
  /// A message for `env`, received from `peer_ip` (for its Received field), in the session that
  /// logs through `log` (which must outlive the message). An error: nothing could be staged.
  virtual Result<std::unique_ptr<Message>> open(const smtp::Envelope& env, std::string_view peer_ip,
                                                const log::Context& log) = 0;
};

/// The real sink: one staged copy for the local recipients and one for the queue (store::Delivery),
/// made durable through net::Store's group commit, then the queue entry handed on.
class StoreSink final : public MessageSink {
 public:
  struct Options {
    std::string server_name;                   // "by" in the Received field
    std::function<std::string()> next_id;      // queue ids
    std::function<std::string()> next_unique;  // Maildir unique names
    /// Takes each committed queue entry (the relay); may be empty.
    std::function<void(store::QueueEnvelope)> queued;
    /// Sees each committed message first (mailsrv -v logs its attachments); may be empty.
    std::function<void(const store::Stored&, const log::Context&)> stored;
  };

  /// `store` must outlive the sink and its messages.
  StoreSink(Store& store, Options options) : store_(&store), options_(std::move(options)) {}
  Result<std::unique_ptr<Message>> open(const smtp::Envelope& env, std::string_view peer_ip,
                                        const log::Context& log) override;

 private:
  Store* store_;
  Options options_;
};

}  // namespace mail::net
