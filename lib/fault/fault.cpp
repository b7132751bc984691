#include "fault/fault.hpp"

#include <algorithm>
#include <array>

#include "config/document.hpp"
#include "util/text.hpp"

namespace mail::fault {
namespace {

using config::Node;

constexpr std::array<std::string_view, 7> kPerKeys{"client", "sender", "recipient", "helo", "user", "name", "type"};
// Stages that are not verbs; everything else after "smtp "/"pop3 " must look like a verb.
constexpr std::array<std::string_view, 3> kSmtpStages{"connect", "greeting", "end-of-data"};
constexpr std::array<std::string_view, 1> kPop3Stages{"connect"};
constexpr std::array<std::string_view, 3> kDnsStages{"query", "udp", "tcp"};

template <std::size_t N>
bool one_of(std::string_view s, const std::array<std::string_view, N>& set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

bool is_verb(std::string_view s) {
  if (s.empty() || s.size() > 16) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return out;
}

void parse_when(const Node& n, Rule& r) {
  std::string when = n.as_string();
  auto space = when.find(' ');
  std::string proto = util::to_lower(when.substr(0, space));
  std::string stage = space == std::string::npos ? "" : std::string(util::trim(std::string_view(when).substr(space + 1)));
  r.when = when;
  if (proto == "smtp") r.protocol = Protocol::smtp;
  else if (proto == "pop3") r.protocol = Protocol::pop3;
  else if (proto == "dns") r.protocol = Protocol::dns;
  else n.fail("expected \"smtp STAGE\", \"pop3 STAGE\" or \"dns query|udp|tcp\", got \"" + when + "\"");
  std::string lower = util::to_lower(stage);
  bool ok = false;
  switch (r.protocol) {
    case Protocol::smtp:
      ok = one_of(lower, kSmtpStages) || is_verb(upper(stage));
      r.stage = one_of(lower, kSmtpStages) ? lower : upper(stage);
      if (r.stage == "HELO") r.stage = "EHLO";  // one stage for both greetings
      break;
    case Protocol::pop3:
      ok = one_of(lower, kPop3Stages) || is_verb(upper(stage));
      r.stage = one_of(lower, kPop3Stages) ? lower : upper(stage);
      break;
    case Protocol::dns:
      ok = one_of(lower, kDnsStages);
      r.stage = lower;
      break;
  }
  if (!ok) n.fail("unknown stage \"" + stage + "\" in \"" + when + "\"");
}

std::string glob_of(const Node& n) {
  std::string s = n.as_string();
  if (s.size() > 255) n.fail("a pattern of at most 255 characters");
  return s;
}

void parse_match(const Node& t, Rule& r) {
  t.expect_table();
  static constexpr std::array<std::string_view, 4> smtp_keys{"client", "sender", "recipient", "helo"};
  static constexpr std::array<std::string_view, 2> pop3_keys{"client", "user"};
  static constexpr std::array<std::string_view, 3> dns_keys{"client", "name", "type"};
  switch (r.protocol) {
    case Protocol::smtp: t.only_keys(smtp_keys); break;
    case Protocol::pop3: t.only_keys(pop3_keys); break;
    case Protocol::dns: t.only_keys(dns_keys); break;
  }
  if (auto n = t.find("client")) {
    auto add = [&r](const Node& e) {
      auto range = util::Cidr::parse(e.as_string());
      if (!range) e.fail(range.error().detail);
      r.clients.push_back(std::move(*range));
    };
    if (n->is_array()) {
      for (const auto& e : n->elements()) add(e);
      if (r.clients.empty()) n->fail("an empty list matches no client");
    } else {
      add(*n);
    }
  }
  if (auto n = t.find("sender")) r.sender = glob_of(*n), r.match_sender = true;
  if (auto n = t.find("recipient")) r.recipient = glob_of(*n), r.match_recipient = true;
  if (auto n = t.find("helo")) r.helo = glob_of(*n), r.match_helo = true;
  if (auto n = t.find("user")) r.user = glob_of(*n), r.match_user = true;
  if (auto n = t.find("name")) {
    r.name_pattern = glob_of(*n), r.match_name = true;
    if (!r.name_pattern.empty() && r.name_pattern.back() == '.') r.name_pattern.pop_back();
  }
  if (auto n = t.find("type")) r.type = upper(glob_of(*n)), r.match_type = true;
}

std::uint64_t number_after(const Node& n, std::string_view rest, std::uint64_t min, std::uint64_t max,
                           std::string_view what) {
  auto v = util::parse_uint(util::trim(rest), max);
  if (!v || *v < min)
    n.fail(std::string(what) + " " + std::to_string(min) + ".." + std::to_string(max) + " expected, got \"" +
           std::string(rest) + "\"");
  return *v;
}

void parse_do(const Node& n, Rule& r) {
  Action& a = r.action;
  a.spec = n.as_string();
  std::string_view spec = util::trim(a.spec);
  auto space = spec.find(' ');
  std::string verb = util::to_lower(spec.substr(0, space));
  std::string_view rest = space == std::string_view::npos ? "" : util::trim(spec.substr(space + 1));
  bool dns = r.protocol == Protocol::dns;
  auto no_argument = [&] {
    if (!rest.empty()) n.fail("\"" + verb + "\" takes no argument");
  };
  if (verb == "delay") {
    a.kind = Kind::delay;
    a.delay = std::chrono::milliseconds(number_after(n, rest, 0, 600000, "milliseconds"));
  } else if (verb == "drop") {
    no_argument();
    a.kind = Kind::drop;
  } else if (verb == "slow" && !dns) {
    a.kind = Kind::slow;
    a.rate = number_after(n, rest, 1, 1000000000, "octets per second");
  } else if (verb == "reply" && r.protocol == Protocol::smtp) {
    a.kind = Kind::reply;
    auto sp = rest.find(' ');
    a.code = static_cast<int>(number_after(n, rest.substr(0, sp), 400, 599, "reply code"));
    a.text = sp == std::string_view::npos ? "" : std::string(util::trim(rest.substr(sp + 1)));
    if (a.text.empty()) a.text = a.code < 500 ? "4.0.0 Temporary failure (fault rule)" : "5.0.0 Failure (fault rule)";
  } else if (verb == "reply" && r.protocol == Protocol::pop3) {
    a.kind = Kind::reply;
    if (!rest.starts_with("-ERR")) n.fail("a POP3 reply is \"reply -ERR TEXT\"");
    a.text = std::string(util::trim(rest.substr(4)));
    if (a.text.empty()) a.text = "failure (fault rule)";
  } else if (dns && verb == "servfail") {
    no_argument();
    a.kind = Kind::servfail;
  } else if (dns && verb == "nxdomain") {
    no_argument();
    a.kind = Kind::nxdomain;
  } else if (dns && verb == "refused") {
    no_argument();
    a.kind = Kind::refused;
  } else if (dns && verb == "truncate") {
    no_argument();
    a.kind = Kind::truncate;
  } else {
    n.fail(dns ? "expected delay MS, drop, servfail, nxdomain, refused or truncate, got \"" + a.spec + "\""
               : "expected reply ..., delay MS, drop or slow RATE, got \"" + a.spec + "\"");
  }
  for (char c : a.text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) n.fail("the reply text must be printable");
  if (a.text.size() > 400) n.fail("a reply text of at most 400 characters");
}

Rule parse_rule(const Node& t, std::size_t position) {
  t.expect_table();
  t.only_keys({"name", "when", "match", "do", "first", "every", "probability", "seed", "per"});
  Rule r;
  r.name = std::to_string(position);
  if (auto n = t.find("name")) {
    r.name = n->as_string();
    bool ok = !r.name.empty() && r.name.size() <= 64 &&
              std::all_of(r.name.begin(), r.name.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                       c == '_' || c == '.';
              });
    if (!ok) n->fail("a name of 1-64 letters, digits, '-', '_' or '.'");
  }
  auto when = t.find("when");
  if (!when) t.fail("a rule needs \"when\"");
  parse_when(*when, r);
  if (auto n = t.find("match")) parse_match(*n, r);
  auto action = t.find("do");
  if (!action) t.fail("a rule needs \"do\"");
  parse_do(*action, r);
  int modes = 0;
  if (auto n = t.find("first")) r.first = static_cast<std::uint64_t>(n->as_int(1, 1000000000)), ++modes;
  if (auto n = t.find("every")) r.every = static_cast<std::uint64_t>(n->as_int(1, 1000000000)), ++modes;
  if (auto n = t.find("probability")) {
    if (!n->json().is_number()) n->fail("a number 0 < p <= 1 expected");
    r.probability = n->json().get<double>();
    if (!(r.probability > 0 && r.probability <= 1)) n->fail("a number 0 < p <= 1 expected");
    ++modes;
  }
  if (modes > 1) t.fail("at most one of first, every, probability");
  if (auto n = t.find("seed")) {
    if (r.probability == 0) n->fail("seed is for probability");
    r.seed = static_cast<std::uint64_t>(n->as_int(0, std::int64_t{1} << 53));
  }
  if (auto n = t.find("per")) {
    for (const auto& e : n->elements()) {
      std::string key = e.as_string();
      if (!one_of(key, kPerKeys)) e.fail("one of client, sender, recipient, helo, user, name, type");
      r.per.push_back(key);
    }
  }
  return r;
}

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool any_recipient(std::string_view pattern, std::span<const std::string> recipients) {
  return std::any_of(recipients.begin(), recipients.end(), [&](const std::string& r) { return glob_match(pattern, r); });
}

bool matches(const Rule& r, const Event& e) {
  if (r.protocol != e.protocol) return false;
  if (r.protocol == Protocol::dns) {
    if (r.stage != "query" && r.stage != e.stage) return false;
    if (r.action.kind == Kind::truncate && e.stage == "tcp") return false;  // TC means nothing over TCP
  } else if (r.stage != e.stage) {
    return false;
  }
  if (!r.clients.empty() && !util::any_contains(r.clients, e.client)) return false;
  if (r.match_sender && (!e.has_sender || !glob_match(r.sender, e.sender))) return false;
  if (r.match_recipient && !any_recipient(r.recipient, e.recipients)) return false;
  if (r.match_helo && (e.helo.empty() || !glob_match(r.helo, e.helo))) return false;
  if (r.match_user && (e.user.empty() || !glob_match(r.user, e.user))) return false;
  if (r.match_name && !glob_match(r.name_pattern, e.name)) return false;
  if (r.match_type && !glob_match(r.type, e.type)) return false;
  return true;
}

std::string value_of(std::string_view key, const Event& e) {
  if (key == "client") return std::string(e.client);
  if (key == "sender") return std::string(e.sender);
  if (key == "recipient") {
    std::string all;
    for (const auto& r : e.recipients) all += (all.empty() ? "" : ",") + util::to_lower(r);
    return all;
  }
  if (key == "helo") return util::to_lower(e.helo);
  if (key == "user") return std::string(e.user);
  if (key == "name") return util::to_lower(e.name);
  return std::string(e.type);
}

}  // namespace

std::string_view to_string(Protocol p) noexcept {
  switch (p) {
    case Protocol::smtp: return "smtp";
    case Protocol::pop3: return "pop3";
    case Protocol::dns: return "dns";
  }
  return "?";
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative matcher with one backtrack point: linear in practice, never exponential.
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || util::ascii_lower(pattern[p]) == util::ascii_lower(text[t]))) {
      ++p, ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++, mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1, t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Result<Rules> Rules::parse(const config::Document& doc) {
  Rules out;
  try {
    Node root = config::root_node(doc);
    root.expect_table();
    root.only_keys({"rule"});
    if (auto list = root.find("rule")) {
      std::size_t position = 0;
      for (const auto& t : list->elements()) out.rules_.push_back(parse_rule(t, ++position));
      if (out.rules_.size() > 1000) list->fail("at most 1000 rules");
    }
  } catch (const config::ConfigError& e) {
    return fail(Errc::invalid, e.what());
  }
  return out;
}

Result<Rules> Rules::load(const std::filesystem::path& file) {
  auto doc = config::Document::load(file);
  if (!doc) return std::move(doc).error();
  return parse(*doc);
}

Result<Rules> Rules::load(const std::filesystem::path& file, std::span<const Protocol> allowed) {
  auto rules = load(file);
  if (!rules) return rules;
  for (const auto& r : rules->rules()) {
    if (std::find(allowed.begin(), allowed.end(), r.protocol) == allowed.end())
      return fail(Errc::invalid, file.string() + ": rule " + r.name + ": \"" + r.when + "\" is not for this server");
  }
  return rules;
}

std::string tuple_key(std::span<const std::string> per, const Event& event) {
  std::string key;
  for (const auto& k : per) key += value_of(k, event) + '\0';
  if (key.size() <= kMaxKeyLength) return key;
  // A long tuple (up to 100 recipients at end-of-data) is kept as two independent 64-bit hashes: a
  // client choosing many long tuples costs 16 octets a key, not kilobytes.
  std::uint64_t a = 0xcbf29ce484222325ULL, b = 0x9e3779b97f4a7c15ULL;
  for (unsigned char c : key) {
    a = (a ^ c) * 0x100000001b3ULL;
    b = splitmix64(b) ^ c;
  }
  std::string digest(16, '\0');
  for (int i = 0; i < 8; ++i) {
    digest[i] = static_cast<char>(a >> (8 * i));
    digest[8 + i] = static_cast<char>(b >> (8 * i));
  }
  return digest;
}

void Injector::replace(Rules rules) {
  rules_ = std::move(rules);
  states_.assign(rules_.rules().size(), State{});
}

Injector::Counter& Injector::counter(std::size_t rule, const std::string& key) {
  State& s = states_[rule];
  if (auto it = s.index.find(key); it != s.index.end()) return it->second->second;
  if (s.order.size() >= kMaxKeys) {
    s.index.erase(s.order.front().first);
    s.order.pop_front();
  }
  Counter fresh;
  fresh.random = rules_.rules()[rule].seed;
  s.order.emplace_back(key, fresh);
  s.index.emplace(key, std::prev(s.order.end()));
  return s.order.back().second;
}

std::optional<Applied> Injector::check(const Event& event) {
  const auto& rules = rules_.rules();
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const Rule& r = rules[i];
    if (!matches(r, event)) continue;
    Counter& c = counter(i, tuple_key(r.per, event));
    ++c.matches;
    bool applies = true;
    if (r.first != 0) applies = c.matches <= r.first;
    else if (r.every != 0) applies = c.matches % r.every == 0;
    else if (r.probability > 0)
      applies = static_cast<double>(splitmix64(c.random) >> 11) * 0x1.0p-53 < r.probability;
    if (!applies) continue;
    Applied a{&r, &r.action, {}};
    a.fields.emplace_back("rule", r.name);
    a.fields.emplace_back("when", r.when);
    a.fields.emplace_back("do", r.action.spec);
    if (!event.client.empty()) a.fields.emplace_back("client", std::string(event.client));
    if (event.has_sender) a.fields.emplace_back("sender", std::string(event.sender));
    if (!event.recipients.empty()) a.fields.emplace_back("recipient", value_of("recipient", event));
    if (!event.user.empty()) a.fields.emplace_back("user", std::string(event.user));
    if (!event.name.empty()) a.fields.emplace_back("name", std::string(event.name));
    if (!event.type.empty()) a.fields.emplace_back("type", std::string(event.type));
    return a;
  }
  return std::nullopt;
}

}  // namespace mail::fault
