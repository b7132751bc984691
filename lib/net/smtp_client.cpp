#include "net/smtp_client.hpp"

namespace mail::net {

asio::awaitable<std::optional<smtp::Reply>> read_reply(Conn& conn, smtp::ReplyParser& parser) {
  while (true) {
    auto line = co_await conn.read_line();
    if (line.status != ReadStatus::line) co_return std::nullopt;
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
    if (!co_await conn.write(step.out)) co_return false;
  }
}

namespace {
// Writes `out` and feeds replies until `until` (or failed).
asio::awaitable<smtp::ClientEvent> exchange(Conn& conn, smtp::ClientSession& session, smtp::ReplyParser& parser,
                                            std::string out, smtp::ClientEvent until) {
  while (true) {
    if (!out.empty() && !co_await conn.write(out)) co_return smtp::ClientEvent::failed;
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
  ev = co_await exchange(conn, session, parser, session.restart(), smtp::ClientEvent::ready);
  if (ev != smtp::ClientEvent::ready) co_return fail(Errc::io, "EHLO after STARTTLS failed");
  co_return Result<void>();
}

asio::awaitable<Result<void>> smtp_auth(Conn& conn, smtp::ClientSession& session, smtp::ReplyParser& parser,
                                        const std::string& user, const std::string& password) {
  auto ev = co_await exchange(conn, session, parser, session.authenticate(user, password), smtp::ClientEvent::auth_done);
  if (ev != smtp::ClientEvent::auth_done) co_return fail(Errc::io, "connection lost during AUTH");
  if (!session.authenticated())
    co_return fail(Errc::refused, std::to_string(session.failure().code) + " " + session.failure().text());
  co_return Result<void>();
}

asio::awaitable<bool> smtp_send(Conn& conn, smtp::ClientSession& session, smtp::ReplyParser& parser,
                                smtp::Outgoing message, BodyWriter body) {
  auto step = session.begin(std::move(message));
  std::string out = std::move(step.out);
  while (step.event != smtp::ClientEvent::message_done) {
    if (!out.empty() && !co_await conn.write(out)) co_return false;
    out.clear();
    auto reply = co_await read_reply(conn, parser);
    if (!reply) co_return false;
    step = session.on_reply(*reply);
    if (step.event == smtp::ClientEvent::failed) co_return false;
    out = std::move(step.out);
    if (step.event == smtp::ClientEvent::send_body && !co_await body(out)) co_return false;
  }
  co_return true;
}

}  // namespace mail::net
