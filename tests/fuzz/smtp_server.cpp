// The SMTP server core driven as mailsrv drives it: the client's bytes cut into reads, split into lines
// (command lines: discard overlong ones; DATA: pieces, or discard with a text_line limit), every effect
// followed with an outcome taken from the input. Checks: every reply is well formed and printable and
// reads back through the client's ReplyParser; every command gets its reply; the envelope obeys the
// relay policy and the limits; and each DATA section ends exactly where RFC 5321 4.1.1.4 says, storing
// exactly the unstuffed lines (a model computed from the raw bytes alone).
//
// Input: flags, cut seed, line lengths, 2 bytes of effect outcomes, then the client's bytes.
//   flags bit 0 STARTTLS available, 1 implicit TLS, 2 AUTH before TLS, 3 submission requires AUTH,
//   4 DATA with a text_line limit (else long lines in pieces), 5-6 recipients - 1, 7 message_size 256.
// Every input also meets fault rules (issue 13) that apply now and then (seeded): a fault reply or drop
// replaces the command (or the end of data), and the envelope checks still hold.
#include <algorithm>
#include <optional>
#include <string>

#include "fuzz.hpp"
#include "smtp/command.hpp"
#include "smtp/server_session.hpp"
#include "util/line_splitter.hpp"
#include "util/text.hpp"

using namespace mail;
using Splitter = util::LineSplitter;

namespace {

class Dir final : public smtp::Directory {
 public:
  bool is_local(std::string_view d) const override {
    return util::iequals(d, "gmail.com") || util::iequals(d, "mail.sustech.edu.cn");
  }
  std::optional<std::string> account(std::string_view a) const override {
    for (const char* acc : {"usr@gmail.com", "usr1@mail.sustech.edu.cn", "usr2@mail.sustech.edu.cn"}) {
      std::string_view s(acc);
      auto at = s.rfind('@');
      if (a.size() == s.size() && a.substr(0, at) == s.substr(0, at) && util::iequals(a.substr(at), s.substr(at)))
        return std::string(acc);
    }
    return std::nullopt;
  }
};

const Dir kDir;

constexpr std::string_view kFaults = R"(rule = [
  { when = "smtp RCPT", do = "reply 451 4.7.1 Greylisted", probability = 0.2, seed = 3 },
  { when = "smtp MAIL", match = { sender = "*@gmail.com" }, do = "reply 550 5.7.1 Not you", probability = 0.3 },
  { when = "smtp DATA", do = "slow 1000", probability = 0.3, seed = 4 },
  { when = "smtp end-of-data", do = "reply 552 5.2.2 Mailbox full", probability = 0.3, seed = 5 },
  { when = "smtp end-of-data", do = "delay 10", probability = 0.3, seed = 6 },
  { when = "smtp end-of-data", do = "drop", probability = 0.1, seed = 7 },
  { when = "smtp NOOP", do = "drop", probability = 0.2, seed = 8 },
  { when = "smtp EHLO", do = "reply 421 4.3.2 Go away", probability = 0.05, seed = 9 },
  { when = "smtp AUTH", do = "reply 454 4.7.0 Later", probability = 0.2, seed = 10 },
])";

// A reply as the server writes it: a code, printable lines, and the client reads back the same reply.
void check_reply(const smtp::Reply& r) {
  if (fuzz::tracing()) std::fprintf(stderr, "S: %s", smtp::format(r).c_str());
  FUZZ_CHECK(r.code >= 200 && r.code <= 599);
  FUZZ_CHECK(!r.lines.empty());
  for (const auto& l : r.lines) FUZZ_CHECK(fuzz::printable(l));
  std::string wire = smtp::format(r);
  std::string_view w = wire;
  smtp::ReplyParser parser;
  std::optional<smtp::Reply> back;
  while (!w.empty()) {
    auto end = w.find("\r\n");
    FUZZ_CHECK(end != std::string_view::npos);
    FUZZ_CHECK(!back);
    back = parser.feed(w.substr(0, end));
    FUZZ_CHECK(!parser.error());
    w.remove_prefix(end + 2);
  }
  FUZZ_CHECK(back && back->code == r.code && back->lines == r.lines);
}

// What one DATA section must do, from the bytes after the DATA line alone: it ends at the first "."
// line ended by CRLF whose previous line also ended by CRLF (the DATA line counts as CRLF-ended);
// every other line is stored with one leading dot removed (RFC 5321 4.5.2). With a text_line limit a
// line longer than it (ending included) is dropped and the message refused.
struct Expected {
  bool ended = false;
  std::size_t end = 0;  // offset just after the ".\r\n" line, from the start of the section
  std::string stored;   // the lines, LF-ended
  std::uint64_t size = 0;
  bool too_long = false;
};

Expected expect_data(std::string_view rest, std::size_t text_line) {
  Expected e;
  bool prev_crlf = true;
  std::size_t pos = 0;
  while (true) {
    auto lf = rest.find('\n', pos);
    if (lf == std::string_view::npos) return e;
    std::string_view line = rest.substr(pos, lf + 1 - pos);
    pos = lf + 1;
    bool crlf = line.size() >= 2 && line[line.size() - 2] == '\r';
    std::string_view text = line.substr(0, line.size() - (crlf ? 2 : 1));
    if (text == "." && crlf && prev_crlf) {
      e.ended = true;
      e.end = pos;
      return e;
    }
    prev_crlf = crlf;
    if (text_line != 0 && line.size() > text_line) {
      e.too_long = true;
      continue;
    }
    if (!text.empty() && text.front() == '.') text.remove_prefix(1);
    e.size += text.size() + 2;
    e.stored.append(text);
    e.stored += '\n';
  }
}

struct Harness {
  smtp::SessionInfo info;
  smtp::Limits limits;
  std::size_t command_line = 512;
  std::size_t text_line = 0;  // 0: long DATA lines come in pieces of `piece` octets
  std::size_t piece = 16384;
  fuzz::Bits outcomes{0};

  // State of the DATA section being read.
  bool in_data = false;
  Expected expected;
  std::size_t data_start = 0;
  std::string stored;

  void check_session(const smtp::ServerSession& s) {
    const auto& env = s.envelope();
    FUZZ_CHECK(env.recipients() <= limits.recipients);
    if (s.phase() == smtp::Phase::mail) FUZZ_CHECK(env.recipients() == 0);
    if (s.phase() == smtp::Phase::rcpt) FUZZ_CHECK(env.recipients() >= 1);
    for (std::size_t i = 0; i < env.local.size(); ++i) {
      FUZZ_CHECK(kDir.account(env.local[i]) == env.local[i]);
      FUZZ_CHECK(std::count(env.local.begin(), env.local.end(), env.local[i]) == 1);
    }
    // SPEC "Who may send what": only a submission relays, and a submission is an account's own.
    if (!env.remote.empty()) FUZZ_CHECK(env.submission);
    for (const auto& r : env.remote) FUZZ_CHECK(fuzz::printable(r) && smtp::valid_mailbox(r) && !kDir.is_local(smtp::domain_of(r)));
    FUZZ_CHECK(fuzz::printable(env.sender) && fuzz::printable(env.helo));
    if (env.submission && !s.authenticated()) {
      FUZZ_CHECK(!info.submission_requires_auth);
      FUZZ_CHECK(kDir.account(env.sender).has_value());
    }
  }

  // Follows one command line and its effects; false when the session closed.
  bool command(smtp::ServerSession& s, const Splitter::Line& line, Splitter& sp, std::string_view stream,
               std::size_t at, std::string_view& chunk) {
    if (fuzz::tracing()) std::fprintf(stderr, "C: %.*s%s\n", static_cast<int>(line.text.size()), line.text.data(),
                                      line.too_long ? " [too long]" : "");
    auto step = s.on_line(line.text, line.too_long);
    std::size_t replies = step.replies.size();
    for (const auto& r : step.replies) check_reply(r);
    if (step.fault && (step.fault->kind == fault::Kind::reply || step.fault->kind == fault::Kind::drop)) {
      // In place of the command: one reply (none for a drop); 421 and drop close.
      const bool drop = step.fault->kind == fault::Kind::drop;
      FUZZ_CHECK(replies == (drop ? 0u : 1u));
      const bool closes = drop || step.replies[0].code == 421;
      FUZZ_CHECK((step.effect == smtp::Effect::close) == closes && (s.phase() == smtp::Phase::closed) == closes);
      if (closes) return false;
      check_session(s);
      return true;
    }
    FUZZ_CHECK(replies <= 1 || (replies == 2 && step.effect == smtp::Effect::close));
    switch (step.effect) {
      case smtp::Effect::none:
        break;
      case smtp::Effect::close:
        FUZZ_CHECK(s.phase() == smtp::Phase::closed);
        FUZZ_CHECK(s.on_line("NOOP").replies.empty());
        return false;
      case smtp::Effect::start_tls:
        FUZZ_CHECK(info.tls_available && !s.tls_active());
        s.on_tls_started();
        FUZZ_CHECK(s.tls_active() && !s.authenticated() && s.phase() == smtp::Phase::greeted);
        sp.reset();  // the driver drops what was read before the handshake (CVE-2011-0411)
        chunk = {};
        break;
      case smtp::Effect::authenticate: {
        FUZZ_CHECK(replies == 0);
        FUZZ_CHECK(!s.auth_user().empty());
        std::optional<std::string> account;
        if (outcomes.next()) account = "usr1@mail.sustech.edu.cn";
        auto r = s.on_auth_result(account);
        FUZZ_CHECK(r.replies.size() >= 1 && r.replies[0].code == (account ? 235 : 535));
        for (const auto& x : r.replies) check_reply(x);
        FUZZ_CHECK(s.auth_password().empty() && s.auth_user().empty());
        replies += r.replies.size();
        if (r.effect == smtp::Effect::close) return false;
        break;
      }
      case smtp::Effect::begin_data: {
        FUZZ_CHECK(replies == 0);
        FUZZ_CHECK(s.phase() == smtp::Phase::rcpt && s.envelope().recipients() >= 1);
        bool ok = outcomes.next();
        auto r = s.on_data_started(ok);
        FUZZ_CHECK(r.replies.size() == 1 && r.replies[0].code == (ok ? 354 : 451));
        check_reply(r.replies[0]);
        replies = 1;
        if (!ok) {
          FUZZ_CHECK(s.phase() == smtp::Phase::ready);
          break;
        }
        FUZZ_CHECK(s.phase() == smtp::Phase::data);
        if (text_line == 0) sp.set_max(piece, Splitter::Overlong::split);
        else sp.set_max(text_line);
        in_data = true;
        data_start = at;
        expected = expect_data(stream.substr(at), text_line);
        stored.clear();
        break;
      }
      case smtp::Effect::deliver:
        FUZZ_CHECK(!"deliver outside DATA");
    }
    FUZZ_CHECK(replies >= 1);  // RFC 5321 4.2: every command gets a reply
    check_session(s);
    return true;
  }

  // One line inside DATA; false when the session closed.
  bool data_line(smtp::ServerSession& s, const Splitter::Line& line, Splitter& sp, std::size_t at) {
    auto d = s.on_data_line(line.text, line.ending, line.too_long, line.partial);
    if (fuzz::tracing())
      std::fprintf(stderr, "D: %.*s%s%s%s\n", static_cast<int>(line.text.size()), line.text.data(),
                   line.partial ? " [piece]" : "", line.too_long ? " [too long]" : "", d.end ? " [end]" : "");
    FUZZ_CHECK(!(d.end && d.store));
    if (d.store) {
      stored.append(d.content);
      if (d.newline) stored += '\n';
    }
    if (!d.end) return true;
    FUZZ_CHECK(expected.ended && data_start + expected.end == at);
    FUZZ_CHECK(s.data_size() == expected.size);
    in_data = false;
    sp.set_max(command_line);
    auto step = s.end_of_data();
    for (const auto& r : step.replies) check_reply(r);
    if (step.fault && step.fault->kind == fault::Kind::drop) {
      FUZZ_CHECK(step.effect == smtp::Effect::close && step.replies.empty() && s.phase() == smtp::Phase::closed);
      return false;
    }
    if (step.fault && step.fault->kind == fault::Kind::reply) {  // nothing is stored
      FUZZ_CHECK(step.effect == smtp::Effect::none && step.replies.size() == 1 && step.replies[0].code == 552);
    } else if (expected.too_long || expected.size > limits.message_size) {
      FUZZ_CHECK(step.effect == smtp::Effect::none && step.replies.size() == 1 && step.replies[0].code == 552);
    } else {
      FUZZ_CHECK(step.effect == smtp::Effect::deliver && step.replies.empty());
      FUZZ_CHECK(stored == expected.stored);
      bool ok = outcomes.next();
      Result<std::string> id = ok ? Result<std::string>(std::string("4Fq1")) : Result<std::string>(fail(Errc::io, "disk"));
      auto r = s.on_delivered(id);
      FUZZ_CHECK(r.replies.size() == 1 && r.replies[0].code == (ok ? 250 : 451));
      check_reply(r.replies[0]);
    }
    FUZZ_CHECK(s.phase() == smtp::Phase::ready);
    FUZZ_CHECK(s.envelope().recipients() == 0);
    return true;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  std::uint8_t flags = in.byte();
  fuzz::Cuts cuts(in.byte());
  std::uint8_t lengths = in.byte();
  std::uint16_t bits = static_cast<std::uint16_t>(in.byte() | in.byte() << 8);
  std::string_view stream = in.rest();

  Harness h;
  h.info = {"gmail.com", "127.0.0.1", (flags & 8) != 0, (flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0};
  h.limits.recipients = 1 + ((flags >> 5) & 3u);
  if (flags & 0x80) h.limits.message_size = 256;
  h.command_line = 64 + (lengths & 0x0fu) * 32;
  if (flags & 0x10) h.text_line = 80 + (lengths >> 4) * 16;
  h.piece = 16 + (lengths >> 4) * 16;
  h.outcomes = fuzz::Bits(bits);

  fault::Injector faults(fuzz::fault_rules(kFaults));
  h.info.faults = &faults;
  smtp::ServerSession s(h.info, h.limits, kDir);
  check_reply(s.greeting());
  Splitter sp(h.command_line);
  std::size_t fed = 0;  // octets of `stream` handed to the splitter so far
  std::string_view chunk;
  while (true) {
    if (chunk.empty()) {
      if (fed == stream.size()) break;
      std::size_t n = cuts.next(stream.size() - fed);
      chunk = stream.substr(fed, n);
      fed += n;
    }
    auto line = sp.next(chunk);
    if (!line) continue;
    std::size_t at = fed - chunk.size();  // offset just after this line (or piece)
    bool open = h.in_data ? h.data_line(s, *line, sp, at) : h.command(s, *line, sp, stream, at, chunk);
    if (!open) return 0;
  }
  // The input ran out: a DATA section still open must really be unfinished (no lost end of data).
  if (h.in_data) FUZZ_CHECK(!h.expected.ended);
  if (!h.in_data) {  // the core ignores DATA calls outside DATA
    auto d = s.on_data_line(".", Splitter::Ending::crlf, false);
    FUZZ_CHECK(!d.end && !d.store && s.end_of_data().replies.empty());
  }
  // Then the driver's idle deadline or a shutdown: 421 and close, in any phase.
  auto last = h.outcomes.next() ? s.on_timeout() : s.on_shutdown();
  FUZZ_CHECK(last.effect == smtp::Effect::close && last.replies.size() == 1 && last.replies[0].code == 421);
  check_reply(last.replies[0]);
  FUZZ_CHECK(s.phase() == smtp::Phase::closed && s.on_line("QUIT").replies.empty());
  return 0;
}
