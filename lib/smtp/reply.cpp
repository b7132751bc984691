#include "smtp/reply.hpp"

namespace mail::smtp {

std::string Reply::text() const {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += "; ";
    out += l;
  }
  return out;
}

void append(std::string& out, const Reply& r) {
  const std::string code = std::to_string(r.code);
  if (r.lines.empty()) {
    out += code + "\r\n";
    return;
  }
  for (size_t i = 0; i < r.lines.size(); ++i) {
    out += code;
    out += i + 1 < r.lines.size() ? '-' : ' ';
    out += r.lines[i];
    out += "\r\n";
  }
}

std::string format(const Reply& r) {
  std::string out;
  append(out, r);
  return out;
}

std::optional<Reply> ReplyParser::feed(std::string_view line) {
  error_ = false;
  bool ok = line.size() >= 3 && line[0] >= '2' && line[0] <= '5' && line[1] >= '0' && line[1] <= '9' &&
            line[2] >= '0' && line[2] <= '9' && (line.size() == 3 || line[3] == ' ' || line[3] == '-');
  if (!ok) {
    error_ = true;
    in_reply_ = false;
    return std::nullopt;
  }
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (in_reply_ && code != partial_.code) {
    error_ = true;
    in_reply_ = false;
    return std::nullopt;
  }
  if (!in_reply_) partial_ = Reply{code, {}};
  in_reply_ = true;
  if (partial_.lines.size() < kMaxLines) partial_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
  if (line.size() > 3 && line[3] == '-') return std::nullopt;
  in_reply_ = false;
  return std::move(partial_);
}

}  // namespace mail::smtp
