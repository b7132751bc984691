// The users file parser (config::parse_userinfo, `[accounts."NAME"] file`) on any text. Checks: an error
// is one line `fuzz.txt:N: reason` where line N of the input is neither blank nor a comment, and every
// line before it is fine; accepted input gives exactly one account per line that is neither blank nor a
// comment, in order, each with a valid address (config::address_problem), a bare login ending in
// "@" + the domain, and a password of one or more bytes without blanks or control bytes.
//
// Input: flags (bit 0: give the domain "example.com"), then the file's text.
#include <string>
#include <vector>

#include "config/userinfo.hpp"
#include "fuzz.hpp"

using namespace mail;

namespace {

// The input's lines as the file format sees them (a UTF-8 byte order mark at the very start skipped,
// split at LF, one CR before it dropped), and whether each holds an account (neither blank nor a
// comment): a model computed from the raw text.
std::vector<std::pair<std::string_view, bool>> model_lines(std::string_view text) {
  std::vector<std::pair<std::string_view, bool>> out;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto first = line.find_first_not_of(" \t");
    out.emplace_back(line, first != std::string_view::npos && line[first] != '#');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  std::string domain = (in.byte() & 1) ? "example.com" : "";
  std::string_view text = in.rest();
  auto lines = model_lines(text);
  auto users = config::parse_userinfo(text, "fuzz.txt", domain);
  if (!users) {
    const auto& e = users.error().detail;
    FUZZ_CHECK(e.rfind("fuzz.txt:", 0) == 0);
    FUZZ_CHECK(e.find('\n') == std::string::npos);
    auto n = std::stoul(e.substr(9));
    FUZZ_CHECK(n >= 1 && n <= lines.size() && lines[n - 1].second);
    // The lines before it are fine on their own (after the same byte order mark, if the input had one:
    // the parser skips only one, so a second one stays part of the first line, here too).
    std::string before(text.starts_with("\xEF\xBB\xBF") ? "\xEF\xBB\xBF" : "");
    for (std::size_t i = 0; i + 1 < n; ++i) before += std::string(lines[i].first) + "\n";
    FUZZ_CHECK(config::parse_userinfo(before, "fuzz.txt", domain).has_value());
    return 0;
  }
  std::vector<std::uint32_t> expected;
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (lines[i].second) expected.push_back(static_cast<std::uint32_t>(i + 1));
  FUZZ_CHECK(users->size() == expected.size());
  for (std::size_t i = 0; i < users->size(); ++i) {
    const auto& u = (*users)[i];
    FUZZ_CHECK(u.line == expected[i]);
    FUZZ_CHECK(config::address_problem(u.address).empty());
    auto line = lines[u.line - 1].first;
    auto login = line.substr(line.find_first_not_of(" \t"));
    login = login.substr(0, login.find_first_of(" \t"));
    FUZZ_CHECK(u.address == login || (login.find('@') == std::string_view::npos && !domain.empty() &&
                                      u.address == std::string(login) + "@" + domain));
    FUZZ_CHECK(!u.password.empty());
    for (unsigned char c : u.password) FUZZ_CHECK(c > ' ' && c != 0x7f);
    FUZZ_CHECK(line.find(u.password) != std::string_view::npos);
  }
  return 0;
}
