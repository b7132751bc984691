// Mail messages as the agent writes and reads them (RFC 5322, MIME of RFC 2045-2049): building a
// message with a text part, an optional HTML alternative and attachments; parsing any message into
// its headers, text and attachments, saying what is wrong with broken MIME instead of failing.
// The only part of the project that includes mimetic (docs/development.md, pitfall 6, lists its traps).
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mime/codec.hpp"
#include "mime/report.hpp"

namespace mail::mime {

struct Attachment {
  std::string filename;      // as named in the message (UTF-8)
  std::string content_type;  // "image/jpeg"
  std::string data;          // decoded bytes
  int stored = -1;           // parse_split: its bytes went elsewhere, as this diverted body (data is empty)
};

struct Outgoing {
  std::string from;
  std::vector<std::string> to;
  std::vector<std::string> cc;  // Bcc recipients are envelope-only: never written in the message
  std::string subject;          // UTF-8
  std::string text;             // UTF-8, LF line ends
  std::string html;             // optional HTML alternative
  std::vector<Attachment> attachments;
  std::time_t date = 0;
  std::string message_id;       // without <>
  std::string boundary_seed;    // makes the boundaries unique
};

/// The message with CRLF line ends, ready for SMTP DATA (before dot-stuffing).
std::string build(const Outgoing& m);

/// The same message in order as text pieces and, between them, the places of the attachments' base64
/// lines (`attachment` >= 0: base64_lines of that attachment's bytes, which need not be loaded): the
/// agent streams a big file into its place (Base64Encoder) instead of holding the message.
struct Piece {
  std::string text;
  int attachment = -1;
};
std::vector<Piece> build_pieces(const Outgoing& m);

/// One entity of the MIME tree, numbered as IMAP does (RFC 3501 6.4.5): "1" is the message, "1.2" the
/// second part of its multipart, "1.2.1" the first part of that.
struct Part {
  std::string part;
  std::string type;      // lowercased "text/plain"
  std::string filename;  // "" when none
  std::size_t size = 0;  // decoded octets (leaves; 0 for a multipart)
  int attachment = -1;   // index in Parsed::attachments, or -1
};

struct Parsed {
  std::vector<std::pair<std::string, std::string>> headers;  // as in the message (unfolded)
  std::string subject;  // decoded (RFC 2047)
  std::string from, to, cc, date;
  std::string text;     // the first text/plain part, decoded to UTF-8, LF line ends
  std::string html;     // the first text/html part
  std::vector<Attachment> attachments;
  std::vector<std::string> problems;  // what could not be read properly
  std::vector<Part> parts;            // the MIME tree in pre-order (children of "P" are "P.N")
  // A delivery report (RFC 6522, RFC 3464): its first message/delivery-status part, and the header
  // fields of the message it returns (text/rfc822-headers or message/rfc822 in the multipart/report).
  std::optional<DeliveryStatus> delivery_status;
  Fields returned_headers;
};

/// What a part's header says about it: its type (text/plain when missing or without a slash), its
/// disposition, its file name (disposition's filename, else type's name; RFC 2047 and 2231 decoded).
struct PartHeader {
  HeaderValue type;
  HeaderValue disposition;
  std::string filename;
};
PartHeader part_header(std::string_view content_type, std::string_view content_disposition);
/// parse() lists a leaf as an attachment rather than as the text: a disposition of attachment, a file
/// name, or a type that is not text/ or message/.
bool is_attachment(const PartHeader& h);

/// Parses a whole message (CRLF or LF line ends). Never throws.
Parsed parse(std::string_view raw);

}  // namespace mail::mime
