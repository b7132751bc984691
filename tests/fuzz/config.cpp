// The config loader (config::parse, TOML or JSON) on any text. Checks: an error is one line that starts
// with the file name; a TOML file and the same tree written as JSON are accepted or refused alike and
// give the same settings; every [server] entry yields settings whose domains are those of its
// accounts, lowercased, sorted and unique. A users file (`[accounts."NAME"] file`) is read as a fixed
// small text whatever its name; an error found in it starts with that name instead.
//
// Input: flags (bit 0: JSON), then the file's text.
#include <algorithm>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/document.hpp"
#include "fuzz.hpp"
#include "util/address.hpp"
#include "util/text.hpp"

using namespace mail;

namespace {

constexpr std::string_view kUsers = "# users\nalice pw1\r\nbob@other.org  pw2\n";

// Reads every users file as kUsers, remembering the names asked for.
struct Reader {
  std::vector<std::string> asked;
  config::ReadFile read() {
    return [this](const std::string& path) -> Result<std::string> {
      asked.push_back(path);
      return std::string(kUsers);
    };
  }
};

void check_error(const Error& e, const char* file, const Reader& r) {
  bool named = e.detail.rfind(file, 0) == 0;
  for (const auto& path : r.asked) named = named || e.detail.rfind(config::one_line(path) + ":", 0) == 0;
  FUZZ_CHECK(named);
  FUZZ_CHECK(e.detail.find('\n') == std::string::npos);  // one line naming file, line and key
}

bool same_limits(const config::Limits& a, const config::Limits& b) {
  return a.command_line == b.command_line && a.text_line == b.text_line && a.message_size == b.message_size &&
         a.recipients == b.recipients && a.sessions == b.sessions && a.smtp_idle == b.smtp_idle &&
         a.pop3_idle == b.pop3_idle && a.min_data_rate == b.min_data_rate && a.per_peer == b.per_peer &&
         a.per_peer_exempt.size() == b.per_peer_exempt.size() && a.errors == b.errors;
}

bool same(const config::Config& a, const config::Config& b) {
  if (a.fdns_listen != b.fdns_listen || a.var != b.var || !same_limits(a.limits, b.limits)) return false;
  if (a.server.size() != b.server.size() || a.agent.size() != b.agent.size() || a.mailsrv.size() != b.mailsrv.size())
    return false;
  for (const auto& [name, p] : a.server) {
    auto it = b.server.find(name);
    if (it == b.server.end() || it->second.smtp != p.smtp || it->second.pop != p.pop) return false;
  }
  for (const auto& [name, list] : a.accounts) {
    auto it = b.accounts.find(name);
    if (it == b.accounts.end() || it->second.size() != list.size()) return false;
    for (std::size_t i = 0; i < list.size(); ++i)
      if (it->second[i].address != list[i].address || it->second[i].password != list[i].password) return false;
  }
  return true;
}

void check_settings(const config::Config& c) {
  for (const auto& [name, ports] : c.server) {
    auto s = c.server_settings(name);
    FUZZ_CHECK(s.has_value() && s->ports.smtp == ports.smtp && s->ports.pop == ports.pop);
    FUZZ_CHECK(std::is_sorted(s->domains.begin(), s->domains.end()));
    FUZZ_CHECK(std::adjacent_find(s->domains.begin(), s->domains.end()) == s->domains.end());
    for (const auto& acc : s->accounts) {
      auto domain = util::canonical_domain(acc.address.substr(acc.address.rfind('@') + 1));  // the one address rule
      FUZZ_CHECK(std::binary_search(s->domains.begin(), s->domains.end(), domain));
    }
  }
  FUZZ_CHECK(!c.server_settings("no such server (fuzz)").has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  bool json = in.byte() & 1;
  std::string_view text = in.rest();
  const char* file = json ? "fuzz.json" : "fuzz.toml";
  Reader reader;
  auto c = config::parse(text, file, json, reader.read());
  if (!c) {
    check_error(c.error(), file, reader);
  } else {
    check_settings(*c);
  }
  if (json) return 0;
  // The same tree as JSON: the checks must not depend on the file's format.
  auto doc = config::Document::parse(text, file, config::Format::toml);
  if (!doc) {
    FUZZ_CHECK(!c);
    return 0;
  }
  Reader json_reader;
  auto as_json = config::parse(doc->root().dump(), "fuzz.json", true, json_reader.read());
  FUZZ_CHECK(as_json.has_value() == c.has_value());
  FUZZ_CHECK(json_reader.asked == reader.asked);
  if (as_json) FUZZ_CHECK(same(*c, *as_json));
  else check_error(as_json.error(), "fuzz.json", json_reader);
  return 0;
}
