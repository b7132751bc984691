#include "smtp/outcome.hpp"

namespace mail::smtp {

namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The enhanced status off the front of `rest` (with the one space after it) into `o.enhanced`.
void split_status(Outcome& o, std::string_view rest) {
  auto n = enhanced_status_length(rest);
  o.enhanced = std::string(rest.substr(0, n));
  rest.remove_prefix(n);
  if (n > 0 && !rest.empty()) rest.remove_prefix(1);  // the space
  o.text = std::string(rest);
}
}  // namespace

std::size_t enhanced_status_length(std::string_view text) {
  // class "." subject "." detail (RFC 3463 2): class 2, 4 or 5; subject and detail 1 to 3 digits;
  // then the end or a space.
  if (text.size() < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.') return 0;
  std::size_t i = 2;
  auto digits = [&] {
    std::size_t n = 0;
    while (i < text.size() && is_digit(text[i]) && n < 3) ++i, ++n;
    return n;
  };
  if (digits() == 0 || i >= text.size() || text[i] != '.') return 0;
  ++i;
  if (digits() == 0 || (i < text.size() && text[i] != ' ')) return 0;
  return i;
}

Outcome Outcome::parse(std::string_view line) {
  Outcome o;
  auto bar = line.find('|');
  auto bar2 = bar == std::string_view::npos ? bar : line.find('|', bar + 1);
  if (bar2 != std::string_view::npos) {  // version 1: "host|command|reply" for a permanent failure
    o.mta = std::string(line.substr(0, bar));
    o.command = std::string(line.substr(bar + 1, bar2 - bar - 1));
    line.remove_prefix(bar2 + 1);
  }
  if (line.size() >= 3 && is_digit(line[0]) && is_digit(line[1]) && is_digit(line[2]) &&
      (line.size() == 3 || line[3] == ' ')) {
    o.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    line.remove_prefix(line.size() == 3 ? 3 : 4);
  }
  split_status(o, line);
  return o;
}

Outcome Outcome::from_reply(const Reply& reply, std::string mta, std::string command, std::string tls) {
  Outcome o;
  o.code = reply.code;
  split_status(o, reply.text());
  o.mta = std::move(mta);
  o.command = std::move(command);
  o.tls = std::move(tls);
  return o;
}

Outcome Outcome::ours(std::string enhanced, std::string text) {
  Outcome o;
  o.enhanced = std::move(enhanced);
  o.text = std::move(text);
  return o;
}

bool Outcome::positive() const noexcept {
  return code != 0 ? code >= 200 && code < 400 : !enhanced.empty() && enhanced[0] == '2';
}

bool Outcome::permanent() const noexcept {
  return code != 0 ? code >= 500 : !enhanced.empty() && enhanced[0] == '5';
}

std::string Outcome::status() const {
  if (!enhanced.empty()) return enhanced;
  auto l = line();
  return !l.empty() && l[0] == '4' ? "4.0.0" : "5.0.0";
}

std::string Outcome::line() const {
  std::string body = enhanced;
  if (!body.empty() && !text.empty()) body += ' ';
  body += text;
  // A server's reply shows its code, even 0 (the server closed the connection without one).
  if (code != 0 || !mta.empty()) return std::to_string(code) + " " + body;
  return body;
}

}  // namespace mail::smtp
