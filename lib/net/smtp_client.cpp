#include "net/smtp_client.hpp"

#include "net/event_feed.hpp"

namespace mail::net {

namespace {
// Writes commands; with --events each line is published as `c` (docs/reference.md "Event feed"), an
// AUTH exchange as its verb and mechanism only: its data is a secret.
asio::awaitable<bool> send(Conn& conn, std::string_view out, bool secret = false) {
  if (feed::on()) {
    if (!secret) feed::emit_lines("c", conn.log().sid(), out);
    else
      feed::emit("c", {{"sid", conn.log().sid()},
                       {"line", out.starts_with("AUTH ") ? std::string(out.substr(0, out.find(' ', 5))) + " ***" : "***"}});
  }
  co_return co_await conn.write(out);
}
}  // namespace

asio::awaitable<std::optional<smtp::Reply>> read_reply(Conn& conn, smtp::ReplyParser& parser) {
  while (true) {
    auto line = co_await conn.read_line();
    if (line.status != ReadStatus::line) co_return std::nullopt;
    if (feed::on()) feed::emit("s", {{"sid", conn.log().sid()}, {"line", line.text}});
    if (auto r = parser.feed(line.text)) co_return r;
    if (parser.error()) co_return std::nullopt;
  }
}

asio::awaitable<bool> smtp_hello(Conn& conn, smtp::ClientSession& session, smtp::ReplyParser& parser) {
  while (true) {
    auto reply = co_await read_reply(conn, parser);
    if (!reply) {
      session.on_reply(smtp::reply(0, "connection closed"));
      co_return false;
    }
    auto step = session.on_reply(*reply);
    if (step.event == smtp::ClientEvent::failed) co_return false;
    if (step.event == smtp::ClientEvent::ready) co_return true;
    if (!co_await send(conn, step.out)) co_return false;
  }
}

namespace {
// Writes `out` and feeds replies until `until` (or failed).
asio::awaitable<smtp::ClientEvent> exchange(Conn& conn, smtp::ClientSession& session, smtp::ReplyParser& parser,
                                            std::string out, smtp::ClientEvent until, bool secret = false) {
  while (true) {
    if (!out.empty() && !co_await send(conn, out, secret)) co_return smtp::ClientEvent::failed;
    auto reply = co_await read_reply(conn, parser);
    if (!reply) co_return smtp::ClientEvent::failed;
    auto step = session.on_reply(*reply);
    if (step.event == until || step.event == smtp::ClientEvent::failed || step.event == smtp::ClientEvent::ready ||
        step.event == smtp::ClientEvent::tls || step.event == smtp::ClientEvent::auth_done)
      co_return step.event;
    out = std::move(step.out);
  }
}
}  // namespace

asio::awaitable<Result<void>> smtp_starttls(Conn& conn, smtp::ClientSession& session, smtp::ReplyParser& parser,
                                            TlsContext& tls, const std::string& host) {
  auto ev = co_await exchange(conn, session, parser, session.starttls(), smtp::ClientEvent::tls);
  if (ev == smtp::ClientEvent::ready)
    co_return fail(Errc::refused, "STARTTLS refused: " + std::to_string(session.failure().code) + " " + session.failure().text());
  if (ev != smtp::ClientEvent::tls) co_return fail(Errc::io, "connection lost at STARTTLS");
  parser = smtp::ReplyParser{};
  auto r = co_await conn.start_tls(tls, TlsRole::client, host);
  if (!r) co_return r.error();
  if (feed::on())
    feed::emit("tls", {{"sid", conn.log().sid()}, {"cipher", conn.tls_description()}, {"resumed", conn.tls_resumed() ? "yes" : "no"}});
  ev = co_await exchange(conn, session, parser, session.restart(), smtp::ClientEvent::ready);
  if (ev != smtp::ClientEvent::ready) co_return fail(Errc::io, "EHLO after STARTTLS failed");
  co_return Result<void>();
}

asio::awaitable<Result<void>> smtp_reset(Conn& conn, smtp::ClientSession& session, smtp::ReplyParser& parser) {
  auto ev = co_await exchange(conn, session, parser, session.reset(), smtp::ClientEvent::ready);
  if (ev == smtp::ClientEvent::ready) co_return Result<void>();
  if (session.failure().code == 0) co_return fail(Errc::io, "connection closed");
  co_return fail(Errc::refused, std::to_string(session.failure().code) + " " + session.failure().text());
}

asio::awaitable<Result<void>> smtp_auth(Conn& conn, smtp::ClientSession& session, smtp::ReplyParser& parser,
                                        const std::string& user, const std::string& password) {
  auto ev = co_await exchange(conn, session, parser, session.authenticate(user, password), smtp::ClientEvent::auth_done,
                           true);
  if (ev != smtp::ClientEvent::auth_done) co_return fail(Errc::io, "connection lost during AUTH");
  if (!session.authenticated())
    co_return fail(Errc::refused, std::to_string(session.failure().code) + " " + session.failure().text());
  co_return Result<void>();
}

asio::awaitable<bool> smtp_send(Conn& conn, smtp::ClientSession& session, smtp::ReplyParser& parser,
                                smtp::Outgoing message, BodyWriter body) {
  const auto size = message.size;
  auto step = session.begin(std::move(message));
  std::string out = std::move(step.out);
  bool content = false;  // `out` ends the message's content: not published line by line
  while (step.event != smtp::ClientEvent::message_done) {
    if (!out.empty()) {
      bool ok = false;  // no co_await inside ?: (g++ 12, docs/development.md)
      if (content) ok = co_await conn.write(out);
      else ok = co_await send(conn, out);
      if (!ok) co_return false;
    }
    out.clear();
    content = false;
    auto reply = co_await read_reply(conn, parser);
    if (!reply) co_return false;
    step = session.on_reply(*reply);
    if (step.event == smtp::ClientEvent::failed) co_return false;
    out = std::move(step.out);
    if (step.event == smtp::ClientEvent::send_body) {
      if (!co_await body(out)) co_return false;
      content = true;
      if (feed::on()) feed::emit("c", {{"sid", conn.log().sid()}, {"line", "<message " + std::to_string(size) + " octets>"}});
    }
  }
  co_return true;
}

}  // namespace mail::net
