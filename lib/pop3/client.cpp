#include "pop3/client.hpp"

#include "util/text.hpp"

namespace mail::pop3 {

std::optional<Response> ResponseReader::feed(std::string_view line) {
  if (!in_body_) {
    partial_ = Response{line.rfind("+OK", 0) == 0, std::string(line), {}};
    if (!partial_.ok || !multiline_) return std::move(partial_);
    in_body_ = true;
    return std::nullopt;
  }
  if (line == ".") {
    in_body_ = false;
    return std::move(partial_);
  }
  if (!line.empty() && line.front() == '.') line.remove_prefix(1);
  if (on_line_) on_line_(line);
  else partial_.lines.emplace_back(line);
  return std::nullopt;
}

bool is_multiline(std::string_view command) {
  auto sp = command.find(' ');
  auto verb = command.substr(0, sp);
  bool has_arg = sp != std::string_view::npos && !util::trim(command.substr(sp + 1)).empty();
  if (util::iequals(verb, "RETR") || util::iequals(verb, "TOP") || util::iequals(verb, "CAPA")) return true;
  return (util::iequals(verb, "LIST") || util::iequals(verb, "UIDL")) && !has_arg;
}

}  // namespace mail::pop3
