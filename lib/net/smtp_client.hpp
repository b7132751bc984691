// Driving smtp::ClientSession over a Conn: the I/O half of the SMTP client, shared by the relay and
// the agent. Replies go through the one smtp::ReplyParser.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <asio/awaitable.hpp>

#include "net/conn.hpp"
#include "smtp/client_session.hpp"

namespace mail::net {

/// The next complete reply; nullopt when the connection ended or sent something that is not a reply.
asio::awaitable<std::optional<smtp::Reply>> read_reply(Conn& conn, smtp::ReplyParser& parser);

/// Greeting and EHLO/HELO. True when the session is ready; else `session.failure()` says why (code 0
/// when the connection broke).
asio::awaitable<bool> smtp_hello(Conn& conn, smtp::ClientSession& session, smtp::ReplyParser& parser);

/// STARTTLS, the handshake (`host` for SNI and the certificate check), then EHLO again.
/// Errc::refused when the server said no to STARTTLS, Errc::io when TLS or the new EHLO failed.
asio::awaitable<Result<void>> smtp_starttls(Conn& conn, smtp::ClientSession& session, smtp::ReplyParser& parser,
                                            TlsContext& tls, const std::string& host);

/// RSET on a ready session (a cached one, before its next message): fine on 250; else the server
/// closed it meanwhile (the error says how: its reply, or "connection closed").
asio::awaitable<Result<void>> smtp_reset(Conn& conn, smtp::ClientSession& session, smtp::ReplyParser& parser);

/// AUTH PLAIN (or LOGIN); the error holds the server's reply.
asio::awaitable<Result<void>> smtp_auth(Conn& conn, smtp::ClientSession& session, smtp::ReplyParser& parser,
                                        const std::string& user, const std::string& password);

/// Appends the message's wire form (dot-stuffed, with the final ".") to `out`, writing as it goes.
using BodyWriter = std::function<asio::awaitable<bool>(std::string& out)>;

/// One message over a ready session; `session.results()` then holds each recipient's reply.
/// False when the connection broke (the outcome of this message is unknown).
asio::awaitable<bool> smtp_send(Conn& conn, smtp::ClientSession& session, smtp::ReplyParser& parser,
                                smtp::Outgoing message, BodyWriter body);

}  // namespace mail::net
