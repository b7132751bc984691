#include "relay_connection.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include "dns/answer.hpp"
#include "net/event_feed.hpp"
#include "net/smtp_client.hpp"
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

// Every message of the attempt the core still wants sent, over one connection to `t`. `sid`: the
// session id to take (the attempt's, for its first connection), else a new one.
asio::awaitable<void> over(AttemptContext& x, const queue::Connect& c, const queue::Target& t, std::string sid) {
  net::ConnOptions opts{4096, kSmtpTimeout};
  auto conn = co_await net::Conn::connect(t.ip, t.port, opts, "relay", queue::source_address(x.svc.settings.listen, t.ip),
                                          std::move(sid));
  if (!conn) {
    x.core.host_failed(c.attempt, queue::connect_failed(t, conn.error().detail));
    co_return;
  }
  net::feed::CloseOnExit closed_event;
  if (net::feed::on()) {
    closed_event.arm(conn->log().sid());
    std::string ids;
    for (const auto& id : c.ids) ids += (ids.empty() ? "" : ",") + id;
    net::feed::emit("open", {{"sid", conn->log().sid()}, {"proto", "relay"}, {"side", "client"}, {"local", conn->local()},
                             {"peer", conn->peer()}, {"host", t.host}, {"domain", c.domain}, {"id", ids}});
  }
  smtp::ClientSession cs(x.svc.settings.name, "host " + t.name());
  smtp::ReplyParser parser;
  if (!co_await net::smtp_hello(*conn, cs, parser)) {
    x.core.host_failed(c.attempt, queue::greeting_failed(t, cs.failure()));
    co_return;  // the next MX host
  }
  auto protection = co_await secure(x, *conn, cs, parser, c.attempt, t);
  if (!protection) co_return;
  log::info("relay", "connected", {{"domain", c.domain}, {"host", t.host}, {"addr", t.ip + ":" + std::to_string(t.port)},
                                   {"pipelining", cs.pipelining() ? "yes" : "no"}, {"tls", *protection}});
  for (const auto& id : c.ids) {
    if (x.stopping) break;
    auto turn = x.core.message(c.attempt, id, now());
    if (!turn.effects.empty()) co_await x.perform(std::move(turn.effects));
    if (!turn.send) continue;
    if (!co_await send(*conn, cs, parser, *x.svc.layout, *turn.send)) {
      x.core.host_failed(c.attempt, queue::connection_lost(t));
      co_return;  // this message's outcome is unknown: it is retried (at most these recipients twice)
    }
    std::string tls = conn->tls_active() ? conn->tls_description() : "none";
    for (const auto& res : cs.results()) {
      x.core.result(c.attempt, id, res.address, smtp::outcome_of(res, t.name(), tls), now());
      // After the core recorded it (a deferred one's next try is set), before the bounce it may bring.
      if (net::feed::on()) attempt_event(x, conn->log().sid(), id, res);
    }
    co_await x.perform(x.core.message_done(c.attempt, id, now()));
  }
  const std::string quit = cs.quit();
  if (net::feed::on()) net::feed::emit_lines("c", conn->log().sid(), quit);
  co_await conn->write(quit);
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
