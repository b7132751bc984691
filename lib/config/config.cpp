#include "config/config.hpp"

#include <algorithm>

#include "config/document.hpp"
#include "config/userinfo.hpp"
#include "util/address.hpp"
#include "util/text.hpp"

namespace mail::config {
namespace {

constexpr std::int64_t kDay = 86400;

std::chrono::seconds seconds(const Node& n, std::int64_t min, std::int64_t max) {
  return std::chrono::seconds(n.as_int(min, max));
}

Limits parse_limits(const Node& t, Limits l) {
  t.only_keys({"command_line", "text_line", "message_size", "recipients", "sessions", "smtp_idle", "pop3_idle",
               "min_data_rate", "per_peer", "per_peer_exempt", "errors"});
  if (auto n = t.find("command_line")) l.command_line = static_cast<size_t>(n->as_int(64, 1 << 20));
  if (auto n = t.find("text_line")) {
    l.text_line = static_cast<size_t>(n->as_int(0, 1 << 20));
    if (l.text_line != 0 && l.text_line < 80) n->fail("0 (no limit) or 80..1048576, got " + std::to_string(l.text_line));
  }
  if (auto n = t.find("message_size")) l.message_size = static_cast<std::uint64_t>(n->as_int(1, std::int64_t{1} << 40));
  if (auto n = t.find("recipients")) l.recipients = static_cast<size_t>(n->as_int(1, 100000));
  if (auto n = t.find("sessions")) l.sessions = static_cast<size_t>(n->as_int(1, 1000000));
  if (auto n = t.find("smtp_idle")) l.smtp_idle = seconds(*n, 1, kDay);
  if (auto n = t.find("pop3_idle")) l.pop3_idle = seconds(*n, 1, kDay);
  if (auto n = t.find("min_data_rate")) l.min_data_rate = static_cast<std::uint64_t>(n->as_int(0, 1 << 30));
  if (auto n = t.find("per_peer")) l.per_peer = static_cast<size_t>(n->as_int(0, 1000000));
  if (auto n = t.find("errors")) l.errors = static_cast<int>(n->as_int(1, 1000));
  if (auto n = t.find("per_peer_exempt")) {
    l.per_peer_exempt.clear();
    for (const auto& e : n->elements()) {
      auto range = util::Cidr::parse(e.as_string());
      if (!range) e.fail(range.error().detail);
      l.per_peer_exempt.push_back(std::move(*range));
    }
  }
  return l;
}

Queue parse_queue(const Node& t, Queue q) {
  t.only_keys({"retry_first", "retry_max", "lifetime", "delay_warning", "connection_cache_seconds"});
  if (auto n = t.find("retry_first")) q.retry_first = seconds(*n, 1, kDay);
  if (auto n = t.find("retry_max")) q.retry_max = seconds(*n, 1, 30 * kDay);
  if (auto n = t.find("lifetime")) q.lifetime = seconds(*n, 1, 365 * kDay);
  if (auto n = t.find("delay_warning")) q.delay_warning = seconds(*n, 0, 365 * kDay);
  if (auto n = t.find("connection_cache_seconds")) q.connection_cache = seconds(*n, 0, 300);
  if (q.retry_max < q.retry_first) t.fail("retry_max is smaller than retry_first");
  return q;
}

Tls parse_tls(const Node& t, Tls tls) {
  t.only_keys({"ca_dir", "allow_plaintext_auth", "relay"});
  if (auto n = t.find("ca_dir")) tls.ca_dir = n->as_string();
  if (auto n = t.find("allow_plaintext_auth")) tls.allow_plaintext_auth = n->as_bool();
  if (auto n = t.find("relay")) {
    auto v = n->as_string();
    if (v == "may") tls.relay = RelayTls::may;
    else if (v == "verify") tls.relay = RelayTls::verify;
    else if (v == "off") tls.relay = RelayTls::off;
    else n->fail("expected \"may\", \"verify\" or \"off\"");
  }
  return tls;
}

Policy parse_policy(const Node& t, Policy p) {
  t.only_keys({"submission_requires_auth", "mx_only"});
  if (auto n = t.find("submission_requires_auth")) p.submission_requires_auth = n->as_bool();
  if (auto n = t.find("mx_only")) p.mx_only = n->as_bool();
  return p;
}

std::uint16_t port(const Node& n, std::int64_t min = 1) {
  return static_cast<std::uint16_t>(n.as_int_or_digits(min, 65535));
}

const Node& require(const std::optional<Node>& n, const Node& parent, std::string_view key) {
  if (!n) parent.fail("missing key \"" + std::string(key) + "\"");
  return *n;
}

/// Fails on a value that is not an account's address (local@domain).
void check_address(const Node& n, const std::string& address) {
  if (auto why = address_problem(address); !why.empty()) n.fail(why);
}

void parse_agent(const Node& t, Config& c) {
  for (const auto& e : t.entries()) {
    e.expect_table();
    e.only_keys({"smtp", "pop"});
    AgentHosts h{require(e.find("smtp"), e, "smtp").as_string(), require(e.find("pop"), e, "pop").as_string()};
    auto domain = util::to_lower(e.key());
    if (!c.agent.emplace(domain, std::move(h)).second) e.fail("duplicate domain (domains compare case-insensitively)");
  }
}

void parse_server(const Node& t, Config& c) {
  for (const auto& e : t.entries()) {
    e.expect_table();
    e.only_keys({"smtp", "pop"});
    ServerPorts p{port(require(e.find("smtp"), e, "smtp")), port(require(e.find("pop"), e, "pop"))};
    if (p.smtp == p.pop) e.fail("smtp and pop use the same port " + std::to_string(p.smtp));
    c.server.emplace(e.key(), p);
  }
}

// The accounts of one [accounts."NAME"] table as they are added: where each is written (so that a
// duplicate names both places), and which server each domain belongs to (a domain has one server).
struct AccountsOf {
  const std::string& server;
  std::vector<Account>& list;
  std::map<std::string, std::string>& domain_owner;  // domain -> server, across tables
  std::map<std::string, std::string> seen{};        // canonical address -> "at FILE:LINE: key" / "on line N"

  /// Why `address` cannot be added ("" when it was): it is there already (named by `place` when it was
  /// added), or its domain belongs to another server.
  std::string add(const std::string& address, std::string password, std::string place) {
    auto [it, fresh] = seen.emplace(util::canonical_address(address), std::move(place));
    if (!fresh) return "duplicate account, also " + it->second + " (domains compare case-insensitively, local parts exactly)";
    auto domain = util::canonical_domain(address.substr(address.rfind('@') + 1));
    auto [owner, free] = domain_owner.emplace(domain, server);
    if (!free && owner->second != server) return "domain " + domain + " is already served by " + owner->second;
    list.push_back(Account{address, std::move(password)});
    return "";
  }
};

// The reserved keys `file` and `domain` (they have no '@', so no account can be named so): the accounts
// of a users file (userinfo.hpp), after the inline ones. Errors in the file name the file and its line.
void add_users_file(const Node& srv, const ReadFile& read, AccountsOf& accounts) {
  auto file = srv.find("file");
  auto domain = srv.find("domain");
  if (!file) {
    if (domain) domain->fail("only with file (the domain of the file's bare logins)");
    return;
  }
  auto path = file->as_string();
  if (path.empty()) file->fail("must not be empty");
  std::string bare_domain;
  if (domain) {
    bare_domain = domain->as_string();
    if (bare_domain.find('@') != std::string::npos || !address_problem("u@" + bare_domain).empty())
      domain->fail("expected a domain such as example.com");
  }
  auto text = read(path);
  if (!text) file->fail(text.error().detail);
  auto users = parse_userinfo(*text, path, bare_domain);
  if (!users) throw ConfigError(one_line(users.error().detail));
  for (auto& u : *users) {
    auto line = std::to_string(u.line);
    if (auto why = accounts.add(u.address, std::move(u.password), "on line " + line); !why.empty())
      throw ConfigError(one_line(path + ":" + line + ": " + u.address + ": " + why));
  }
}

void parse_accounts(const Node& t, Config& c, const ReadFile& read) {
  std::map<std::string, std::string> domain_owner;  // domain -> server
  for (const auto& srv : t.entries()) {
    if (!c.server.contains(srv.key())) srv.fail("no [server] entry has this name");
    AccountsOf accounts{srv.key(), c.accounts[srv.key()], domain_owner};
    for (const auto& acc : srv.entries()) {
      if (acc.key() == "file" || acc.key() == "domain") continue;
      check_address(acc, acc.key());
      if (auto why = accounts.add(acc.key(), acc.as_string(), "at " + acc.where()); !why.empty()) acc.fail(why);
    }
    add_users_file(srv, read, accounts);
  }
}

MailsrvTable parse_mailsrv_entry(const Node& e, const Config& c) {
  e.expect_table();
  e.only_keys({"listen", "smtps", "pop3s", "submission", "cert", "key", "faults", "limits", "queue", "tls", "policy"});
  MailsrvTable m;
  m.limits = c.limits;
  m.queue = c.queue;
  m.tls = c.tls;
  m.policy = c.policy;
  if (auto n = e.find("listen")) {
    m.listen = n->as_string();
    if (!util::is_ip_literal(m.listen)) n->fail("expected an IP address such as 127.0.0.1 or 0.0.0.0");
  }
  if (auto n = e.find("smtps")) m.smtps = port(*n, 0);
  if (auto n = e.find("pop3s")) m.pop3s = port(*n, 0);
  if (auto n = e.find("submission")) m.submission = port(*n, 0);
  if (auto n = e.find("cert")) m.cert = n->as_string();
  if (auto n = e.find("key")) m.key = n->as_string();
  if (m.cert.empty() != m.key.empty()) e.fail("cert and key must be given together");
  if (auto n = e.find("faults")) {
    m.faults = n->as_string();
    if (m.faults.empty()) n->fail("must not be empty (leave the key out for no fault rules)");
  }
  if (auto n = e.find("limits")) m.limits = parse_limits(*n, m.limits);
  if (auto n = e.find("queue")) m.queue = parse_queue(*n, m.queue);
  if (auto n = e.find("tls")) m.tls = parse_tls(*n, m.tls);
  if (auto n = e.find("policy")) m.policy = parse_policy(*n, m.policy);
  return m;
}

// An `IP:PORT` value such as "127.0.0.1:10053" ([fdns] listen, [view] listen).
std::string ip_port(const Node& n) {
  std::string v = n.as_string();
  auto hp = util::parse_host_port(v);
  if (!hp || !util::is_ip_literal(hp->host)) n.fail("expected IP:PORT such as \"127.0.0.1:10053\"");
  return v;
}

Config build(const Document& doc, const ReadFile& read) {
  Config c;
  c.file = doc.file();
  Node root = root_node(doc);
  root.only_keys({"agent", "server", "accounts", "fdns", "view", "paths", "limits", "queue", "tls", "policy", "mailsrv"});
  if (auto t = root.find("fdns")) {
    t->only_keys({"listen", "faults"});
    if (auto n = t->find("listen")) c.fdns_listen = ip_port(*n);
    if (auto n = t->find("faults")) {
      c.fdns_faults = n->as_string();
      if (c.fdns_faults.empty()) n->fail("must not be empty");
    }
  }
  if (auto t = root.find("view")) {
    t->only_keys({"listen"});
    if (auto n = t->find("listen")) c.view_listen = ip_port(*n);
  }
  if (auto t = root.find("paths")) {
    t->only_keys({"var"});
    if (auto n = t->find("var")) c.var = n->as_string();
    if (c.var.empty()) t->find("var")->fail("must not be empty");
  }
  c.tls.ca_dir = c.var + "/ca";  // docs/configuration.md: the lab CA lives under [paths] var unless [tls] ca_dir says otherwise
  if (auto t = root.find("limits")) c.limits = parse_limits(*t, c.limits);
  if (auto t = root.find("queue")) c.queue = parse_queue(*t, c.queue);
  if (auto t = root.find("tls")) c.tls = parse_tls(*t, c.tls);
  if (auto t = root.find("policy")) c.policy = parse_policy(*t, c.policy);
  if (auto t = root.find("agent")) parse_agent(*t, c);
  if (auto t = root.find("server")) parse_server(*t, c);
  if (auto t = root.find("accounts")) parse_accounts(*t, c, read);
  // After the world tables, so that per-server values start from them (precedence).
  if (auto t = root.find("mailsrv")) {
    for (const auto& e : t->entries()) {
      if (!c.server.contains(e.key())) e.fail("no [server] entry has this name");
      c.mailsrv.emplace(e.key(), parse_mailsrv_entry(e, c));
    }
  }
  return c;
}

Result<Config> from_document(Result<Document> doc, const ReadFile& read) {
  if (!doc) return std::move(doc).error();
  try {
    return build(*doc, read ? read : [](const std::string& path) { return read_file(path); });
  } catch (const ConfigError& e) {
    return fail(Errc::invalid, e.what());
  }
}

}  // namespace

Result<Config> load(const std::filesystem::path& file) { return from_document(Document::load(file), {}); }

Result<Config> parse(std::string_view text, std::string file_name, bool json, const ReadFile& read) {
  return from_document(Document::parse(text, std::move(file_name), json ? Format::json : Format::toml), read);
}

Result<ServerSettings> Config::server_settings(const std::string& name) const {
  auto srv = server.find(name);
  if (srv == server.end()) {
    std::string known;
    for (const auto& [n, p] : server) known += (known.empty() ? "" : ", ") + n;
    return fail(Errc::not_found, (file.empty() ? std::string("config") : file) + ": no [server] entry \"" + name +
                                     "\" (known: " + (known.empty() ? "none" : known) + ")");
  }
  ServerSettings s;
  s.name = name;
  s.ports = srv->second;
  s.limits = limits;
  s.queue = queue;
  s.tls = tls;
  s.policy = policy;
  if (auto m = mailsrv.find(name); m != mailsrv.end()) {
    s.listen = m->second.listen;
    s.smtps = m->second.smtps;
    s.pop3s = m->second.pop3s;
    s.submission = m->second.submission;
    s.cert = m->second.cert;
    s.key = m->second.key;
    s.faults = m->second.faults;
    s.limits = m->second.limits;
    s.queue = m->second.queue;
    s.tls = m->second.tls;
    s.policy = m->second.policy;
  }
  if (auto a = accounts.find(name); a != accounts.end()) s.accounts = a->second;
  for (const auto& acc : s.accounts) s.domains.push_back(util::canonical_domain(acc.address.substr(acc.address.rfind('@') + 1)));
  std::sort(s.domains.begin(), s.domains.end());
  s.domains.erase(std::unique(s.domains.begin(), s.domains.end()), s.domains.end());
  return s;
}

}  // namespace mail::config
