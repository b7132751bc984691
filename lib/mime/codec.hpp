// The small encodings of Internet mail: quoted-printable (RFC 2045 6.7), encoded words in headers
// (RFC 2047), parameters with a charset (RFC 2231), and ISO-8859-1 to UTF-8. Plain code, no mimetic.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mail::mime {

/// Text (LF line ends) as quoted-printable with CRLF line ends and soft breaks at 76 columns.
std::string qp_encode(std::string_view text);
/// Lenient: a bad escape is kept as it is and `ok` becomes false.
std::string qp_decode(std::string_view text, bool* ok = nullptr);
/// Base64 in lines of 76 columns, CRLF line ends.
std::string base64_lines(std::string_view bytes);
/// Base64 ignoring line breaks and spaces; other junk is skipped and sets `ok` false.
std::string base64_decode_lenient(std::string_view text, bool* ok = nullptr);

bool is_ascii(std::string_view s) noexcept;
/// A header value: as it is when ASCII, else one or more =?UTF-8?B?...?= words.
std::string encode_header(std::string_view utf8);
/// Decodes the =?charset?B|Q?...?= words of a header value (UTF-8, ISO-8859-1, US-ASCII).
std::string decode_header(std::string_view value);
std::string latin1_to_utf8(std::string_view s);

/// A header value's parameters: `type/subtype; a=b; c="d"` -> main value and lowercased names.
/// RFC 2231 forms (name*=utf-8''%E4%B8%AD, name*0=, name*1*=) are put together and decoded.
struct HeaderValue {
  std::string value;  // lowercased main value ("multipart/mixed", "attachment")
  std::map<std::string, std::string> params;
};
HeaderValue parse_header_value(std::string_view v);

/// `name="value"`, or `name*=utf-8''%..` (RFC 2231) when the value is not ASCII.
std::string header_param(std::string_view name, std::string_view value);

/// The content type for a file name, from /etc/mime.types (application/octet-stream when unknown).
std::string content_type_for(std::string_view filename);

/// A file name safe to create: path parts, control bytes and leading dots removed; never empty.
std::string safe_filename(std::string_view name);

}  // namespace mail::mime
