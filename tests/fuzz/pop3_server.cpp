// The POP3 server core driven as mailsrv drives it: reads cut from the input, split into command lines,
// every effect answered from the input (login result, update result, the message sent by RETR/TOP).
// Checks: each response is CRLF-ended printable text that the agent's ResponseReader, told by
// pop3::is_multiline whether to expect a body, reads as exactly one response; the counts of STAT
// always match the listing minus the deleted messages; credentials are forgotten after every login.
//
// Input: flags, cut seed, 2 bytes of effect outcomes, then the client's bytes.
//   flags bit 0 STLS available, 1 implicit TLS, 2 AUTH PLAIN before TLS, 3-5 messages in the maildrop.
#include <optional>
#include <string>

#include "fuzz.hpp"
#include "pop3/client.hpp"
#include "pop3/server_session.hpp"
#include "util/dot_stuffer.hpp"
#include "util/line_splitter.hpp"

using namespace mail;

namespace {

// The maildrop: up to 7 messages of different sizes (their text does not matter to the core).
pop3::Listing listing(unsigned n) {
  pop3::Listing l;
  for (unsigned i = 0; i < n; ++i) {
    std::string name = "17953167" + std::to_string(90 + i) + ".M" + std::to_string(i) + "P1Q1.vm,S=" +
                       std::to_string(100 * i + 7) + ",W=" + std::to_string(104 * i + 9) + ":2,";
    l.add(name, 20, 104 * i + 9);
  }
  return l;
}

// Fault rules (issue 13) met now and then (seeded): -ERR or a drop in place of a command.
constexpr std::string_view kFaults = R"(rule = [
  { when = "pop3 RETR", do = "reply -ERR [SYS/TEMP] try later", probability = 0.3, seed = 3 },
  { when = "pop3 PASS", match = { user = "usr*" }, do = "reply -ERR [AUTH] not now", probability = 0.3, seed = 4 },
  { when = "pop3 TOP", do = "slow 100", probability = 0.3, seed = 5 },
  { when = "pop3 NOOP", do = "drop", probability = 0.2, seed = 6 },
  { when = "pop3 USER", do = "delay 5", probability = 0.2, seed = 7 },
])";

const std::string kMessage = "Subject: hi\n\n.dot line\nbody\n.\n";

// Reads `out` as the agent would after sending `command`; the whole of `out` is one response, except
// that a closing session may add one more -ERR line.
void check_response(std::string_view out, std::string_view command, bool closing) {
  if (out.empty()) return;
  pop3::ResponseReader reader;
  reader.expect(pop3::is_multiline(command));
  std::optional<pop3::Response> done;
  bool first = true;
  while (!out.empty()) {
    auto end = out.find("\r\n");
    FUZZ_CHECK(end != std::string_view::npos);
    std::string_view line = out.substr(0, end);
    FUZZ_CHECK(fuzz::printable(line));
    if (first) FUZZ_CHECK(line.rfind("+OK", 0) == 0 || line.rfind("-ERR", 0) == 0 || line.rfind("+ ", 0) == 0);
    first = false;
    out.remove_prefix(end + 2);
    if (done) {  // a line after the response: only "-ERR too many errors" as the session closes
      FUZZ_CHECK(closing && out.empty() && line.rfind("-ERR ", 0) == 0);
      return;
    }
    done = reader.feed(line);
  }
  FUZZ_CHECK(done.has_value());
}

void check_counts(const pop3::ServerSession& s) {
  if (s.phase() != pop3::Phase::transaction) return;
  auto deleted = s.deleted();
  FUZZ_CHECK(s.count() + deleted.size() == s.listing().size());
  std::uint64_t octets = 0;
  for (std::size_t i = 0; i < s.listing().size(); ++i) octets += s.listing().octets(i);
  for (auto i : deleted) octets -= s.listing().octets(i);
  FUZZ_CHECK(s.octets() == octets);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  std::uint8_t flags = in.byte();
  fuzz::Cuts cuts(in.byte());
  fuzz::Bits outcomes(static_cast<std::uint16_t>(in.byte() | in.byte() << 8));
  std::string_view stream = in.rest();

  pop3::Options opts{"gmail.com", (flags & 4) != 0, 20, (flags & 1) != 0, (flags & 2) != 0};
  unsigned messages = (flags >> 3) & 7u;
  fault::Injector faults(fuzz::fault_rules(kFaults));
  opts.faults = &faults;
  pop3::ServerSession s(opts);
  check_response(s.greeting(), "", false);
  util::LineSplitter sp(512);  // mailsrv's POP3 line limit
  std::size_t fed = 0;
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
    std::string command(line->text);  // kept: the splitter may reuse its buffer
    bool secret = s.expects_secret();
    auto step = s.on_line(command, line->too_long);
    if (step.fault && step.fault->kind == fault::Kind::drop) {  // closed without a word
      FUZZ_CHECK(step.out.empty() && step.effect == pop3::Effect::close && s.phase() == pop3::Phase::closed);
      return 0;
    }
    if (step.fault && step.fault->kind == fault::Kind::reply) FUZZ_CHECK(step.out.rfind("-ERR ", 0) == 0);
    std::string out = step.out;
    switch (step.effect) {
      case pop3::Effect::none:
      case pop3::Effect::close:
        break;
      case pop3::Effect::login: {
        FUZZ_CHECK(s.phase() == pop3::Phase::authorization && !s.login_user().empty());
        unsigned pick = outcomes.next() ? 0u : 1u + (outcomes.next() ? 1u : 0u) + (outcomes.next() ? 1u : 0u);
        auto result = static_cast<pop3::LoginResult>(pick);
        auto r = s.on_login(result, listing(messages));
        FUZZ_CHECK(s.login_password().empty() && s.login_user().empty());
        FUZZ_CHECK((s.phase() == pop3::Phase::transaction) == (result == pop3::LoginResult::ok));
        out += r.out;
        step.effect = r.effect;
        break;
      }
      case pop3::Effect::start_tls:
        FUZZ_CHECK(opts.tls_available && !s.tls_active());
        s.on_tls_started();
        FUZZ_CHECK(s.tls_active() && s.login_user().empty());
        sp.reset();
        chunk = {};
        break;
      case pop3::Effect::send: {
        FUZZ_CHECK(s.phase() == pop3::Phase::transaction && s.send_index() < s.listing().size());
        bool gone = false;
        for (auto i : s.deleted()) gone = gone || i == s.send_index();
        FUZZ_CHECK(!gone);
        util::DotStuffer stuffer(s.send_body_lines());
        stuffer.feed(kMessage, out);
        stuffer.finish(out);
        break;
      }
      case pop3::Effect::update: {
        FUZZ_CHECK(s.phase() == pop3::Phase::update && out.empty());
        auto r = s.on_updated(outcomes.next());
        FUZZ_CHECK(r.effect == pop3::Effect::close && s.phase() == pop3::Phase::closed);
        out += r.out;
        step.effect = r.effect;
        break;
      }
    }
    bool closing = step.effect == pop3::Effect::close;
    if (fuzz::tracing()) std::fprintf(stderr, "C: %s\nS: %s", command.c_str(), out.c_str());
    check_response(out, secret ? std::string() : command, closing);
    FUZZ_CHECK(!out.empty());  // every command (and SASL line) gets a response
    check_counts(s);
    if (closing) {
      FUZZ_CHECK(s.phase() == pop3::Phase::closed);
      FUZZ_CHECK(s.on_line("NOOP").out.empty());
      return 0;
    }
  }
  // The input ran out: the driver's idle deadline or a shutdown closes with -ERR and deletes nothing.
  auto last = outcomes.next() ? s.on_timeout() : s.on_shutdown();
  FUZZ_CHECK(last.effect == pop3::Effect::close && last.out.rfind("-ERR ", 0) == 0);
  check_response(last.out, "", false);
  FUZZ_CHECK(s.phase() == pop3::Phase::closed && s.on_line("QUIT").out.empty());
  return 0;
}
