// The SMTP client side: a server's bytes cut into reads, split into lines (512 octets, as the relay's
// connection), parsed by smtp::ReplyParser, and each reply handed to the relay's smtp::ClientSession
// sending messages of two recipients (STARTTLS/AUTH when offered, per the input's bits).
// Checks: a reply has the code of its first line and exactly the text of its lines; formatting it and
// parsing it again gives the same reply; the parser holds no more than kMaxReplyLines lines; a recipient
// counts as delivered only after its body was sent and the end of DATA got a 2xx reply; the commands the
// client writes are printable CRLF lines.
//
// Input: cut seed, 2 bytes of choices, then the server's bytes.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "fuzz.hpp"
#include "smtp/client_session.hpp"
#include "smtp/reply.hpp"
#include "util/line_splitter.hpp"

using namespace mail;

namespace {

void check_commands(std::string_view out) {
  while (!out.empty()) {
    auto end = out.find("\r\n");
    FUZZ_CHECK(end != std::string_view::npos);
    FUZZ_CHECK(fuzz::printable(out.substr(0, end)));
    out.remove_prefix(end + 2);
  }
}

void check_round_trip(const smtp::Reply& r) {
  std::string wire = smtp::format(r);
  std::string_view w = wire;
  smtp::ReplyParser p;
  std::optional<smtp::Reply> back;
  while (!w.empty()) {
    auto end = w.find("\r\n");
    FUZZ_CHECK(end != std::string_view::npos && !back);
    back = p.feed(w.substr(0, end));
    FUZZ_CHECK(!p.error());
    w.remove_prefix(end + 2);
  }
  FUZZ_CHECK(back && back->code == r.code && back->lines == r.lines);
}

struct Client {
  smtp::ClientSession session{"mail.sustech.edu.cn"};
  fuzz::Bits choices;
  bool open = true;
  bool body_sent = false;
  int messages = 0;
  const std::vector<std::string> recipients{"usr@gmail.com", "usr2@gmail.com"};

  explicit Client(std::uint16_t bits) : choices(bits) {}

  // What the relay does when the session is ready: STARTTLS or AUTH when offered, a message, or QUIT.
  void ready() {
    if (session.offers_starttls() && choices.next()) return check_commands(session.starttls());
    if (session.offers_auth() && !session.authenticated() && choices.next())
      return check_commands(session.authenticate("usr1@mail.sustech.edu.cn", "pass1"));
    if (messages == 3 || choices.next()) {
      check_commands(session.quit());
      open = false;
      return;
    }
    ++messages;
    body_sent = false;
    auto step = session.begin({"usr1@mail.sustech.edu.cn", recipients, 100u + 1000u * static_cast<unsigned>(choices.next())});
    check_commands(step.out);
    if (step.event == smtp::ClientEvent::message_done) return done();
    FUZZ_CHECK(step.event == smtp::ClientEvent::none);
  }

  void done() {
    const auto& results = session.results();
    FUZZ_CHECK(results.size() == recipients.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
      FUZZ_CHECK(results[i].address == recipients[i] && results[i].command != nullptr);
      // Nothing counts as delivered unless the server took the body (RFC 5321 4.1.1.4).
      if (results[i].reply.positive())
        FUZZ_CHECK(body_sent && std::string_view(results[i].command) == "end of DATA");
    }
    ready();
  }

  void reply(const smtp::Reply& r) {
    auto step = session.on_reply(r);
    check_commands(step.out);
    switch (step.event) {
      case smtp::ClientEvent::none: break;
      case smtp::ClientEvent::ready:
      case smtp::ClientEvent::auth_done: ready(); break;
      case smtp::ClientEvent::send_body: body_sent = true; break;
      case smtp::ClientEvent::message_done: done(); break;
      case smtp::ClientEvent::tls: check_commands(session.restart()); break;
      case smtp::ClientEvent::failed: open = false; break;
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  fuzz::Cuts cuts(in.byte());
  Client client(static_cast<std::uint16_t>(in.byte() | in.byte() << 8));
  std::string_view stream = in.rest();

  util::LineSplitter sp(512);
  smtp::ReplyParser parser;
  std::vector<std::string> lines;  // of the reply being read
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
    if (line->too_long) {  // the relay drops such a connection; go on with a fresh parser
      client.open = false;
      parser = smtp::ReplyParser{};
      lines.clear();
      continue;
    }
    lines.emplace_back(line->text);
    auto r = parser.feed(line->text);
    FUZZ_CHECK(!(r && parser.error()));
    if (parser.error()) {
      client.open = false;
      lines.clear();
      continue;
    }
    if (!r) continue;
    // The reply is what its lines say: the code of the first, the text after "DDD-" of each.
    FUZZ_CHECK(r->code >= 200 && r->code <= 599 && std::to_string(r->code) == lines.front().substr(0, 3));
    FUZZ_CHECK(r->lines.size() == std::min(lines.size(), smtp::ReplyParser::kMaxLines));
    for (std::size_t i = 0; i < r->lines.size(); ++i)
      FUZZ_CHECK(r->lines[i] == (lines[i].size() > 4 ? lines[i].substr(4) : std::string()));
    check_round_trip(*r);
    lines.clear();
    if (client.open) client.reply(*r);
  }
  return 0;
}
