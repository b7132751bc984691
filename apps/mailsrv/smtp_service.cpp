// The SMTP side of mailsrv: the listeners, and what the shared line-session driver (net::LineSession)
// leaves to SMTP: AUTH's password check and DATA, streamed into the store. No protocol decisions here
// (docs/development.md "Protocol cores and drivers").
#include <chrono>

#include <asio/io_context.hpp>

#include "net/line_session.hpp"
#include "login.hpp"
#include "net/message_sink.hpp"
#include "util/text.hpp"
#include "services.hpp"

namespace mailsrv {

using namespace mail;

namespace {

constexpr std::size_t kFlushAt = 16 * 1024;
constexpr std::size_t kPiece = 16 * 1024;  // a long DATA line goes to disk in pieces of about this size

struct Session : net::LineSession<Session, smtp::ServerSession> {
  Services& svc;

  Session(net::Conn& c, Services& s, smtp::ServerSession core, const char* proto)
      : LineSession(c, std::move(core), {s.tls_server.get(), s.settings.limits.smtp_idle, s.verbose, kFlushAt, proto}),
        svc(s) {}

  static net::StepKind kind(const smtp::Step& step) {
    switch (step.effect) {
      case smtp::Effect::none: return net::StepKind::reply;
      case smtp::Effect::start_tls: return net::StepKind::start_tls;
      case smtp::Effect::close: return net::StepKind::close;
      case smtp::Effect::authenticate:
      case smtp::Effect::begin_data: return net::StepKind::perform;
      case smtp::Effect::deliver: break;  // only end_of_data() asks for it, inside receive_message()
    }
    return net::StepKind::reply;
  }

  void write(const smtp::Step& step) {
    for (const auto& r : step.replies) {
      if (svc.verbose) conn.log().debug("reply", {{"line", r.text()}, {"code", r.code}});
      smtp::append(out, r);
    }
  }

  // AUTH's password check, or DATA. False when the connection ended.
  asio::awaitable<bool> perform(const smtp::Step& step) {
    add(step);
    if (step.effect == smtp::Effect::authenticate) {
      auto login = co_await check_login(svc, conn, core.auth_user(), core.auth_password());
      add(core.on_auth_result(login.account, login.refused));
      co_return true;
    }
    co_return co_await receive_message();
  }

  // DATA: open a message in the sink, then stream each line into it. Returns false when the
  // connection ended.
  asio::awaitable<bool> receive_message() {
    const smtp::Envelope env = core.envelope();  // for the log line, after the core has moved on
    auto started = std::chrono::steady_clock::now();
    auto opened = svc.sink->open(env, conn.peer_ip(), conn.log());
    if (!opened) conn.log().error("stage_failed", {{"why", opened.error().detail}});
    add(core.on_data_started(opened.has_value()));
    if (!co_await flush()) co_return false;
    if (!opened) co_return true;
    net::MessageSink::Message& msg = **opened;

    // [limits] text_line = 0: no limit, long lines reach the file in pieces (never held whole);
    // otherwise longer lines are dropped and the message refused with 552 after its end.
    const auto text_line = svc.settings.limits.text_line;
    if (text_line == 0) conn.set_max_line(kPiece, util::LineSplitter::Overlong::split);
    else conn.set_max_line(text_line);
    // The content as a whole runs under [limits] smtp_idle plus the time its octets earn at
    // min_data_rate: a client dripping bytes into DATA is cut (Postfix smtpd_min_data_rate).
    conn.start_data_deadline(svc.settings.limits.min_data_rate);
    bool ended = false;
    while (!ended) {
      auto line = co_await conn.read_line();
      if (line.status != net::ReadStatus::line && line.status != net::ReadStatus::too_long) {
        conn.log().info("message_aborted", {{"id", msg.id()}, {"why", net::to_string(line.status)}});
        if (line.status == net::ReadStatus::timeout) {
          conn.log().info("timeout", {{"in", "data"}, {"limit", svc.settings.limits.smtp_idle.count()},
                                      {"min_rate", svc.settings.limits.min_data_rate}});
          add(core.on_timeout());
        }
        if (line.status == net::ReadStatus::shutdown) add(core.on_shutdown());
        co_await flush();
        co_return false;  // the message is abandoned with `opened`: nothing of it stays
      }
      auto d = core.on_data_line(line.text, line.ending, line.status == net::ReadStatus::too_long, line.partial);
      if (d.store) {
        if (d.newline) msg.write_line(d.content);
        else msg.write_piece(d.content);
      }
      ended = d.end;
    }
    conn.end_data_deadline();
    const std::string msgid = core.message_id();  // before end_of_data() resets the transaction
    conn.set_max_line(svc.settings.limits.command_line);

    const auto size = core.data_size();
    if (net::feed::on()) feed_line("c", "<message " + std::to_string(size) + " octets>");
    const bool body_8bit = core.envelope().body_8bit();
    if (core.envelope().eight_bit_unannounced()) conn.log().info("eight_bit_unannounced", {{"id", msg.id()}});
    auto step = core.end_of_data();
    bool go_on = true;
    if (step.fault) go_on = co_await perform_fault(step);  // false: a drop, the message is discarded
    const char* result = go_on ? "rejected" : "dropped";
    if (go_on && step.effect == smtp::Effect::deliver) {
      auto id = co_await msg.finish(body_8bit);
      result = id ? "stored" : "failed";
      if (!id) conn.log().error("store_failed", {{"id", msg.id()}, {"why", id.error().detail}});
      step = core.on_delivered(id);
    }
    std::string rcpts;
    for (const auto& r : env.local) rcpts += (rcpts.empty() ? "" : ",") + r;
    for (const auto& r : env.remote) rcpts += (rcpts.empty() ? "" : ",") + r;
    auto ms = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
    conn.log().info("message", {{"id", msg.id()}, {"from", "<" + env.sender + ">"}, {"to", rcpts},
                                {"local", env.local.size()}, {"queued", env.remote.size()}, {"size", size},
                                {"result", result},
                                {"ms", std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100)}});
    if (net::feed::on())
      net::feed::emit("message", {{"sid", conn.log().sid()}, {"id", msg.id()}, {"msgid", msgid}, {"from", "<" + env.sender + ">"},
                                  {"to", rcpts}, {"local", env.local.size()}, {"queued", env.remote.size()},
                                  {"files", result == std::string_view("stored") && !env.local.empty() ? msg.unique() : ""},
                                  {"result", result}, {"size", size}});
    add(step);
    co_return go_on;
  }
};

// The event feed's proto of a session (docs/reference.md "Event feed").
const char* proto_of(smtp::Listener listener, bool implicit_tls) {
  if (listener == smtp::Listener::submission) return "submission";
  return implicit_tls ? "smtps" : "smtp";
}

asio::awaitable<void> serve(net::Conn& conn, Services& svc, smtp::Listener listener) {
  const auto& limits = svc.settings.limits;
  Session s(conn, svc,
            smtp::ServerSession({svc.settings.name, conn.peer_ip(), svc.settings.policy.submission_requires_auth,
                                 svc.tls_server != nullptr, conn.tls_active(), svc.settings.tls.allow_plaintext_auth,
                                 listener, svc.faults},
                                smtp::Limits{limits.recipients, limits.message_size, limits.errors}, *svc.accounts),
            proto_of(listener, conn.tls_active()));
  co_await s.run();
}

Result<std::unique_ptr<net::TcpServer>> listen(Services& svc, std::uint16_t port, const char* proto, smtp::Listener listener,
                                               bool implicit_tls) {
  net::ServerOptions o;
  o.svc = "smtp";
  o.proto = proto;
  o.conn.max_line = svc.settings.limits.command_line;
  o.conn.idle = svc.settings.limits.smtp_idle;
  o.max_sessions = svc.settings.limits.sessions;
  o.busy_reply = smtp::format(smtp::ServerSession::too_many_sessions(svc.settings.name));
  // Postfix smtpd_client_connection_count_limit (with $mynetworks exempt).
  o.per_peer = svc.settings.limits.per_peer;
  o.per_peer_exempt = svc.settings.limits.per_peer_exempt;
  o.peer_busy_reply = smtp::format(smtp::ServerSession::too_many_from_peer(svc.settings.name));
  if (implicit_tls) o.implicit_tls = svc.tls_server;
  return net::TcpServer::listen(*svc.io, svc.settings.listen, port, o,
                                [&svc, listener](net::Conn& c) { return serve(c, svc, listener); });
}

}  // namespace

Result<std::unique_ptr<net::TcpServer>> listen_smtp(Services& svc, bool implicit_tls) {
  // [policy] mx_only: the SMTP (and SMTPS) port takes mail for local accounts only; the course's
  // rule otherwise (a local sender relays without AUTH: docs/security.md "Who may send what").
  auto listener = svc.settings.policy.mx_only ? smtp::Listener::mx_only : smtp::Listener::smtp;
  if (implicit_tls) return listen(svc, svc.settings.smtps, "smtps", listener, true);
  return listen(svc, svc.settings.ports.smtp, "smtp", listener, false);
}

Result<std::unique_ptr<net::TcpServer>> listen_submission(Services& svc) {
  return listen(svc, svc.settings.submission, "submission", smtp::Listener::submission, false);
}

}  // namespace mailsrv
