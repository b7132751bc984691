#include "relay_connection.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include "dns/answer.hpp"
#include "net/event_feed.hpp"
#include "net/smtp_client.hpp"
#include "relay_pool.hpp"
#include "services.hpp"
#include "store/maildrop.hpp"
#include "stream.hpp"
#include "util/log.hpp"

namespace mailsrv {

using namespace mail;

namespace {

constexpr std::chrono::seconds kSmtpTimeout{60};

std::time_t now() { return std::time(nullptr); }

std::string iso_time(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The names or addresses a lookup found, as text.
template <class T, class F>
Result<std::vector<std::string>> as_text(const Result<std::vector<T>>& r, F text) {
  if (!r) return r.error();
  std::vector<std::string> out;
  for (const auto& v : *r) out.push_back(text(v));
  return out;
}

// The event feed's `lookup` events of one attempt (docs/reference.md "Event feed"): its sid (the
// attempt's, which its first connection takes), queue ids and DNS server.
struct Lookups {
  std::string sid, ids, server;

  void emit(const std::string& name, const char* type, const Result<std::vector<std::string>>& found) const {
    std::string answer, rcode = "NOERROR";
    if (!found) rcode = found.error().code == Errc::not_found ? "NXDOMAIN" : found.error().detail;
    else
      for (const auto& a : *found) answer += (answer.empty() ? "" : ",") + a;
    net::feed::emit("lookup", {{"sid", sid}, {"id", ids}, {"name", name}, {"type", type}, {"server", server},
                               {"answer", answer}, {"rcode", rcode}});
  }
};

asio::awaitable<queue::Route> route(net::Resolver& resolver, const std::string& domain, const Lookups& feed) {
  auto mx = co_await resolver.mx(domain);
  auto mx_text = as_text(mx, [](const dns::MxRecord& m) { return m.exchange.to_text(); });
  if (net::feed::on())
    feed.emit(domain, "MX", as_text(mx, [](const dns::MxRecord& m) { return std::to_string(m.preference) + " " + m.exchange.to_text(); }));
  auto hosts = queue::mail_hosts(domain, mx_text);
  if (hosts.failure) co_return queue::Route{{}, hosts.failure};
  std::vector<queue::HostLookup> found;
  for (const auto& host : hosts.names) {
    auto port = co_await resolver.port(host);
    auto addrs = co_await resolver.addresses(host);
    auto addr_text = as_text(addrs, [](const dns::Ipv4& a) { return dns::to_string(a); });
    if (net::feed::on()) {
      Result<std::vector<std::string>> port_text = std::vector<std::string>{};
      if (!port) port_text = port.error();
      else if (*port) port_text->push_back(std::to_string(**port));
      feed.emit(host, "P", port_text);
      feed.emit(host, "A", addr_text);
    }
    found.push_back({host, std::move(port), std::move(addr_text)});
  }
  co_return queue::route_of(domain, found);
}

asio::awaitable<bool> send_file(net::Conn& conn, std::filesystem::path eml, std::string& out) {
  int fd = ::open(eml.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) co_return false;
  util::DotStuffer stuffer;
  bool ok = co_await stream_message(conn, fd, stuffer, out);
  ::close(fd);
  co_return ok;
}

// One message over an open session. False when the connection broke.
asio::awaitable<bool> send(net::Conn& conn, smtp::ClientSession& cs, smtp::ReplyParser& parser, const store::Layout& layout,
                           const queue::Send& s) {
  auto eml = layout.queue() / (s.id + ".eml");
  auto size = store::crlf_size(eml);
  smtp::Outgoing m{s.sender, s.recipients, size ? *size : 0, s.eight_bit};
  auto body = [&conn, eml](std::string& out) -> asio::awaitable<bool> { return send_file(conn, eml, out); };
  co_return co_await net::smtp_send(conn, cs, parser, std::move(m), body);
}

// [tls] relay on a greeted session: the protection to log, or nullopt when the host is given up.
asio::awaitable<std::optional<std::string>> secure(AttemptContext& x, net::Conn& conn, smtp::ClientSession& cs,
                                                   smtp::ReplyParser& parser, queue::AttemptId a, const queue::Target& t) {
  const auto mode = x.svc.settings.tls.relay;
  auto plan = queue::plan_tls(mode, t, cs.offers_starttls(), x.svc.tls_client != nullptr);
  if (plan.step == queue::TlsStep::give_up) {
    x.core.host_failed(a, std::move(plan.why));
    co_return std::nullopt;
  }
  if (plan.step == queue::TlsStep::clear) co_return std::string("none");
  auto tls = co_await net::smtp_starttls(conn, cs, parser, *x.svc.tls_client, t.host);
  bool verified = tls.has_value() && conn.peer_verified();
  if (auto why = queue::check_tls(mode, t, tls, verified)) {
    x.core.tls_failed(a, t, std::move(*why), now());
    co_return std::nullopt;
  }
  co_return conn.tls_description() + (verified ? " verified" : " unverified");
}

// The event feed's `attempt` event of one recipient's reply (docs/reference.md "Event feed").
void attempt_event(AttemptContext& x, const std::string& sid, const std::string& id, const smtp::RecipientResult& res) {
  const char* result = res.reply.code >= 200 && res.reply.code < 300 ? "delivered"
                       : res.reply.code >= 500 && res.reply.code < 600 ? "bounced" : "deferred";
  std::string next, attempts;
  if (const auto* env = x.core.envelope(id))
    for (const auto& r : env->recipients)
      if (r.address == res.address && std::string_view(result) == "deferred") {
        next = iso_time(r.next_try);
        attempts = std::to_string(r.attempts);
      }
  net::feed::emit("attempt", {{"sid", sid}, {"id", id}, {"to", res.address}, {"result", result},
                              {"reply", std::to_string(res.reply.code) + " " + res.reply.text()}, {"next", next},
                              {"attempts", attempts}});
}

// The feed's `open` of a relay session: when it connects, and again (`reused`) when an attempt takes
// it from the pool, with the queue ids this attempt may carry.
void open_event(const queue::Connect& c, const queue::Target& t, const RelaySession& s) {
  std::string ids;
  for (const auto& id : c.ids) ids += (ids.empty() ? "" : ",") + id;
  std::vector<log::Field> f{{"sid", s.conn.log().sid()}, {"proto", "relay"}, {"side", "client"},
                            {"local", s.conn.local()}, {"peer", s.conn.peer()}, {"host", t.host},
                            {"domain", c.domain}, {"id", ids}};
  if (s.reused > 0) f.push_back({"reused", std::to_string(s.reused)});
  net::feed::emit("open", f);
}

// An idle session to `key` from the pool that still answers RSET. One the server closed meanwhile
// (its idle timeout, a restart: EOF, 421) is dropped here and costs nothing: no host failed, no
// message was sent over it.
asio::awaitable<std::unique_ptr<RelaySession>> reuse(AttemptContext& x, const queue::CacheKey& key, const queue::Target& t) {
  while (auto s = x.pool.take(key)) {
    auto alive = co_await net::smtp_reset(s->conn, s->cs, s->parser);
    if (alive) {
      ++s->reused;
      co_return s;
    }
    log::info("relay", "cache_stale", {{"host", t.host}, {"addr", t.ip + ":" + std::to_string(t.port)}, {"why", alive.error().detail}});
  }
  co_return nullptr;
}

// A new session to `t`: connect, greeting, EHLO, STARTTLS as [tls] relay says. Null when the host is
// given up (the core was told why).
asio::awaitable<std::unique_ptr<RelaySession>> open(AttemptContext& x, const queue::Connect& c, const queue::Target& t,
                                                    const std::string& source, std::string sid) {
  net::ConnOptions opts{4096, kSmtpTimeout};
  auto conn = co_await net::Conn::connect(t.ip, t.port, opts, "relay", source, std::move(sid));
  if (!conn) {
    x.core.host_failed(c.attempt, queue::connect_failed(t, conn.error().detail));
    co_return nullptr;
  }
  auto s = std::make_unique<RelaySession>(std::move(*conn), smtp::ClientSession(x.svc.settings.name, "host " + t.name()));
  if (net::feed::on()) {
    s->closed.arm(s->conn.log().sid());
    open_event(c, t, *s);
  }
  if (!co_await net::smtp_hello(s->conn, s->cs, s->parser)) {
    x.core.host_failed(c.attempt, queue::greeting_failed(t, s->cs.failure()));
    co_return nullptr;  // the next MX host
  }
  auto protection = co_await secure(x, s->conn, s->cs, s->parser, c.attempt, t);
  if (!protection) co_return nullptr;
  s->protection = std::move(*protection);
  co_return s;
}

// Every message of the attempt the core still wants sent, over one connection to `t`: an idle one
// from the pool, else a new one. `sid`: the session id a new connection takes (the attempt's, for
// its first connection), else a new one.
asio::awaitable<void> over(AttemptContext& x, const queue::Connect& c, const queue::Target& t, std::string sid) {
  const queue::CacheKey key{t.ip, t.port, x.svc.settings.tls.relay != config::RelayTls::off && !t.plain,
                            queue::source_address(x.svc.settings.listen, t.ip)};
  auto s = co_await reuse(x, key, t);
  if (s && net::feed::on()) open_event(c, t, *s);
  if (!s) s = co_await open(x, c, t, key.source, std::move(sid));
  if (!s) co_return;
  auto& conn = s->conn;
  log::info("relay", "connected", {{"domain", c.domain}, {"host", t.host}, {"addr", t.ip + ":" + std::to_string(t.port)},
                                   {"pipelining", s->cs.pipelining() ? "yes" : "no"}, {"tls", s->protection},
                                   {"tls_resumed", conn.tls_resumed() ? "yes" : "no"}, {"reused", s->reused}});
  bool reusable = true;
  for (const auto& id : c.ids) {
    if (x.stopping) break;
    auto turn = x.core.message(c.attempt, id, now());
    if (!turn.effects.empty()) co_await x.perform(std::move(turn.effects));
    if (!turn.send) continue;
    if (!co_await send(conn, s->cs, s->parser, *x.svc.layout, *turn.send)) {
      x.core.host_failed(c.attempt, queue::connection_lost(t));
      co_return;  // this message's outcome is unknown: it is retried (at most these recipients twice)
    }
    std::string tls = conn.tls_active() ? conn.tls_description() : "none";
    for (const auto& res : s->cs.results()) {
      reusable = reusable && queue::reusable_after(res.reply);
      x.core.result(c.attempt, id, res.address, smtp::outcome_of(res, t.name(), tls), now());
      // After the core recorded it (a deferred one's next try is set), before the bounce it may bring.
      if (net::feed::on()) attempt_event(x, conn.log().sid(), id, res);
    }
    co_await x.perform(x.core.message_done(c.attempt, id, now()));
  }
  if (reusable && !x.stopping) co_return x.pool.park(key, std::move(s));
  const std::string quit = s->cs.quit();
  if (net::feed::on()) net::feed::emit_lines("c", conn.log().sid(), quit);
  co_await conn.write(quit);
}

}  // namespace

asio::awaitable<void> run_attempt(AttemptContext& x, const queue::Connect& c) {
  Lookups lookups;
  if (net::feed::on()) {
    lookups = {net::feed::next_sid(), {}, x.svc.dns_server};
    for (const auto& id : c.ids) lookups.ids += (lookups.ids.empty() ? "" : ",") + id;
  }
  auto r = co_await route(x.resolver, c.domain, lookups);
  if (r.failure) x.core.route_failed(c.attempt, std::move(*r.failure));
  else x.core.route_found(c.attempt, std::move(r.targets));
  std::string sid = lookups.sid;  // the first connection's; later ones get their own
  while (!x.stopping) {
    auto t = x.core.next_host(c.attempt, now());
    if (!t) break;
    co_await over(x, c, *t, std::exchange(sid, {}));
  }
}

}  // namespace mailsrv
