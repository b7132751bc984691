// The POP3 client's half of RFC 1939: reading a response (one status line, and for LIST, UIDL, RETR,
// TOP and CAPA a multi-line body ended by ".", dot-unstuffed). Pure: lines in, responses out.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mail::pop3 {

struct Response {
  bool ok = false;
  std::string status;              // the first line as sent ("+OK 2 320")
  std::vector<std::string> lines;  // the multi-line body, dot-unstuffed
};

class ResponseReader {
 public:
  /// Each body line (dot-unstuffed, without its CRLF) of a response streamed to its reader.
  using LineFn = std::function<void(std::string_view)>;
  /// The next response has a multi-line body when it is +OK. With `on_line`, its body lines go there
  /// as they come instead of into Response::lines (a big RETR is never held: issue 15).
  void expect(bool multiline, LineFn on_line = {}) {
    multiline_ = multiline;
    on_line_ = std::move(on_line);
  }
  /// One line (CRLF removed); the complete response when this line ended it.
  std::optional<Response> feed(std::string_view line);

 private:
  bool multiline_ = false;
  bool in_body_ = false;
  LineFn on_line_;
  Response partial_;
};

/// Does this command (as typed) get a multi-line answer? LIST and UIDL without an argument, RETR, TOP, CAPA.
bool is_multiline(std::string_view command);

}  // namespace mail::pop3
