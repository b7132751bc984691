#include "util/line_splitter.hpp"

namespace mail::util {

void LineSplitter::reset() noexcept {
  partial_.clear();
  discarding_ = false;
  last_cr_ = false;
  returned_partial_ = false;
  held_cr_ = false;
}

// `chunk` ends with LF: the line (partial_ + chunk) is complete.
std::optional<LineSplitter::Line> LineSplitter::finish_line(std::string_view chunk) {
  std::string_view text = chunk;  // the whole line is in the caller's buffer: no copy
  if (!partial_.empty()) {
    partial_.append(chunk);
    text = partial_;
    returned_partial_ = true;
  }
  Line line;
  text.remove_suffix(1);  // LF
  if (!text.empty() && text.back() == '\r') {
    text.remove_suffix(1);
    line.ending = Ending::crlf;
  } else {
    line.ending = Ending::lf;
  }
  line.text = text;
  return line;
}

// Split mode, no LF yet and too much held: hand over what there is, except a final CR.
std::optional<LineSplitter::Line> LineSplitter::piece(std::string_view chunk) {
  std::string_view text = chunk;
  if (!partial_.empty()) {
    partial_.append(chunk);
    text = partial_;
  }
  returned_partial_ = true;  // whatever partial_ holds is handed over now
  if (!text.empty() && text.back() == '\r') {
    text.remove_suffix(1);
    held_cr_ = true;
  }
  if (text.empty()) return std::nullopt;  // only a CR: keep waiting
  return Line{text, Ending::crlf, false, true};
}

std::optional<LineSplitter::Line> LineSplitter::next(std::string_view& input) {
  if (returned_partial_) {
    partial_.clear();
    returned_partial_ = false;
  }
  if (held_cr_) {
    partial_.assign(1, '\r');
    held_cr_ = false;
  }
  auto lf = input.find('\n');
  std::string_view chunk = input.substr(0, lf == std::string_view::npos ? input.size() : lf + 1);
  input.remove_prefix(chunk.size());

  if (!discarding_ && partial_.size() + chunk.size() > max_) {
    if (mode_ == Overlong::split) {
      if (lf == std::string_view::npos) return piece(chunk);
      return finish_line(chunk);  // the rest of a long line: its last piece
    }
    discarding_ = true;  // too long: keep nothing more of this line
    last_cr_ = !partial_.empty() && partial_.back() == '\r';
    partial_.clear();
  }
  if (discarding_) {
    // The ending is reported as it was (a CRLF-ended overlong line must not hide a "." after it).
    bool cr = chunk.size() >= (lf == std::string_view::npos ? 1u : 2u)
                  ? chunk[chunk.size() - (lf == std::string_view::npos ? 1 : 2)] == '\r'
                  : last_cr_;
    if (lf == std::string_view::npos) {
      last_cr_ = cr;
      return std::nullopt;
    }
    discarding_ = false;
    last_cr_ = false;
    return Line{{}, cr ? Ending::crlf : Ending::lf, true, false};
  }
  if (lf == std::string_view::npos) {  // the line goes on in the next read
    partial_.append(chunk);
    return std::nullopt;
  }
  return finish_line(chunk);
}

}  // namespace mail::util
