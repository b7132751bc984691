#include "services.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include "cert_refresh.hpp"
#include "net/dns_client.hpp"
#include "net/pki.hpp"
#include "relay.hpp"
#include "util/address.hpp"
#include "util/auth.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace mailsrv {

using namespace mail;

namespace {

// The names a server certificate must carry: the server's, the hosts its users are told to use, the
// MX hosts of its domains (asked quickly: fdns may not be up yet; CertRefresh asks again), localhost,
// 127.0.0.1 and the listen address.
CertNames certificate_names(const Services& svc, const config::Config& cfg, const StartOptions& o) {
  CertNames out{{svc.settings.name, "localhost", "127.0.0.1"}, {}};
  auto& names = out.names;
  if (svc.settings.listen != "0.0.0.0" && svc.settings.listen != "::") names.insert(svc.settings.listen);
  for (const auto& d : svc.settings.domains) {
    if (auto it = cfg.agent.find(d); it != cfg.agent.end()) {
      names.insert(util::to_lower(it->second.smtp));
      names.insert(util::to_lower(it->second.pop));
    }
  }
  std::unique_ptr<net::Resolver> resolver;
  if (!o.zone.empty()) {
    if (auto r = net::make_resolver(o.zone, ""); r) resolver = std::move(*r);
  } else if (auto hp = util::parse_host_port(o.dns, 53); hp && util::is_ip_literal(hp->host)) {
    resolver = std::make_unique<net::DnsClient>(net::DnsClientOptions{hp->host, hp->port, std::chrono::milliseconds(200), 1, 16});
  }
  if (resolver) {
    asio::io_context io;
    asio::co_spawn(io, add_mx_names(*resolver, svc.settings.domains, out), asio::detached);
    io.run();
  }
  names.erase("");
  return out;
}

Result<void> setup_tls(Services& svc, const config::Config& cfg, const StartOptions& o) {
  auto ca = net::pki::ensure_ca(svc.settings.tls.ca_dir);
  if (!ca) return ca.error();
  net::pki::Pem identity;
  CertNames names;
  if (!svc.settings.cert.empty()) {
    auto cert = net::pki::read_pem(svc.settings.cert);
    auto key = net::pki::read_pem(svc.settings.key);
    if (!cert || !key) return fail(Errc::not_found, !cert ? cert.error().detail : key.error().detail);
    identity = {*cert, *key};
  } else {
    names = certificate_names(svc, cfg, o);
    auto issued = net::pki::ensure_server_cert(*ca, svc.layout->data() / "tls", {names.names.begin(), names.names.end()});
    if (!issued) return issued.error();
    identity = *issued;
  }
  auto server = net::TlsContext::server(identity);
  if (!server) return server.error();
  auto client = net::TlsContext::client(ca->cert);
  if (!client) return client.error();
  svc.tls_server = *server;
  svc.tls_client = *client;
  log::info("tls", "ready", {{"ca", (std::filesystem::path(svc.settings.tls.ca_dir) / "ca.pem").string()},
                             {"ca_sha256", net::pki::sha256_fingerprint(ca->cert)},
                             {"cert_sha256", net::pki::sha256_fingerprint(identity.cert)}});
  if (!names.missing.empty()) {  // the DNS server did not answer (yet): serve, and ask again
    log::warn("tls", "cert_names_incomplete", {{"missing", join_names(names.missing)}, {"retry_in", 1}});
    svc.cert_refresh = std::make_unique<CertRefresh>(svc, std::move(*ca), std::move(names));
    svc.cert_refresh->start();
  }
  return {};
}

}  // namespace

Services::Services() = default;
Services::~Services() = default;

Result<std::unique_ptr<Services>> build_services(const config::Config& cfg, config::ServerSettings settings,
                                                 const StartOptions& o) {
  auto resolver = net::make_resolver(o.zone, o.dns);  // a bad --zone file is refused before the data is touched
  if (!resolver) return resolver.error();
  auto svc = std::make_unique<Services>();
  svc->settings = std::move(settings);
  svc->verbose = o.verbose;
  svc->dns_server = o.zone.empty() ? o.dns : "zone " + o.zone;
  auto lock = store::DataLock::acquire(o.data);  // before anything touches the data: one mailsrv per folder
  if (!lock) return lock.error();
  svc->data_lock.emplace(std::move(*lock));
  svc->accounts = std::make_unique<Accounts>(svc->settings.accounts);
  svc->layout = std::make_unique<store::Layout>(o.data);
  if (auto r = svc->layout->prepare(svc->accounts->addresses()); !r) return r.error();
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  svc->host = host;
  svc->committer = std::make_unique<store::Committer>(o.commit_threads);
  svc->store = std::make_unique<net::Store>(*svc->layout, *svc->committer);
  svc->sink = make_sink(*svc);
  svc->io = std::make_unique<asio::io_context>(1);
  if (auto r = setup_tls(*svc, cfg, o); !r) return r.error();
  svc->resolver = std::move(*resolver);
  svc->relay = std::make_unique<Relay>(*svc->io, *svc, *svc->resolver);
  return svc;
}

Accounts::Accounts(const std::vector<config::Account>& accounts) {
  for (const auto& a : accounts) {
    by_key_.emplace(util::canonical_address(a.address), a.address);
    passwords_.emplace(a.address, a.password);
    auto at = a.address.rfind('@');
    by_local_[a.address.substr(0, at)].push_back(a.address);
    domains_.emplace(util::canonical_domain(a.address.substr(at + 1)), true);
  }
}

std::optional<std::string> Accounts::resolve_user(std::string_view user) const {
  if (user.find('@') != std::string_view::npos) return account(user);
  auto it = by_local_.find(std::string(user));
  if (it == by_local_.end() || it->second.size() != 1) return std::nullopt;
  return it->second.front();
}

std::optional<std::string> Accounts::check_login(std::string_view user, std::string_view password) const {
  auto account = resolve_user(user);
  // An unknown user costs the same comparison, so the time does not tell which accounts exist.
  static const std::string kNobody = "\x01no such account\x01";
  const std::string& stored = account ? passwords_.at(*account) : kNobody;
  bool ok = util::verify_password(stored, password);
  if (!account || !ok) return std::nullopt;
  return account;
}

bool Accounts::is_local(std::string_view domain) const { return domains_.contains(util::canonical_domain(domain)); }

std::optional<std::string> Accounts::account(std::string_view address) const {
  auto it = by_key_.find(util::canonical_address(address));
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Accounts::addresses() const {
  std::vector<std::string> out;
  for (const auto& [k, a] : by_key_) out.push_back(a);
  return out;
}

std::string Services::next_id() {
  using namespace std::chrono;
  auto us = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%llX%04llX", static_cast<unsigned long long>(us),
                static_cast<unsigned long long>(counter.fetch_add(1) & 0xFFFF));
  return buf;
}

std::string Services::next_unique() {
  using namespace std::chrono;
  auto now = system_clock::now().time_since_epoch();
  auto secs = duration_cast<seconds>(now).count();
  auto usecs = duration_cast<microseconds>(now).count() % 1000000;
  return store::maildir::unique_name(secs, static_cast<long>(usecs), static_cast<long>(::getpid()), counter.fetch_add(1),
                                     host);
}

}  // namespace mailsrv
