#include "smtp/message_id.hpp"

#include "util/text.hpp"

namespace mail::smtp {

void MessageIdScanner::line(std::string_view text) {
  if (!in_header_) return;
  if (text.empty()) {  // the blank line before the body
    in_header_ = false;
    in_field_ = false;
    return;
  }
  if (text.front() == ' ' || text.front() == '\t') {  // RFC 5322 2.2.3: folding
    if (in_field_) {
      auto more = util::trim(text);
      if (!value_.empty() && !more.empty()) value_ += ' ';
      value_ += more;
    }
    return;
  }
  in_field_ = false;
  constexpr std::string_view kName = "message-id:";
  if (value_.empty() && text.size() >= kName.size() && util::iequals(text.substr(0, kName.size()), kName)) {
    value_ = std::string(util::trim(text.substr(kName.size())));
    in_field_ = true;
  }
}

std::string message_id_of(std::string_view headers) {
  MessageIdScanner s;
  while (!headers.empty() && s.in_header()) {
    auto nl = headers.find('\n');
    auto line = headers.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    s.line(line);
    if (nl == std::string_view::npos) break;
    headers.remove_prefix(nl + 1);
  }
  return s.value();
}

}  // namespace mail::smtp
