// mailview: the web view of a running world (docs/view.md). Receives the servers' event lines on a
// Unix datagram socket (--events), reads the world's config, Maildirs and queues, and serves the JSON
// API and the page on 127.0.0.1. Read-only unless --control names the world's control socket.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "config/config.hpp"
#include "dns/zone.hpp"
#include "receiver.hpp"
#include "server.hpp"
#include "util/cli.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace {

using namespace mail;

constexpr util::OptSpec kOptions[] = {
    {'c', "config", "FILE", "world config (default config/config.toml)"},
    {'z', "zone", "FILE", "fdns's zone, checked at start (default fdns/fdns.toml when it exists)"},
    {'e', "events", "PATH", "Unix datagram socket the servers send their events to (default var/events.sock)"},
    {'l', "listen", "IP", "HTTP address (default 127.0.0.1)"},
    {'p', "port", "PORT", "HTTP port (default 8025; 0: any free port)"},
    {0, "control", "PATH", "the world's control socket: enables POST /api/control/VERB/NAME"},
    {0, "history", "N", "sessions kept per server (default 200)"},
    {'h', "help", "", "show this help"},
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "mailview: %s\n", msg.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  auto args = util::parse_args(kOptions, argc, argv);
  if (!args) die(args.error().detail);
  if (args->has("help")) {
    std::cout << util::usage_text("mailview [-c config/config.toml] [-z fdns/fdns.toml] [--events PATH] [--listen IP] "
                                  "[--port 8025] [--control PATH] [--history N]", kOptions);
    return 0;
  }
  if (!args->positional.empty()) die("unexpected argument '" + args->positional.front() + "' (see --help)");
  log::init("mailview", log::Level::info);

  auto cfg = config::load(args->get("config", "config/config.toml"));
  if (!cfg) die(cfg.error().detail);
  std::string zone = args->get("zone", "fdns/fdns.toml");
  if (args->has("zone") || std::filesystem::exists(zone))
    if (auto z = dns::Zone::load(zone); !z) die(z.error().detail);
  auto port = util::parse_uint(args->get("port", "8025"), 65535);
  if (!port) die("--port: not a port: " + args->get("port"));
  auto history = util::parse_uint(args->get("history", "200"), 100000);
  if (!history || *history == 0) die("--history: a number of sessions from 1 to 100000: " + args->get("history"));

  std::vector<std::string> domains;  // the mail domains fdns answers for: those of the world's servers
  for (const auto& [name, _] : cfg->server)
    if (auto s = cfg->server_settings(name))
      domains.insert(domains.end(), s->domains.begin(), s->domains.end());
  auto servers = mailview::servers_of(*cfg, domains);
  mailview::State state{mailview::Model(mailview::Parties(servers), *history)};
  mailview::Disk disk(*cfg, servers);

  std::string events = args->get("events", (std::filesystem::path(cfg->var) / "events.sock").string());
  auto receiver = mailview::Receiver::bind(events);
  if (!receiver) die(receiver.error().detail);

  // SIGINT/SIGTERM go to one thread that stops everything (the HTTP threads inherit the mask).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  mailview::HttpServer http({args->get("listen", "127.0.0.1"), static_cast<std::uint16_t>(*port), args->get("control")},
                            servers, disk, state);
  std::thread feed([&] { receiver->run(state); });
  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    log::info("", "stopping", {{"signal", sig}});
    receiver->stop();
    http.stop();
  });
  bool ok = http.run([&](const std::string& addr) {
    log::info("http", "listening", {{"proto", "http"}, {"addr", addr}, {"events", events}});
  });
  if (!ok) log::error("http", "listen_failed", {{"addr", args->get("listen", "127.0.0.1") + ":" + std::to_string(*port)}});
  ::kill(::getpid(), SIGTERM);  // wakes the signal thread when the server ended on its own (blocked: no harm)
  signals.join();
  receiver->stop();
  feed.join();
  log::info("", "stopped");
  return ok ? 0 : 1;
}
