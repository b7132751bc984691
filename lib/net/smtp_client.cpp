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
