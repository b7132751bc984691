// mailsrv: one mail provider of the mail world (docs/reference.md "mailsrv", "SMTP", "POP3"): the SMTP
// server with durable Maildir delivery, the POP3 server over the same Maildirs, and the queue runner
// that relays to other servers found through the resolver and bounces failures; one event loop.
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <asio/io_context.hpp>

#include "config/config.hpp"
#include "util/auth.hpp"
#include "cert_refresh.hpp"
#include "net/event_feed.hpp"
#include "net/fault_file.hpp"
#include "net/reload_signal.hpp"
#include "net/stopper.hpp"
#include "relay.hpp"
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
    {0, "ephemeral", "", "state in a new temporary folder, removed at exit: every start begins empty"},
    {0, "listen", "ADDR", "address of every listener (default [mailsrv.NAME] listen, else 127.0.0.1)"},
    {0, "faults", "FILE", "fault rules for the SMTP and POP3 sessions (default [mailsrv.NAME] faults); SIGHUP re-reads it"},
    {0, "events", "PATH", "publish sessions, messages and relay attempts to the datagram socket PATH (docs/reference.md \"Event feed\")"},
    {0, "commit-threads", "N", "fsyncs that may run at once when making messages durable (default 8)"},
    {0, "hash-password", "", "read a password on standard input, print its {SHA512-CRYPT} hash, exit"},
    {'v', "verbose", "", "log every command and reply"},
    {'h', "help", "", "show this help"},
};

// --ephemeral: the folder to remove at exit, also when a start-up error exits through die().
std::filesystem::path g_ephemeral;

void remove_ephemeral() {
  if (g_ephemeral.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(g_ephemeral, ec);
  g_ephemeral.clear();
}

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

// docs/reference.md "mailsrv": raise the open-file limit as far as allowed (10,000 sessions need as many sockets).
void raise_nofile() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto args = util::parse_args(kOptions, argc, argv);
  if (!args) die(args.error().detail);
  if (args->has("help")) {
    std::cout << util::usage_text(
        "mailsrv -n NAME [-c config/config.toml] [-s SMTP_PORT] [-p POP_PORT] [--dns HOST:PORT | --zone FILE] "
        "[--data DIR | --ephemeral] [--listen ADDR] [--faults FILE] [--events PATH] [-v]",
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
  mailsrv::StartOptions start;
  start.data = args->get("data", (std::filesystem::path(cfg->var) / settings->name).string());
  if (args->has("ephemeral")) {
    if (args->has("data")) die("--data and --ephemeral exclude each other");
    std::error_code ec;
    auto tmp = std::filesystem::temp_directory_path(ec);  // $TMPDIR, else /tmp
    if (ec) die("--ephemeral: no temporary folder ($TMPDIR): " + ec.message());
    std::string tmpl = (tmp / ("mailsrv-" + settings->name + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) die("--ephemeral: cannot make a folder in " + tmp.string() + ": " + std::strerror(errno));
    start.data = g_ephemeral = tmpl;
    std::atexit(remove_ephemeral);  // a start-up error (die); a normal stop removes it at the end of main
  }
  start.verbose = verbose;
  start.zone = args->get("zone");
  start.dns = args->get("dns", cfg->fdns_listen);
  if (args->has("commit-threads")) {
    auto n = util::parse_uint(args->get("commit-threads"), 64);
    if (!n || *n == 0) die("--commit-threads: expected 1-64");
    start.commit_threads = static_cast<int>(*n);
  }

  // Fault rules (issue 13): read before anything starts, so a bad file is one line and exit 2. Declared
  // before the services, whose sessions hold its injector.
  net::FaultFile fault_file(args->get("faults", settings->faults), {fault::Protocol::smtp, fault::Protocol::pop3});
  if (auto loaded = fault_file.load(); !loaded) die(loaded.error().detail);

  raise_nofile();
  auto built = mailsrv::build_services(*cfg, std::move(*settings), start);
  if (!built) die(built.error().detail);
  // The config describes the whole world (every server's accounts: 27 MB for 50,000 of them); this
  // server runs on its own settings only. Free the rest and give the memory back, or a world of a
  // hundred servers holds a hundred copies of it.
  cfg = config::Config{};
  ::malloc_trim(0);
  // Declared after the services: the listeners go before them (and before their event loop).
  mailsrv::Services& svc = **built;
  if (args->has("events"))
    if (auto f = net::feed::start(*svc.io, args->get("events"), svc.settings.name); !f) die(f.error().detail);
  svc.faults = &fault_file.injector();
  auto smtp = mailsrv::listen_smtp(svc);
  if (!smtp) die(smtp.error().detail);
  auto pop3 = mailsrv::listen_pop3(svc);
  if (!pop3) die(pop3.error().detail);
  std::vector<std::unique_ptr<net::TcpServer>> implicit;  // [mailsrv.NAME] smtps / pop3s / submission
  for (auto [port, smtp_side] : {std::pair{svc.settings.smtps, true}, {svc.settings.pop3s, false}}) {
    if (port == 0) continue;
    auto s = smtp_side ? mailsrv::listen_smtp(svc, true) : mailsrv::listen_pop3(svc, true);
    if (!s) die(s.error().detail);
    implicit.push_back(std::move(*s));
  }
  if (svc.settings.submission != 0) {
    auto s = mailsrv::listen_submission(svc);
    if (!s) die(s.error().detail);
    implicit.push_back(std::move(*s));
  }

  net::Stopper stopper(*svc.io);
  stopper.add([&] { (*smtp)->stop(); }, [&] { return (*smtp)->active() == 0; });
  stopper.add([&] { (*pop3)->stop(); }, [&] { return (*pop3)->active() == 0; });
  stopper.add([&svc] { svc.relay->stop(); }, [&svc] { return svc.relay->idle(); });
  stopper.add([&svc] {
    if (svc.cert_refresh) svc.cert_refresh->stop();
  });
  for (auto& s : implicit) stopper.add([&s] { s->stop(); }, [&s] { return s->active() == 0; });
  stopper.add([&svc] { svc.cancel_login_waits(); });  // after the sessions were told to stop
  stopper.add([] { net::feed::stop(); });
  stopper.arm();
  // SIGHUP re-reads the fault rules (event=faults_loaded, or event=faults_rejected keeping the old ones).
  net::ReloadSignal hup(*svc.io, [&] { fault_file.reload(); });
  stopper.add([&hup] { hup.stop(); });
  log::info("", "started", {{"name", svc.settings.name}, {"data", start.data.string()},
                            {"ephemeral", g_ephemeral.empty() ? "no" : "yes"},
                            {"accounts", svc.settings.accounts.size()}, {"domains", svc.settings.domains.size()}});
  svc.relay->start();  // the queue is loaded before the listeners say they are ready
  (*smtp)->start();
  (*pop3)->start();
  for (auto& s : implicit) s->start();
  svc.io->run();
  net::feed::finish();  // while the event loop its timer belongs to exists
  auto st = svc.committer->stats();
  log::info("store", "commit_stats", {{"jobs", st.jobs}, {"batches", st.batches}, {"largest_batch", st.largest_batch}});
  // Now, while the stopper still catches signals: a second one (Ctrl-C reaches every program of the
  // world, then scripts/run-world sends SIGTERM) would end the process without atexit once it is gone.
  remove_ephemeral();
  return 0;  // the listeners, then the services in the order services.hpp gives
}
