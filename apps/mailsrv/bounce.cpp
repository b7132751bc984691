#include "bounce.hpp"

#include "net/event_feed.hpp"

#include <ctime>

#include "services.hpp"
#include "smtp/dsn.hpp"
#include "smtp/trace.hpp"
#include "store/delivery.hpp"
#include "store/queue.hpp"
#include "util/log.hpp"

namespace mailsrv {

using namespace mail;

asio::awaitable<Result<std::optional<store::QueueEnvelope>>> store_bounce(Services& svc, const queue::Bounce& b) {
  const auto& env = b.env;
  auto headers = store::read_headers(svc.layout->queue() / (env.id + ".eml"));
  std::time_t now = std::time(nullptr);
  smtp::DsnInput in{svc.settings.name, env.sender, env.id, env.received, now, svc.next_id() + ".bounce@" + svc.settings.name,
                    "=_" + svc.next_id(), b.failed, headers ? *headers : std::string()};
  std::string text = smtp::build_dsn(in);
  store::MessageInfo info;
  info.id = svc.next_id();
  info.unique = svc.next_unique();
  const std::string unique = info.unique;
  info.sender = "";
  info.helo = svc.settings.name;
  info.when = now;
  if (auto local = svc.accounts->account(env.sender)) info.local.push_back(*local);
  else info.remote.push_back(env.sender);
  info.received_header = smtp::local_received_header(svc.settings.name, info.id, now);
  auto d = svc.store->begin(std::move(info));
  if (!d) co_return d.error();
  for (std::size_t pos = 0; pos < text.size();) {
    auto end = text.find('\n', pos);
    if (auto w = d->write_line(std::string_view(text).substr(pos, end - pos)); !w) co_return w.error();
    pos = end + 1;
  }
  auto stored = co_await svc.store->commit(std::move(*d));
  if (!stored) co_return stored.error();
  log::info("relay", "bounced", {{"id", env.id}, {"to", env.sender}, {"bounce_id", stored->id}, {"failed", b.failed.size()}});
  if (net::feed::on() && !stored->queued) {
    // A local sender: the bounce went straight into its Maildir (a remote one's is `queued` by the relay).
    net::feed::emit("bounced", {{"id", env.id}, {"bounce_id", stored->id}, {"to", "<" + env.sender + ">"}});
    net::feed::emit("delivered", {{"id", stored->id}, {"msgid", "<" + in.message_id + ">"}, {"to", env.sender},
                                  {"files", unique}});
  }
  co_return std::move(stored->queued);  // set when the sender is remote: the bounce is queued for it
}

}  // namespace mailsrv
