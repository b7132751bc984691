#include "util/line_splitter.hpp"

namespace mail::util {

void LineSplitter::reset() noexcept {
  partial_.clear();
  discarding_ = false;
  returned_partial_ = false;
}

std::optional<LineSplitter::Line> LineSplitter::next(std::string_view& input) {
  if (returned_partial_) {
    partial_.clear();
    returned_partial_ = false;
  }
  auto lf = input.find('\n');
  std::string_view chunk = input.substr(0, lf == std::string_view::npos ? input.size() : lf + 1);
  input.remove_prefix(chunk.size());

  if (!discarding_ && partial_.size() + chunk.size() > max_) {
    discarding_ = true;  // too long: keep nothing more of this line
    partial_.clear();
  }
  if (lf == std::string_view::npos) {  // the line goes on in the next read
    if (!discarding_) partial_.append(chunk);
    return std::nullopt;
  }
  if (discarding_) {
    discarding_ = false;
    return Line{{}, Ending::lf, true};
  }

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

}  // namespace mail::util
