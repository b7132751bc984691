// util::DotStuffer (stored text -> SMTP DATA / POP3 wire form), fed in random cuts, whole or with a
// TOP limit. Checks: the output does not depend on the cuts; it is CRLF lines ending with "." and no
// other line is a lone "."; and the wire form reads back to the stored text through both readers of
// the project: the SMTP server core's DATA rules and the agent's POP3 ResponseReader (RFC 5321 4.5.2,
// RFC 1939 3 are inverses of the stuffer). With TOP n: the header, the blank line and n body lines.
//
// Input: cut seed, TOP flags (bit 7: TOP, bits 0-6: n), then the stored text.
#include <optional>
#include <string>
#include <vector>

#include "fuzz.hpp"
#include "pop3/client.hpp"
#include "smtp/server_session.hpp"
#include "util/dot_stuffer.hpp"
#include "util/line_splitter.hpp"
#include "util/text.hpp"

using namespace mail;

namespace {

// The text as its lines: CRLF or LF ends a line, a bare CR is a byte; a last line without an end counts.
std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto lf = text.find('\n', pos);
    if (lf == std::string_view::npos) {
      out.emplace_back(text.substr(pos));
      break;
    }
    std::string_view l = text.substr(pos, lf - pos);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    out.emplace_back(l);
    pos = lf + 1;
  }
  return out;
}

// TOP n: the header lines, the blank line, then n lines of the body.
std::vector<std::string> top(const std::vector<std::string>& lines, std::uint64_t n) {
  std::vector<std::string> out;
  bool body = false;
  std::uint64_t count = 0;
  for (const auto& l : lines) {
    if (body && count >= n) break;
    out.push_back(l);
    if (body) ++count;
    else if (l.empty()) body = true;
  }
  return out;
}

class Dir final : public smtp::Directory {
 public:
  bool is_local(std::string_view d) const override { return util::iequals(d, "gmail.com"); }
  std::optional<std::string> account(std::string_view a) const override {
    if (a == "usr@gmail.com") return std::string(a);
    return std::nullopt;
  }
};

// The SMTP server reads `wire` as DATA: the lines it stores, and where the data ended.
std::vector<std::string> smtp_reads(std::string_view wire, std::size_t& end) {
  static const Dir dir;
  smtp::ServerSession s({"gmail.com", "127.0.0.1"}, {}, dir);
  for (const char* c : {"EHLO x", "MAIL FROM:<a@example.org>", "RCPT TO:<usr@gmail.com>"})
    FUZZ_CHECK(s.on_line(c).replies.at(0).code == 250);
  FUZZ_CHECK(s.on_line("DATA").effect == smtp::Effect::begin_data);
  FUZZ_CHECK(s.on_data_started(true).replies.at(0).code == 354);
  util::LineSplitter sp(64, util::LineSplitter::Overlong::split);
  std::vector<std::string> out;
  std::string current;
  std::string_view in = wire;
  end = std::string::npos;
  while (auto line = sp.next(in)) {
    auto d = s.on_data_line(line->text, line->ending, line->too_long, line->partial);
    if (d.end) {
      end = wire.size() - in.size();
      break;
    }
    FUZZ_CHECK(d.store);
    current.append(d.content);
    if (d.newline) out.push_back(std::exchange(current, {}));
  }
  return out;
}

// The agent reads `wire` as the body of a POP3 RETR response.
std::vector<std::string> pop3_reads(std::string_view wire) {
  pop3::ResponseReader r;
  r.expect(true);
  FUZZ_CHECK(!r.feed("+OK 1 octets"));
  util::LineSplitter sp(1 << 20);
  std::string_view in = wire;
  while (auto line = sp.next(in)) {
    FUZZ_CHECK(!line->too_long);
    if (auto resp = r.feed(line->text)) {
      FUZZ_CHECK(in.empty());
      return resp->lines;
    }
  }
  fuzz::fail(__FILE__, __LINE__, "the POP3 reader did not see the end of the response");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  fuzz::Cuts cuts(in.byte());
  std::uint8_t flags = in.byte();
  std::string_view text = in.rest();
  std::optional<std::uint64_t> limit;
  if (flags & 0x80) limit = flags & 0x7fu;

  std::string whole;
  {
    util::DotStuffer d(limit);
    d.feed(text, whole);
    d.finish(whole);
  }
  std::string cut;
  util::DotStuffer d(limit);
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t n = cuts.next(text.size() - pos);
    d.feed(text.substr(pos, n), cut);
    pos += n;
  }
  d.finish(cut);
  FUZZ_CHECK(cut == whole);

  // CRLF lines, the last one "." and no other.
  FUZZ_CHECK(whole.size() >= 3 && whole.compare(whole.size() - 3, 3, ".\r\n") == 0);
  FUZZ_CHECK(whole.size() == 3 || whole.compare(whole.size() - 5, 5, "\r\n.\r\n") == 0);
  for (std::size_t i = 0; i < whole.size(); ++i)
    if (whole[i] == '\n') FUZZ_CHECK(i > 0 && whole[i - 1] == '\r');
  FUZZ_CHECK(whole.find("\r\n.\r\n") == whole.size() - 5 || whole.size() == 3);

  auto want = lines_of(text);
  if (limit) want = top(want, *limit);
  std::size_t end = 0;
  FUZZ_CHECK(smtp_reads(whole, end) == want);
  FUZZ_CHECK(end == whole.size());
  FUZZ_CHECK(pop3_reads(whole) == want);
  return 0;
}
