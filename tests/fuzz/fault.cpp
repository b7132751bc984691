// Fault rule files (fault::Rules, TOML or JSON) on any text, then events chosen by the input fed to two
// injectors. Checks: an error is one line that starts with the file name; a TOML file and the same tree
// as JSON are accepted or refused alike; the same rules and events give the same decisions in both
// injectors (no hidden state, same seed -> same sequence); an applied rule is for the event's protocol and
// stage; `first = N` never applies more than N times per tuple; a reply action has a code 400..599 (SMTP).
//
// Input: flags (bit 0: JSON), the number of events, then the file's text.
#include <map>
#include <string>
#include <vector>

#include "config/document.hpp"
#include "fault/fault.hpp"
#include "fuzz.hpp"

using namespace mail;

namespace {

void check_error(const Error& e, const char* file) {
  FUZZ_CHECK(e.detail.rfind(file, 0) == 0);
  FUZZ_CHECK(e.detail.find('\n') == std::string::npos);
}

constexpr const char* kStages[] = {"connect", "greeting", "end-of-data", "EHLO", "MAIL", "RCPT", "DATA",
                                   "RETR",    "USER",     "query",       "udp",  "tcp"};
constexpr const char* kValues[] = {"", "a@b.c", "usr2@mail.sustech.edu.cn", "GMAIL.com", "MX", "127.0.0.1", "::1", "P"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  bool json = in.byte() & 1;
  int events = in.byte();
  std::string_view text = in.rest();
  const char* file = json ? "fuzz.json" : "fuzz.toml";
  auto doc = config::Document::parse(text, file, json ? config::Format::json : config::Format::toml);
  if (!doc) {
    check_error(doc.error(), file);
    return 0;
  }
  auto rules = fault::Rules::parse(*doc);
  if (!json) {
    auto as_json = config::Document::parse(doc->root().dump(), "fuzz.json", config::Format::json);
    FUZZ_CHECK(as_json.has_value());
    auto again = fault::Rules::parse(*as_json);
    FUZZ_CHECK(again.has_value() == rules.has_value());
    if (!again) check_error(again.error(), "fuzz.json");
  }
  if (!rules) {
    check_error(rules.error(), file);
    return 0;
  }
  for (const auto& r : rules->rules())
    if (r.action.kind == fault::Kind::reply && r.protocol == fault::Protocol::smtp)
      FUZZ_CHECK(r.action.code >= 400 && r.action.code <= 599);
  fault::Injector a(*rules), b(*rules);
  std::map<std::pair<const fault::Rule*, std::string>, std::uint64_t> applied;
  // Events come from the text's own bytes, so the fuzzer steers both rules and events.
  std::uint32_t x = static_cast<std::uint32_t>(text.size()) * 2654435761u + 1;
  for (int i = 0; i < events; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    fault::Event e;
    e.protocol = static_cast<fault::Protocol>(x % 3);
    e.stage = kStages[(x >> 2) % std::size(kStages)];
    e.client = kValues[(x >> 6) % std::size(kValues)];
    e.sender = kValues[(x >> 9) % std::size(kValues)];
    e.has_sender = (x >> 12) & 1;
    std::vector<std::string> rcpts{kValues[(x >> 13) % std::size(kValues)]};
    e.recipients = rcpts;
    e.user = kValues[(x >> 16) % std::size(kValues)];
    e.name = kValues[(x >> 19) % std::size(kValues)];
    e.type = kValues[(x >> 22) % std::size(kValues)];
    auto ra = a.check(e);
    auto rb = b.check(e);
    FUZZ_CHECK(ra.has_value() == rb.has_value());
    if (!ra) continue;
    FUZZ_CHECK(ra->rule->name == rb->rule->name);
    FUZZ_CHECK(ra->rule->protocol == e.protocol);
    if (e.protocol != fault::Protocol::dns) FUZZ_CHECK(ra->rule->stage == e.stage);
    if (ra->rule->first != 0 && ra->rule->per.empty()) {
      auto& n = applied[{ra->rule, ""}];
      FUZZ_CHECK(++n <= ra->rule->first);
    }
  }
  return 0;
}
