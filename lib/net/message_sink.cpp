#include "net/message_sink.hpp"

#include <ctime>
#include <optional>

#include "smtp/trace.hpp"

namespace mail::net {

namespace {

class StoreMessage final : public MessageSink::Message {
 public:
  StoreMessage(Store& store, const StoreSink::Options& options, const log::Context& log, store::Delivery delivery)
      : store_(&store),
        options_(&options),
        log_(&log),
        id_(delivery.info().id),
        unique_(delivery.info().unique),
        delivery_(std::move(delivery)) {}

  const std::string& id() const noexcept override { return id_; }
  const std::string& unique() const noexcept override { return unique_; }

  void write_line(std::string_view text) override {
    if (error_ || !delivery_) return;
    if (auto r = delivery_->write_line(text); !r) error_ = r.error();
  }

  void write_piece(std::string_view text) override {
    if (error_ || !delivery_) return;
    if (auto r = delivery_->write_piece(text); !r) error_ = r.error();
  }

  asio::awaitable<Result<std::string>> finish(bool body_8bit) override {
    if (error_) co_return *error_;  // the staged copies go with the message
    if (!delivery_) co_return fail(Errc::invalid, "message " + id_ + " finished twice");
    store::Delivery d = std::move(*delivery_);
    d.set_body_8bit(body_8bit);
    delivery_.reset();
    auto stored = co_await store_->commit(std::move(d));
    if (!stored) co_return std::move(stored).error();
    if (options_->stored) options_->stored(*stored, *log_);
    if (stored->queued && options_->queued) options_->queued(std::move(*stored->queued));
    co_return id_;
  }

 private:
  Store* store_;
  const StoreSink::Options* options_;
  const log::Context* log_;
  std::string id_;
  std::string unique_;
  std::optional<store::Delivery> delivery_;
  std::optional<Error> error_;
};

}  // namespace

Result<std::unique_ptr<MessageSink::Message>> StoreSink::open(const smtp::Envelope& env, std::string_view peer_ip,
                                                               const log::Context& log) {
  store::MessageInfo info;
  info.id = options_.next_id();
  info.unique = options_.next_unique();
  info.sender = env.sender;
  info.helo = env.helo;
  info.local = env.local;
  info.remote = env.remote;
  info.when = std::time(nullptr);
  // RFC 5321 4.4: a FOR clause holds exactly one path, so it is left out for several recipients.
  std::string for_address;
  if (env.recipients() == 1) for_address = env.local.empty() ? env.remote.front() : env.local.front();
  info.received_header = smtp::received_header(
      smtp::TraceInfo{env.helo, std::string(peer_ip), options_.server_name, env.esmtp, info.id, for_address, info.when,
                      env.tls, env.authenticated});
  auto delivery = store_->begin(std::move(info));
  if (!delivery) return std::move(delivery).error();
  return std::unique_ptr<Message>(std::make_unique<StoreMessage>(*store_, options_, log, std::move(*delivery)));
}

}  // namespace mail::net
