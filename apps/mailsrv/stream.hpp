// Sending a stored message over a connection the way SMTP DATA and POP3 RETR/TOP both want it:
// read in chunks, CRLF line ends, dot-stuffed, then the final ".". Used by the POP3 driver and the relay.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <asio/awaitable.hpp>

#include "net/conn.hpp"
#include "util/dot_stuffer.hpp"

namespace mailsrv {

/// Appends the file's wire form to `out`, writing whenever `out` grows past 64 KiB, and leaves the
/// terminating ".\r\n" in `out` for the caller to flush. False when the connection failed. `size`, the
/// file's size when its name says it (Maildir ,S=): a read that brings the total to it and returns less
/// than asked is taken as the end, saving the read that would return 0 (a file longer than its name
/// says is still read to its end).
asio::awaitable<bool> stream_message(mail::net::Conn& conn, int fd, mail::util::DotStuffer& stuffer, std::string& out,
                                     std::optional<std::uint64_t> size = std::nullopt);

}  // namespace mailsrv
