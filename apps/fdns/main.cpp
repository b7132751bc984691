// fdns: the pseudo-DNS server of the mail world. Answers MX, P (type 65280) and A records from
// fdns/fdns.toml over UDP and TCP on one address (docs/reference.md "Zone file" and "fdns"), unless a
// fault rule (--faults, re-read on SIGHUP) says otherwise.
#include <malloc.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <asio/io_context.hpp>

#include "config/config.hpp"
#include "dns/zone.hpp"
#include "net/event_feed.hpp"
#include "net/fault_file.hpp"
#include "net/reload_signal.hpp"
#include "net/stopper.hpp"
#include "services.hpp"
#include "util/cli.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace {

using namespace mail;

constexpr util::OptSpec kOptions[] = {
    {'z', "zone", "FILE", "zone file (default fdns/fdns.toml)"},
    {'l', "listen", "IP:PORT", "address for UDP and TCP (default [fdns] listen, else 127.0.0.1:10053)"},
    {'c', "config", "FILE", "world config, for [fdns] listen and faults (default config/config.toml)"},
    {'f', "faults", "FILE", "fault rules (default [fdns] faults, else none); re-read on SIGHUP"},
    {0, "events", "PATH", "publish each answered question to the datagram socket PATH (docs/reference.md \"Event feed\")"},
    {'v', "verbose", "", "log every TCP connection"},
    {'h', "help", "", "show this help"},
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "fdns: %s\n", msg.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  auto args = util::parse_args(kOptions, argc, argv);
  if (!args) die(args.error().detail);
  if (args->has("help")) {
    std::cout << util::usage_text("fdns [-z fdns/fdns.toml] [-l 127.0.0.1:10053] [-c config/config.toml] [-f FILE] [--events PATH] [-v]", kOptions);
    return 0;
  }
  if (!args->positional.empty()) die("unexpected argument '" + args->positional.front() + "' (see --help)");
  log::init("fdns", args->has("verbose") ? log::Level::debug : log::Level::info);

  std::string listen = "127.0.0.1:10053";
  std::string faults;
  std::string config_file = args->get("config", "config/config.toml");
  if (args->has("config") || std::filesystem::exists(config_file)) {
    auto cfg = config::load(config_file);
    if (!cfg) die(cfg.error().detail);
    listen = cfg->fdns_listen;
    faults = cfg->fdns_faults;
  }
  listen = args->get("listen", listen);
  auto hp = util::parse_host_port(listen);
  if (!hp) die("-l: " + hp.error().detail);

  auto zone = dns::Zone::load(args->get("zone", "fdns/fdns.toml"));
  if (!zone) die(zone.error().detail);
  auto shared_zone = std::make_shared<const dns::Zone>(std::move(*zone));
  // The file went through TOML and a JSON tree (config::Document) on its way to the zone: freed, but
  // glibc keeps it in the heap. Give it back (a zone of 10^6 names: about 600 -> 330 MB; issue 15).
  malloc_trim(0);
  net::FaultFile fault_file(args->get("faults", faults), {fault::Protocol::dns});  // an smtp rule is an error
  if (auto loaded = fault_file.load(); !loaded) die(loaded.error().detail);
  fdns::Answers answers{shared_zone, &fault_file.injector()};

  asio::io_context io(1);
  if (args->has("events"))
    if (auto f = net::feed::start(io, args->get("events"), "fdns"); !f) die(f.error().detail);
  auto udp = fdns::UdpService::bind(io, hp->host, hp->port, answers);
  if (!udp) die(udp.error().detail);
  auto tcp = fdns::listen_tcp(io, hp->host, hp->port, answers);
  if (!tcp) die(tcp.error().detail);

  net::ReloadSignal hup(io, [&] { fault_file.reload(); });
  net::Stopper stopper(io);
  stopper.add([&] { hup.stop(); });
  stopper.add([&] { (*udp)->stop(); });
  stopper.add([&] { (*tcp)->stop(); }, [&] { return (*tcp)->active() == 0; });
  stopper.add([] { net::feed::stop(); });
  stopper.arm();
  log::info("dns", "zone_loaded", {{"names", shared_zone->size()}, {"ttl", shared_zone->ttl()}});
  (*udp)->start();
  (*tcp)->start();
  io.run();
  net::feed::finish();
  return 0;
}
