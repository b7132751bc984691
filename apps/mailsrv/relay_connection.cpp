#include "relay_connection.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include "dns/answer.hpp"
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

// The names or addresses a lookup found, as text.
template <class T, class F>
Result<std::vector<std::string>> as_text(const Result<std::vector<T>>& r, F text) {
  if (!r) return r.error();
  std::vector<std::string> out;
  for (const auto& v : *r) out.push_back(text(v));
  return out;
}

asio::awaitable<queue::Route> route(net::Resolver& resolver, const std::string& domain) {
  auto mx = co_await resolver.mx(domain);
  auto hosts = queue::mail_hosts(domain, as_text(mx, [](const dns::MxRecord& m) { return m.exchange.to_text(); }));
  if (hosts.failure) co_return queue::Route{{}, hosts.failure};
  std::vector<queue::HostLookup> found;
  for (const auto& host : hosts.names) {
    auto port = co_await resolver.port(host);
    auto addrs = co_await resolver.addresses(host);
    found.push_back({host, std::move(port), as_text(addrs, [](const dns::Ipv4& a) { return dns::to_string(a); })});
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

// Every message of the attempt the core still wants sent, over one connection to `t`.
asio::awaitable<void> over(AttemptContext& x, const queue::Connect& c, const queue::Target& t) {
  net::ConnOptions opts{4096, kSmtpTimeout};
  auto conn = co_await net::Conn::connect(t.ip, t.port, opts, "relay", queue::source_address(x.svc.settings.listen, t.ip));
  if (!conn) {
    x.core.host_failed(c.attempt, queue::connect_failed(t, conn.error().detail));
    co_return;
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
    for (const auto& res : cs.results())
      x.core.result(c.attempt, id, res.address, smtp::outcome_of(res, t.name(), tls), now());
    co_await x.perform(x.core.message_done(c.attempt, id, now()));
  }
  co_await conn->write(cs.quit());
}

}  // namespace

asio::awaitable<void> run_attempt(AttemptContext& x, const queue::Connect& c) {
  auto r = co_await route(x.resolver, c.domain);
  if (r.failure) x.core.route_failed(c.attempt, std::move(*r.failure));
  else x.core.route_found(c.attempt, std::move(r.targets));
  while (!x.stopping) {
    auto t = x.core.next_host(c.attempt, now());
    if (!t) break;
    co_await over(x, c, *t);
  }
}

}  // namespace mailsrv
