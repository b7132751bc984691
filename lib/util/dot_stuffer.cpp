#include "util/dot_stuffer.hpp"

#include <cstring>

namespace mail::util {

void DotStuffer::feed(std::string_view in, std::string& out) {
  if (done_) return;
  if (body_limit_ && *body_limit_ == 0 && in_body_) {
    done_ = true;
    return;
  }
  out.reserve(out.size() + in.size() + in.size() / 32 + 4);
  std::size_t i = 0;
  std::size_t lf = 0;  // the next LF at or after i (in.size(): none), found once per line
  bool lf_known = false;
  while (i < in.size()) {
    // Ordinary bytes up to the next CR or LF go out in one piece. Two memchr scans, the one for LF once
    // per line: string_view::find_first_of("\r\n") calls memchr once per byte (libstdc++), a fifth of
    // the CPU of a pipelined RETR.
    if (!pending_cr_ && !at_line_start_) {
      if (!lf_known || lf < i) {
        const void* at = std::memchr(in.data() + i, '\n', in.size() - i);
        lf = at != nullptr ? static_cast<std::size_t>(static_cast<const char*>(at) - in.data()) : in.size();
        lf_known = true;
      }
      const void* cr = std::memchr(in.data() + i, '\r', lf - i);
      const std::size_t stop = cr != nullptr ? static_cast<std::size_t>(static_cast<const char*>(cr) - in.data()) : lf;
      if (stop > i) {
        out.append(in.data() + i, stop - i);
        line_empty_ = false;
        i = stop;
        continue;
      }
    }
    char c = in[i++];
    if (c == '\n') {
      out += "\r\n";  // a pending CR is the CR of this CRLF
      pending_cr_ = false;
      at_line_start_ = true;
      if (in_body_) {
        ++body_count_;
      } else if (line_empty_) {
        in_body_ = true;  // the blank line that ends the header
      }
      line_empty_ = true;
      if (body_limit_ && in_body_ && body_count_ >= *body_limit_) {
        done_ = true;
        return;
      }
      continue;
    }
    if (pending_cr_) {
      out += '\r';  // a bare CR: kept as a byte
      pending_cr_ = false;
      line_empty_ = false;
    }
    if (at_line_start_) {
      if (c == '.') out += '.';
      at_line_start_ = false;
    }
    if (c == '\r') {
      pending_cr_ = true;  // CRLF or a bare CR: the next byte tells
      continue;
    }
    line_empty_ = false;
    out += c;
  }
}

void DotStuffer::finish(std::string& out) {
  if (pending_cr_) {
    out += '\r';
    pending_cr_ = false;
    at_line_start_ = false;
  }
  if (!at_line_start_ && !done_) out += "\r\n";
  out += ".\r\n";
}

}  // namespace mail::util
