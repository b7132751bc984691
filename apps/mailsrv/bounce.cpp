#include "bounce.hpp"

#include <ctime>

#include "net/async_commit.hpp"
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
  info.sender = "";
  info.helo = svc.settings.name;
  info.when = now;
  if (auto local = svc.accounts->account(env.sender)) info.local.push_back(*local);
  else info.remote.push_back(env.sender);
  info.received_header = smtp::local_received_header(svc.settings.name, info.id, now);
  auto d = store::Delivery::begin(*svc.layout, info);
  Result<void> done = d ? Result<void>() : Result<void>(d.error());
  for (std::size_t pos = 0; done && pos < text.size();) {
    auto end = text.find('\n', pos);
    done = d->write_line(std::string_view(text).substr(pos, end - pos));
    pos = end + 1;
  }
  if (done) {
    auto job = d->finish();
    if (job) done = co_await net::commit(*svc.committer, std::move(*job));
    else done = job.error();
  }
  if (!done) co_return done.error();
  d->committed();
  log::info("relay", "bounced", {{"id", env.id}, {"to", env.sender}, {"bounce_id", info.id}, {"failed", b.failed.size()}});
  std::optional<store::QueueEnvelope> queued;
  if (!info.remote.empty())
    queued = store::QueueEnvelope{info.id, "", info.helo, now, {{env.sender, store::RcptState::pending, 0, 0, {}}}};
  co_return queued;
}

}  // namespace mailsrv
