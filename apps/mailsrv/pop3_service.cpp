// The POP3 side of mailsrv: the listener, and what the shared line-session driver (net::LineSession)
// leaves to POP3: password checks, the maildrop lock, message streaming and the update. Every reply is
// the core's.
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>

#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "net/line_session.hpp"
#include "pop3/server_session.hpp"
#include "login.hpp"
#include "services.hpp"
#include "store/layout.hpp"
#include "store/message_finder.hpp"
#include "stream.hpp"
#include "util/dot_stuffer.hpp"
#include "util/text.hpp"

namespace mailsrv {

using namespace mail;

namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr std::size_t kTrimAfter = 10000;  // messages in a maildrop

// The Maildir unique name in a file name "UNIQUE,S=...:2,S".
std::string_view unique_of(std::string_view name) { return name.substr(0, name.find_first_of(",:")); }

struct Pop3Session : net::LineSession<Pop3Session, pop3::ServerSession> {
  Services& svc;
  std::string account;
  store::MaildropLocks::Guard lock;
  std::optional<store::MessageFinder> finder;  // from login: RETR/TOP find renamed messages

  Pop3Session(net::Conn& c, Services& s, pop3::ServerSession core)
      : LineSession(c, std::move(core),
                    {s.tls_server.get(), s.settings.limits.pop3_idle, s.verbose, kChunk, c.tls_active() ? "pop3s" : "pop3"}),
        svc(s) {}

  static net::StepKind kind(const pop3::Step& step) {
    switch (step.effect) {
      case pop3::Effect::none: return net::StepKind::reply;
      case pop3::Effect::start_tls: return net::StepKind::start_tls;
      case pop3::Effect::close: return net::StepKind::close;
      case pop3::Effect::login:
      case pop3::Effect::send:
      case pop3::Effect::update: break;
    }
    return net::StepKind::perform;
  }

  void write(const pop3::Step& step) { out += step.out; }

  // Login, RETR/TOP, or the update after QUIT (which closes the core: the driver then ends the
  // session). False when the connection failed.
  asio::awaitable<bool> perform(const pop3::Step& step) {
    if (step.effect == pop3::Effect::login) co_await login();
    else if (step.effect == pop3::Effect::send) co_return co_await send(step.out);
    else update();
    co_return true;
  }

  // PASS or AUTH PLAIN: check (a failure waits), lock, list.
  asio::awaitable<void> login() {
    auto login = co_await check_login(svc, conn, core.login_user(), core.login_password());
    const auto& found = login.account;
    if (!found) {
      add(core.on_login(login.refused ? pop3::LoginResult::throttled : pop3::LoginResult::bad_credentials));
      co_return;
    }
    auto guard = svc.maildrop_locks.try_lock(*found);
    if (!guard) {
      conn.log().info("login", {{"user", *found}, {"result", "in_use"}});
      add(core.on_login(pop3::LoginResult::in_use));
      co_return;
    }
    auto listing = store::open_maildrop(svc.layout->maildir(*found));
    if (!listing) {
      conn.log().error("maildrop_failed", {{"user", *found}, {"why", listing.error().detail}});
      add(core.on_login(pop3::LoginResult::failed));
      co_return;
    }
    // Listing a big maildrop took about three times its listing's memory for a moment (the names as
    // strings, their sort keys): hand that back now rather than hold it for the whole session.
    if (listing->size() >= kTrimAfter) ::malloc_trim(0);
    account = *found;
    lock = std::move(guard);
    finder.emplace(svc.layout->maildir(account));
    auto messages = listing->size();
    add(core.on_login(pop3::LoginResult::ok, std::move(*listing)));
    conn.log().debug("maildrop", {{"user", account}, {"messages", messages}});
  }

  // RETR/TOP: the +OK line, then the file with CRLF line ends and dot-stuffing, then ".". Another
  // Maildir reader may have renamed the file since the listing: the finder looks for it then.
  asio::awaitable<bool> send(const std::string& ok_line) {
    auto index = core.send_index();
    finder->expire();  // a miss may scan once per command
    const auto name = core.listing().name(index);
    auto found =
        finder->apply_at(name, [](int dir, const char* p) { return ::openat(dir, p, O_RDONLY | O_CLOEXEC); });
    if (found.result < 0) {
      bool gone = found.where == store::MessageFinder::Where::gone;
      if (gone)
        conn.log().info("retr_failed", {{"user", account}, {"n", index + 1}, {"reason", "gone"}});
      else
        conn.log().error("retr_failed",
                         {{"user", account}, {"n", index + 1}, {"reason", "error"}, {"why", std::strerror(found.error)}});
      add(core.on_send_failed(gone ? pop3::SendFailure::gone : pop3::SendFailure::unreadable));
      co_return true;
    }
    int fd = found.result;
    out += ok_line;
    util::DotStuffer stuffer(core.send_body_lines());
    auto sizes = store::maildir::parse_sizes(name);  // a renamed file keeps its ,S=
    bool ok = co_await stream_message(conn, fd, stuffer, out, sizes ? std::optional(sizes->size) : std::nullopt);
    ::close(fd);
    if (net::feed::on()) {
      // The status line and the size only: a message's content never goes into the feed.
      net::feed::emit_lines("s", conn.log().sid(), ok_line);
      feed_line("s", "<message " + std::to_string(core.listing().octets(index)) + " octets>");
      net::feed::emit("retr", {{"sid", conn.log().sid()}, {"user", account}, {"n", index + 1},
                               {"file", unique_of(core.listing().name(index))}});
    }
    co_return ok;
  }

  // QUIT: remove the marked messages wherever they are now, and say only what really happened.
  void update() {
    std::vector<std::string> names;
    for (auto i : core.deleted()) names.emplace_back(core.listing().name(i));
    store::Removal r;
    if (!names.empty()) r = store::remove_messages(svc.layout->maildir(account), names);
    if (!r.failed.empty()) conn.log().error("remove_failed", {{"user", account}, {"why", r.failed}});
    conn.log().info("logout",
                    {{"user", account}, {"deleted", r.deleted}, {"renamed", r.renamed}, {"gone", r.gone}});
    if (net::feed::on()) {
      // Each message removed at the update, by its Maildir unique name (docs/reference.md "Event feed").
      for (auto i : core.deleted())
        net::feed::emit("dele", {{"sid", conn.log().sid()}, {"user", account}, {"n", i + 1},
                                 {"file", unique_of(core.listing().name(i))}});
    }
    add(core.on_updated(r.failed.empty(), r.gone));
  }
};

asio::awaitable<void> serve(net::Conn& conn, Services& svc) {
  Pop3Session s(conn, svc,
                pop3::ServerSession({svc.settings.name, svc.settings.tls.allow_plaintext_auth, svc.settings.limits.errors,
                                     svc.tls_server != nullptr, conn.tls_active(), conn.peer_ip(), svc.faults}));
  co_await s.run();
}

}  // namespace

Result<std::unique_ptr<net::TcpServer>> listen_pop3(Services& svc, bool implicit_tls) {
  net::ServerOptions o;
  o.svc = "pop3";
  o.proto = "pop3";
  o.conn.max_line = 512;  // RFC 2449 4: 255 octets per command; 512 leaves room for AUTH responses
  o.conn.idle = svc.settings.limits.pop3_idle;
  o.max_sessions = svc.settings.limits.sessions;
  o.busy_reply = pop3::ServerSession::too_many_sessions(svc.settings.name);
  o.per_peer = svc.settings.limits.per_peer;
  o.per_peer_exempt = svc.settings.limits.per_peer_exempt;
  o.peer_busy_reply = pop3::ServerSession::too_many_from_peer(svc.settings.name);
  if (implicit_tls) {
    o.proto = "pop3s";
    o.implicit_tls = svc.tls_server;
  }
  return net::TcpServer::listen(*svc.io, svc.settings.listen, implicit_tls ? svc.settings.pop3s : svc.settings.ports.pop, o,
                                [&svc](net::Conn& c) { return serve(c, svc); });
}

}  // namespace mailsrv
