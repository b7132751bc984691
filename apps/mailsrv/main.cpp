// mailsrv: one mail provider of the mail world (SPEC.md "The programs", "SMTP", "POP3"): the SMTP
// server with durable Maildir delivery, the POP3 server over the same Maildirs, and the queue runner
// that relays to other servers found through the resolver and bounces failures; one event loop.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <set>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include "config/config.hpp"
#include "net/dns_client.hpp"
#include "net/pki.hpp"
#include "net/tls.hpp"
#include "util/auth.hpp"
#include "net/stopper.hpp"
#include "relay.hpp"
#include "store/data_lock.hpp"
#include "services.hpp"
#include "util/cli.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace {

using namespace mail;

constexpr util::OptSpec kOptions[] = {
    {'n', "name", "NAME", "server name: a [server] entry of the config (required)"},
    {'c', "config", "FILE", "world config (default config/config.toml)"},
    {'s', "smtp-port", "PORT", "SMTP port (default [server.NAME] smtp)"},
    {'p', "pop-port", "PORT", "POP3 port (default [server.NAME] pop)"},
    {0, "dns", "IP:PORT", "DNS server for relay lookups (default [fdns] listen)"},
    {0, "zone", "FILE", "answer relay lookups from this zone file instead of a DNS server"},
    {0, "data", "DIR", "state folder (default <paths.var>/NAME)"},
    {0, "listen", "ADDR", "address of every listener (default [mailsrv.NAME] listen, else 127.0.0.1)"},
    {0, "commit-threads", "N", "fsyncs that may run at once when making messages durable (default 8)"},
    {0, "hash-password", "", "read a password on standard input, print its {SHA512-CRYPT} hash, exit"},
    {'v', "verbose", "", "log every command and reply"},
    {'h', "help", "", "show this help"},
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "mailsrv: %s\n", msg.c_str());
  std::exit(2);
}

std::uint16_t port_flag(const util::Args& args, std::string_view name, std::uint16_t fallback) {
  if (!args.has(name)) return fallback;
  auto v = util::parse_uint(args.get(name), 65535);
  if (!v || *v == 0) die("--" + std::string(name) + ": expected a port 1-65535, got '" + args.get(name) + "'");
  return static_cast<std::uint16_t>(*v);
}

// SPEC: raise the open-file limit as far as allowed (10,000 sessions need as many sockets).
void raise_nofile() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// The names a server certificate must carry: the server's, the hosts its users are told to use, the
// MX hosts of its domains (asked quickly: fdns may not be up yet), localhost and 127.0.0.1.
std::vector<std::string> certificate_names(const mailsrv::Services& svc, const config::Config& cfg,
                                           const std::string& zone, const std::string& dns) {
  std::set<std::string> names{svc.settings.name, "localhost", "127.0.0.1"};
  for (const auto& d : svc.settings.domains) {
    if (auto it = cfg.agent.find(d); it != cfg.agent.end()) {
      names.insert(util::to_lower(it->second.smtp));
      names.insert(util::to_lower(it->second.pop));
    }
  }
  std::unique_ptr<net::Resolver> resolver;
  if (!zone.empty()) {
    if (auto r = net::make_resolver(zone, ""); r) resolver = std::move(*r);
  } else if (auto hp = util::parse_host_port(dns, 53); hp && util::is_ip_literal(hp->host)) {
    resolver = std::make_unique<net::DnsClient>(net::DnsClientOptions{hp->host, hp->port, std::chrono::milliseconds(200), 1, 16});
  }
  if (resolver) {
    asio::io_context io;
    asio::co_spawn(io, [](net::Resolver* r, std::vector<std::string> domains, std::set<std::string>* out) -> asio::awaitable<void> {
      for (const auto& d : domains)
        if (auto mx = co_await r->mx(d))
          for (const auto& m : *mx) out->insert(util::to_lower(m.exchange.to_text()));
    }(resolver.get(), svc.settings.domains, &names), asio::detached);
    io.run();
  }
  names.erase("");
  return {names.begin(), names.end()};
}

Result<void> setup_tls(mailsrv::Services& svc, const config::Config& cfg, const std::string& zone, const std::string& dns) {
  auto ca = net::pki::ensure_ca(svc.settings.tls.ca_dir);
  if (!ca) return ca.error();
  net::pki::Pem identity;
  if (!svc.settings.cert.empty()) {
    auto cert = net::pki::read_pem(svc.settings.cert);
    auto key = net::pki::read_pem(svc.settings.key);
    if (!cert || !key) return fail(Errc::not_found, !cert ? cert.error().detail : key.error().detail);
    identity = {*cert, *key};
  } else {
    auto issued = net::pki::ensure_server_cert(*ca, svc.layout->data() / "tls", certificate_names(svc, cfg, zone, dns));
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
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  auto args = util::parse_args(kOptions, argc, argv);
  if (!args) die(args.error().detail);
  if (args->has("help")) {
    std::cout << util::usage_text(
        "mailsrv -n NAME [-c config/config.toml] [-s SMTP_PORT] [-p POP_PORT] [--dns HOST:PORT | --zone FILE] "
        "[--data DIR] [--listen ADDR] [-v]",
        kOptions);
    return 0;
  }
  if (!args->positional.empty()) die("unexpected argument '" + args->positional.front() + "' (see --help)");
  if (args->has("hash-password")) {
    std::string pw;
    std::getline(std::cin, pw);
    std::cout << util::hash_password(pw) << "\n";
    return 0;
  }
  if (!args->has("name")) die("-n NAME is required (see --help)");
  bool verbose = args->has("verbose");
  log::init("mailsrv", verbose ? log::Level::debug : log::Level::info);

  auto cfg = config::load(args->get("config", "config/config.toml"));
  if (!cfg) die(cfg.error().detail);
  auto settings = cfg->server_settings(args->get("name"));
  if (!settings) die(settings.error().detail);
  settings->ports.smtp = port_flag(*args, "smtp-port", settings->ports.smtp);
  settings->ports.pop = port_flag(*args, "pop-port", settings->ports.pop);
  if (args->has("listen")) {
    settings->listen = args->get("listen");
    if (!util::is_ip_literal(settings->listen)) die("--listen: expected an IP address, got '" + settings->listen + "'");
  }
  if (args->has("dns") && args->has("zone")) die("--dns and --zone exclude each other");
  auto resolver = net::make_resolver(args->get("zone"), args->get("dns", cfg->fdns_listen));
  if (!resolver) die(resolver.error().detail);
  int commit_threads = 8;
  if (args->has("commit-threads")) {
    auto n = util::parse_uint(args->get("commit-threads"), 64);
    if (!n || *n == 0) die("--commit-threads: expected 1-64");
    commit_threads = static_cast<int>(*n);
  }

  raise_nofile();
  mailsrv::Services svc;
  svc.settings = std::move(*settings);
  svc.verbose = verbose;
  svc.accounts = std::make_unique<mailsrv::Accounts>(svc.settings.accounts);
  std::filesystem::path data = args->get("data", (std::filesystem::path(cfg->var) / svc.settings.name).string());
  auto lock = store::DataLock::acquire(data);  // before anything touches the data: one mailsrv per folder
  if (!lock) die(lock.error().detail);
  svc.layout = std::make_unique<store::Layout>(data);
  if (auto r = svc.layout->prepare(svc.accounts->addresses()); !r) die(r.error().detail);
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  svc.host = host;
  svc.committer = std::make_unique<store::Committer>(commit_threads);
  svc.store = std::make_unique<net::Store>(*svc.layout, *svc.committer);
  svc.sink = mailsrv::make_sink(svc);

  if (auto r = setup_tls(svc, *cfg, args->get("zone"), args->get("dns", cfg->fdns_listen)); !r) die(r.error().detail);

  asio::io_context io(1);
  auto smtp = mailsrv::listen_smtp(io, svc);
  if (!smtp) die(smtp.error().detail);
  auto pop3 = mailsrv::listen_pop3(io, svc);
  if (!pop3) die(pop3.error().detail);
  std::vector<std::unique_ptr<net::TcpServer>> implicit;  // [mailsrv.NAME] smtps / pop3s / submission
  for (auto [port, smtp_side] : {std::pair{svc.settings.smtps, true}, {svc.settings.pop3s, false}}) {
    if (port == 0) continue;
    auto s = smtp_side ? mailsrv::listen_smtp(io, svc, true) : mailsrv::listen_pop3(io, svc, true);
    if (!s) die(s.error().detail);
    implicit.push_back(std::move(*s));
  }
  if (svc.settings.submission != 0) {
    auto s = mailsrv::listen_submission(io, svc);
    if (!s) die(s.error().detail);
    implicit.push_back(std::move(*s));
  }

  mailsrv::Relay relay(io, svc, **resolver);
  svc.relay = &relay;

  net::Stopper stopper(io);
  stopper.add([&] { (*smtp)->stop(); }, [&] { return (*smtp)->active() == 0; });
  stopper.add([&] { (*pop3)->stop(); }, [&] { return (*pop3)->active() == 0; });
  stopper.add([&] { relay.stop(); }, [&] { return relay.idle(); });
  for (auto& s : implicit) stopper.add([&s] { s->stop(); }, [&s] { return s->active() == 0; });
  stopper.add([&svc] { svc.cancel_login_waits(); });  // after the sessions were told to stop
  stopper.arm();
  log::info("", "started", {{"name", svc.settings.name}, {"data", data.string()},
                            {"accounts", svc.settings.accounts.size()}, {"domains", svc.settings.domains.size()}});
  relay.start();  // the queue is loaded before the listeners say they are ready
  (*smtp)->start();
  (*pop3)->start();
  for (auto& s : implicit) s->start();
  io.run();
  auto st = svc.committer->stats();
  log::info("store", "commit_stats", {{"jobs", st.jobs}, {"batches", st.batches}, {"largest_batch", st.largest_batch}});
  // The committer finishes its last jobs while the io_context they post their completions to still exists.
  svc.committer.reset();
  return 0;
}
