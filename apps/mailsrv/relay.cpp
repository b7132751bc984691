#include "relay.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "dns/answer.hpp"
#include "net/async_commit.hpp"
#include "net/smtp_client.hpp"
#include "services.hpp"
#include "smtp/client_session.hpp"
#include "smtp/command.hpp"
#include "smtp/dsn.hpp"
#include "smtp/trace.hpp"
#include "store/delivery.hpp"
#include "store/maildrop.hpp"
#include "store/queue.hpp"
#include "stream.hpp"
#include "util/address.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace mailsrv {

using namespace mail;
using store::RcptState;

namespace {

constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr int kMaxHops = 25;  // Received fields before a message is taken to loop (RFC 5321 6.3)
constexpr std::chrono::seconds kSmtpTimeout{60};
constexpr int kConnectionsPerDomain = 20;  // like Postfix's default destination concurrency

struct Target {
  std::string host;
  std::string ip;
  std::uint16_t port;
};

struct Route {
  std::vector<Target> targets;
  bool permanent = false;  // no use trying again (NXDOMAIN, nothing resolves)
  std::string why;         // for the log and the bounce
};

std::string lower_domain(std::string_view address) { return util::canonical_domain(smtp::domain_of(address)); }

}  // namespace

struct Relay::Impl : std::enable_shared_from_this<Impl> {
  struct Entry {
    explicit Entry(store::QueueEnvelope e) : env(std::move(e)) {}
    store::QueueEnvelope env;
    std::set<std::string> active_domains;  // deliveries working on it
    bool finishing = false;                // being bounced and removed
    bool unsaved = false;                  // the envelope on disk is older than `env`
    int settle_failures = 0;               // failed saves, bounces or removals in a row
    std::time_t retry_at = 0;              // settled again from then on (after a failure)
  };

  Impl(asio::io_context& i, Services& s, net::Resolver& r) : io(i), svc(s), resolver(r), wake(i) {}

  asio::io_context& io;
  Services& svc;
  net::Resolver& resolver;
  asio::steady_timer wake;
  std::map<std::string, Entry> entries;
  std::map<std::string, int> domain_load;  // deliveries in flight per destination domain
  int inflight = 0;
  bool stopping = false;

  void poke() { wake.cancel(); }

  static void log_crash(const char* event, const std::exception_ptr& ex) {
    if (!ex) return;
    try {
      std::rethrow_exception(ex);
    } catch (const std::exception& e) {
      log::error("relay", event, {{"what", e.what()}});
    }
  }

  // ---- scheduling ------------------------------------------------------------------------------

  // Whether to settle an entry now: nothing left to deliver (or loaded so), or an envelope not saved,
  // once its deliveries are over and the retry time after a failed settle has come.
  bool settle_due(Entry& e, bool pending, std::time_t now, std::time_t& next) {
    if ((pending && !e.unsaved) || !e.active_domains.empty()) return false;
    if (e.retry_at <= now) {
      // Not again before the next try's time, which a failure sets to the same (the settle may run
      // to its end inside co_spawn, before the loop waits).
      e.retry_at = now + store::retry_delay(e.settle_failures + 1, svc.settings.queue).count();
      next = std::min(next, e.retry_at);
      return true;
    }
    next = std::min(next, e.retry_at);
    return false;
  }

  asio::awaitable<void> loop() {
    auto self = shared_from_this();
    while (!stopping) {
      std::time_t now = std::time(nullptr);
      std::time_t next = now + 3600;
      std::map<std::string, std::vector<std::string>> due;  // domain -> entry ids
      std::vector<std::string> unsettled;  // done or unsaved entries whose last settle failed, or loaded so
      for (auto& [id, e] : entries) {
        if (e.finishing) continue;
        bool pending = false;
        for (const auto& r : e.env.recipients) {
          if (r.state != RcptState::pending) continue;
          pending = true;
          auto d = lower_domain(r.address);
          if (e.active_domains.contains(d)) continue;
          if (r.next_try > now) {
            next = std::min(next, r.next_try);
          } else {
            auto& ids = due[d];
            if (ids.empty() || ids.back() != id) ids.push_back(id);
          }
        }
        if (settle_due(e, pending, now, next)) unsettled.push_back(id);
      }
      for (auto& id : unsettled) {
        ++inflight;
        asio::co_spawn(io, resettle(self, std::move(id)), [](const std::exception_ptr& ex) { log_crash("settle_crashed", ex); });
      }
      for (auto& [domain, ids] : due) {
        // Up to kConnectionsPerDomain connections to a destination; each carries several messages.
        int slots = kConnectionsPerDomain - domain_load[domain];
        if (slots <= 0) continue;
        std::size_t groups = std::min<std::size_t>(static_cast<std::size_t>(slots), ids.size());
        std::vector<std::vector<std::string>> split(groups);
        for (std::size_t i = 0; i < ids.size(); ++i) split[i % groups].push_back(ids[i]);
        for (auto& group : split) {
          for (const auto& id : group) entries.at(id).active_domains.insert(domain);
          ++domain_load[domain];
          ++inflight;
          asio::co_spawn(io, deliver(self, domain, std::move(group)),
                         [](const std::exception_ptr& ex) { log_crash("delivery_crashed", ex); });
        }
      }
      wake.expires_after(std::chrono::seconds(std::max<std::time_t>(0, next - now)));
      co_await wake.async_wait(kTuple);
    }
  }

  // ---- routing ---------------------------------------------------------------------------------

  asio::awaitable<Route> route(const std::string& domain) {
    Route out;
    std::vector<std::string> hosts;
    auto mx = co_await resolver.mx(domain);
    if (!mx) {
      out.permanent = mx.error().code == Errc::not_found;
      out.why = out.permanent ? "5.1.2 Host or domain name not found: " + domain + " (NXDOMAIN)"
                              : "4.4.3 Cannot look up " + domain + ": " + mx.error().detail;
      co_return out;
    }
    for (const auto& m : *mx) hosts.push_back(m.exchange.to_text());
    if (hosts.empty()) hosts.push_back(domain);  // no MX: the domain itself (RFC 5321 5.1)
    bool temporary = false;
    std::string last;
    for (const auto& host : hosts) {
      auto port = co_await resolver.port(host);
      auto addrs = co_await resolver.addresses(host);
      if (!port || !addrs) {
        const Error& err = !port ? port.error() : addrs.error();
        if (err.code != Errc::not_found) temporary = true;
        last = host + ": " + err.detail;
        continue;  // this MX host does not resolve: the next one
      }
      for (const auto& a : *addrs) out.targets.push_back({host, dns::to_string(a), port->value_or(25)});
      if (addrs->empty()) last = host + ": no address";
    }
    if (out.targets.empty()) {
      out.permanent = !temporary;
      out.why = (temporary ? "4.4.3 " : "5.1.2 ") + std::string("No mail host of ") + domain + " resolves (" + last + ")";
    }
    co_return out;
  }

  // ---- outcomes --------------------------------------------------------------------------------

  // A temporary failure: try again later, or give up when the message is too old.
  void defer(store::QueuedRecipient& r, const store::QueueEnvelope& env, const std::string& why) {
    std::time_t now = std::time(nullptr);
    ++r.attempts;
    r.last_reply = why;
    if (now - env.received >= svc.settings.queue.lifetime.count()) {
      r.state = RcptState::failed;
      r.last_reply = "4.4.7 Message delivery time exceeded; last error: " + why;
    } else {
      r.next_try = now + store::retry_delay(r.attempts, svc.settings.queue).count();
    }
  }

  void record(const std::string& id, store::QueuedRecipient& r, const store::QueueEnvelope& env, const smtp::Reply& reply,
              const std::string& host, const std::string& tls) {
    std::string text = std::to_string(reply.code) + " " + reply.text();
    if (reply.positive()) {
      r.state = RcptState::delivered;
      r.last_reply = text;
    } else if (reply.permanent()) {
      r.state = RcptState::failed;
      r.last_reply = text;
    } else {
      defer(r, env, text);
    }
    log::info("relay", "recipient", {{"id", id}, {"to", r.address}, {"host", host},
                                     {"result", r.state == RcptState::delivered ? "sent"
                                                : r.state == RcptState::failed  ? "failed"
                                                                                : "deferred"},
                                     {"tls", tls}, {"reply", text}});
  }

  // Writes `env` over the entry's envelope on disk.
  asio::awaitable<Result<void>> save(const store::QueueEnvelope& env) {
    std::optional<store::StagedFile> holder;
    auto job = store::stage_envelope(*svc.layout, env, holder);
    Result<void> done = job ? Result<void>() : Result<void>(job.error());
    if (job) done = co_await net::commit(*svc.committer, std::move(*job));
    if (done) holder->release();
    co_return done;
  }

  // A step of settling failed: the entry stays and is settled again on the queue's schedule.
  void retry_later(Entry& e, const char* event, const std::string& why) {
    auto delay = store::retry_delay(++e.settle_failures, svc.settings.queue);
    e.retry_at = std::time(nullptr) + delay.count();
    log::error("relay", event, {{"id", e.env.id}, {"why", why}, {"retry_in", delay.count()}});
  }

  // After a delivery touched an entry (or when a failed settle is due again): save its state, or
  // finish it when nothing is left. Nothing leaves the queue before its outcome is durable elsewhere:
  // the bounce is stored first, then the entry removed; when either fails the entry stays.
  asio::awaitable<void> settle(std::string id) {
    auto it = entries.find(id);
    if (it == entries.end() || it->second.finishing) co_return;
    Entry& e = it->second;
    bool pending = false;
    for (const auto& r : e.env.recipients) pending = pending || r.state == RcptState::pending;
    if (pending || !e.active_domains.empty()) {
      auto saved = co_await save(e.env);
      e.unsaved = !saved;
      if (saved) e.settle_failures = 0;
      else retry_later(e, "save_failed", saved.error().detail);
      co_return;
    }
    e.finishing = true;
    Result<void> done;
    const char* event = "bounce_failed";
    std::vector<smtp::FailedRecipient> failed;
    for (const auto& r : e.env.recipients)
      if (r.state == RcptState::failed) failed.push_back(failure_of(r));
    if (!failed.empty() && !e.env.bounced) {
      done = co_await bounce(e.env, failed);
      e.env.bounced = done.has_value();
    }
    if (done) {
      done = co_await net::commit(*svc.committer, store::remove_entry_job(*svc.layout, id));
      event = "remove_failed";
    }
    if (done) {
      entries.erase(id);
      co_return;
    }
    retry_later(e, event, done.error().detail);
    // The outcome so far goes to disk too, so that a restart neither delivers nor bounces again.
    if (auto saved = co_await save(e.env); !saved)
      log::error("relay", "save_failed", {{"id", id}, {"why", saved.error().detail}, {"retry_in", e.retry_at - std::time(nullptr)}});
    e.finishing = false;
  }

  static asio::awaitable<void> resettle(std::shared_ptr<Impl> self, std::string id) {
    co_await self->settle(id);
    --self->inflight;
    self->poke();
  }

  static smtp::FailedRecipient failure_of(const store::QueuedRecipient& r) {
    // last_reply: "550 ..." from a server (prefixed with "host|command|"), or our own reason.
    smtp::FailedRecipient f{r.address, {}, r.last_reply, {}};
    auto bar = r.last_reply.find('|');
    auto bar2 = bar == std::string::npos ? std::string::npos : r.last_reply.find('|', bar + 1);
    if (bar2 != std::string::npos) {
      f.remote_mta = r.last_reply.substr(0, bar);
      f.command = r.last_reply.substr(bar + 1, bar2 - bar - 1);
      f.diagnostic = r.last_reply.substr(bar2 + 1);
    }
    return f;
  }

  // Stores the bounce (in the sender's Maildir, or queued for a remote sender).
  asio::awaitable<Result<void>> bounce(const store::QueueEnvelope& env, const std::vector<smtp::FailedRecipient>& failed) {
    if (env.sender.empty()) {  // a bounce is never bounced
      log::warn("relay", "bounce_dropped", {{"id", env.id}, {"why", "null sender"}});
      co_return Result<void>();
    }
    auto headers = store::read_headers(svc.layout->queue() / (env.id + ".eml"));
    std::time_t now = std::time(nullptr);
    smtp::DsnInput in{svc.settings.name, env.sender, env.id, env.received, now, svc.next_id() + ".bounce@" + svc.settings.name,
                      "=_" + svc.next_id(), failed, headers ? *headers : std::string()};
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
    if (!done) co_return done;
    d->committed();
    log::info("relay", "bounced", {{"id", env.id}, {"to", env.sender}, {"bounce_id", info.id}, {"failed", failed.size()}});
    if (!info.remote.empty()) {
      store::QueueEnvelope b{info.id, "", info.helo, now, {{env.sender, RcptState::pending, 0, 0, {}}}};
      entries.emplace(b.id, Entry(std::move(b)));
      poke();
    }
    co_return Result<void>();
  }

  // ---- delivery --------------------------------------------------------------------------------

  static asio::awaitable<bool> send_file(net::Conn& conn, std::filesystem::path eml, std::string& out) {
    int fd = ::open(eml.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) co_return false;
    util::DotStuffer stuffer;
    bool ok = co_await stream_message(conn, fd, stuffer, out);
    ::close(fd);
    co_return ok;
  }

  // Every pending recipient of `domain` in entry `id`.
  std::vector<store::QueuedRecipient*> recipients_of(Entry& e, const std::string& domain) {
    std::vector<store::QueuedRecipient*> out;
    for (auto& r : e.env.recipients)
      if (r.state == RcptState::pending && lower_domain(r.address) == domain) out.push_back(&r);
    return out;
  }

  // One message over an open session. False when the connection broke.
  asio::awaitable<bool> send_one(net::Conn& conn, smtp::ClientSession& cs, smtp::ReplyParser& parser, const std::string& id,
                                 const std::string& domain, const Target& t) {
    Entry& e = entries.at(id);
    auto rcpts = recipients_of(e, domain);
    if (rcpts.empty()) co_return true;
    auto eml = svc.layout->queue() / (id + ".eml");
    auto headers = store::read_headers(eml);
    if (headers && store::count_received(*headers) > kMaxHops) {
      for (auto* r : rcpts) {
        r->state = RcptState::failed;
        r->last_reply = "5.4.6 Too many hops (more than 25 Received fields): mail loop?";
      }
      co_return true;
    }
    auto size = store::crlf_size(eml);
    smtp::Outgoing m{e.env.sender, {}, size ? *size : 0};
    for (auto* r : rcpts) m.recipients.push_back(r->address);
    std::string host = t.host + "[" + t.ip + "]:" + std::to_string(t.port);
    auto body = [&conn, eml](std::string& out) -> asio::awaitable<bool> { return send_file(conn, eml, out); };
    if (!co_await net::smtp_send(conn, cs, parser, std::move(m), body)) co_return false;
    for (const auto& res : cs.results()) {
      for (auto* r : rcpts) {
        if (!util::same_address(r->address, res.address) || r->state != RcptState::pending) continue;
        record(id, *r, e.env, res.reply, host, conn.tls_active() ? conn.tls_description() : "none");
        if (r->state == RcptState::failed && res.reply.permanent())  // for the bounce: "host|command|reply"
          r->last_reply = host + "|" + res.command + "|" + r->last_reply;
      }
    }
    co_return true;
  }

  static asio::awaitable<void> deliver(std::shared_ptr<Impl> self, std::string domain, std::vector<std::string> ids) {
    co_await self->deliver_domain(domain, ids);
    if (--self->domain_load[domain] == 0) self->domain_load.erase(domain);
    for (const auto& id : ids) {
      auto it = self->entries.find(id);
      if (it != self->entries.end() && it->second.active_domains.erase(domain) > 0) co_await self->settle(id);
    }
    --self->inflight;
    self->poke();
  }

  asio::awaitable<void> deliver_domain(const std::string& domain, const std::vector<std::string>& ids) {
    auto r = co_await route(domain);
    std::string last_error = r.why;
    std::set<std::string> done;
    for (const auto& t : r.targets) {
      if (done.size() == ids.size() || stopping) break;
      net::ConnOptions opts{4096, kSmtpTimeout};
      auto conn = co_await net::Conn::connect(t.ip, t.port, opts, "relay");
      if (!conn) {
        last_error = "4.4.1 connect to " + t.host + "[" + t.ip + "]:" + std::to_string(t.port) + ": " + conn.error().detail;
        continue;
      }
      smtp::ClientSession cs(svc.settings.name);
      smtp::ReplyParser parser;
      bool ready = co_await net::smtp_hello(*conn, cs, parser);
      if (!ready) last_error = std::to_string(cs.failure().code) + " " + cs.failure().text() + " (from " + t.host + ")";
      if (!ready) continue;  // the next MX host
      // [tls] relay: may = STARTTLS when offered, logging whether the certificate verified;
      // verify = no delivery without a verified STARTTLS (a temporary failure); off = never.
      const auto mode = svc.settings.tls.relay;
      std::string protection = "none";
      if (mode != config::RelayTls::off && cs.offers_starttls() && svc.tls_client) {
        auto tls = co_await net::smtp_starttls(*conn, cs, parser, *svc.tls_client, t.host);
        if (!tls) {
          last_error = "4.7.5 STARTTLS with " + t.host + " failed: " + tls.error().detail;
          continue;
        }
        bool verified = conn->peer_verified();
        protection = conn->tls_description() + (verified ? " verified" : " unverified");
        if (mode == config::RelayTls::verify && !verified) {
          last_error = "4.7.5 certificate of " + t.host + " could not be verified";
          continue;
        }
      } else if (mode == config::RelayTls::verify) {
        last_error = "4.7.5 " + t.host + " offers no STARTTLS ([tls] relay = verify)";
        continue;
      }
      log::info("relay", "connected", {{"domain", domain}, {"host", t.host}, {"addr", t.ip + ":" + std::to_string(t.port)},
                                       {"pipelining", cs.pipelining() ? "yes" : "no"}, {"tls", protection}});
      bool alive = true;
      for (const auto& id : ids) {
        if (done.contains(id) || !alive || stopping) continue;
        auto it = entries.find(id);
        if (it == entries.end()) continue;
        alive = co_await send_one(*conn, cs, parser, id, domain, t);
        if (!alive) {
          last_error = "4.4.2 connection to " + t.host + " lost";
          break;  // this message's outcome is unknown: it is retried (at most these recipients twice)
        }
        done.insert(id);
        // Each recipient's state goes to disk right after the server's reply: the envelope is
        // rewritten, or (nothing left to do) the entry removed at once.
        entries.at(id).active_domains.erase(domain);
        co_await settle(id);
      }
      if (alive) co_await conn->write(cs.quit());
    }
    // What no server took: temporary (retry) or permanent (bounce).
    for (const auto& id : ids) {
      if (done.contains(id)) continue;
      auto it = entries.find(id);
      if (it == entries.end()) continue;
      for (auto* rcpt : recipients_of(it->second, domain)) {
        if (r.permanent) {
          rcpt->state = RcptState::failed;
          rcpt->last_reply = last_error;
        } else {
          defer(*rcpt, it->second.env, last_error.empty() ? "4.4.1 no mail host answered" : last_error);
        }
        log::info("relay", "recipient", {{"id", id}, {"to", rcpt->address},
                                         {"result", rcpt->state == RcptState::failed ? "failed" : "deferred"},
                                         {"reply", rcpt->last_reply}});
      }
    }
  }
};

Relay::Relay(asio::io_context& io, Services& svc, net::Resolver& resolver)
    : impl_(std::make_shared<Impl>(io, svc, resolver)) {}

Relay::~Relay() { stop(); }

void Relay::start() {
  auto scan = store::scan_queue(*impl_->svc.layout);
  for (const auto& p : scan.problems) log::warn("relay", "queue_recovery", {{"what", p}});
  for (auto& env : scan.envelopes) {
    for (auto& r : env.recipients)
      if (r.state == RcptState::pending) r.next_try = 0;  // at start, everything due is tried at once
    auto id = env.id;
    impl_->entries.emplace(id, Impl::Entry(std::move(env)));
  }
  log::info("relay", "queue_loaded", {{"entries", impl_->entries.size()}});
  asio::co_spawn(impl_->io, impl_->loop(), asio::detached);
}

void Relay::add(store::QueueEnvelope env) {
  auto id = env.id;
  impl_->entries.emplace(id, Impl::Entry(std::move(env)));
  impl_->poke();
}

void Relay::stop() {
  impl_->stopping = true;
  impl_->poke();
}

bool Relay::idle() const noexcept { return impl_->inflight == 0; }

}  // namespace mailsrv
