// Sending a stored message over a connection the way SMTP DATA and POP3 RETR/TOP both want it:
// read in chunks, CRLF line ends, dot-stuffed, then the final ".". Used by the POP3 driver and the relay.
#pragma once

#include <string>

#include <asio/awaitable.hpp>

#include "net/conn.hpp"
#include "util/dot_stuffer.hpp"

namespace mailsrv {

/// Appends the file's wire form to `out`, writing whenever `out` grows past 64 KiB, and leaves the
/// terminating ".\r\n" in `out` for the caller to flush. False when the connection failed.
asio::awaitable<bool> stream_message(mail::net::Conn& conn, int fd, mail::util::DotStuffer& stuffer, std::string& out);

}  // namespace mailsrv
