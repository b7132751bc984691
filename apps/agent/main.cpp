// agent: the user's mail client (docs/reference.md "agent"). Finds the servers of the user's domain in the
// config's [agent] table and through the pseudo-DNS, then either runs the course's interactive loop
// or one command: send, stat, list, uidl, retr, top, dele, or wait / expect-bounce (a test driver).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include "agent.hpp"
#include "watch.hpp"
#include "config/config.hpp"
#include "net/dns_client.hpp"
#include "util/cli.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace {

using namespace mail;

constexpr util::OptSpec kOptions[] = {
    {'e', "email", "EMAIL", "your address (required)"},
    {'p', "password", "PASSWORD", "your password (required)"},
    {'c', "config", "FILE", "world config with the [agent] table (default config/config.toml)"},
    {'s', "smtp", "HOST[:PORT]", "SMTP server instead of [agent.DOMAIN] smtp"},
    {'P', "pop", "HOST[:PORT]", "POP3 server instead of [agent.DOMAIN] pop"},
    {0, "dns", "IP:PORT", "DNS server (default [fdns] listen)"},
    {0, "zone", "FILE", "answer lookups from this zone file instead of a DNS server"},
    {0, "tls", "MODE", "starttls (default: when offered) | implicit | off"},
    {0, "auth", "", "authenticate to the SMTP server with -e/-p (PLAIN, or LOGIN)"},
    {0, "cafile", "FILE", "CA to verify servers with (default <paths.var>/ca/ca.pem)"},
    {0, "insecure", "", "do not verify server certificates"},
    {0, "json", "", "print results as JSON"},
    {'v', "verbose", "", "show the POP3 dialogue on stderr"},
    {'h', "help", "", "show this help"},
};

constexpr util::OptSpec kSendOptions[] = {
    {0, "to", "ADDR", "recipient (repeatable)"},          {0, "cc", "ADDR", "copy (repeatable)"},
    {0, "bcc", "ADDR", "blind copy (repeatable)"},        {0, "subject", "TEXT", "subject"},
    {0, "body", "TEXT", "body text, or - for standard input"}, {0, "body-file", "FILE", "body from a file"},
    {0, "attach", "FILE", "attachment (repeatable)"},     {0, "html", "FILE", "HTML alternative of the body"},
};

std::string usage() {
  return "agent -e EMAIL -p PASSWORD [-c config/config.toml] [-s HOST[:PORT]] [-P HOST[:PORT]] [--dns HOST:PORT | --zone FILE]\n"
         "             [--json] [-v] [COMMAND ...]\n"
         "commands: send --to A [--to B] [--cc C] [--bcc D] --subject S (--body TEXT | --body-file F | --body -)\n"
         "               [--attach FILE ...] [--html FILE]\n"
         "          " + agent::pop_usage() + "\n"
         "          " + agent::watch_usage("wait") + " | " + agent::watch_usage("expect-bounce") + "\n"
         "without a command: the interactive prompt [smtp|pop|exit]>>>";
}

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "agent: " << msg << std::endl;
  std::exit(2);
}

std::string slurp(std::istream& in) {
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

asio::awaitable<int> run_send(agent::Agent& a, const std::vector<std::string>& args) {
  std::vector<const char*> argv{"send"};
  for (std::size_t i = 1; i < args.size(); ++i) argv.push_back(args[i].c_str());
  auto o = util::parse_args(kSendOptions, static_cast<int>(argv.size()), argv.data());
  if (!o) die("send: " + o.error().detail);
  if (!o->positional.empty()) die("send: unexpected argument '" + o->positional.front() + "'");
  agent::MailRequest req{o->all("to"), o->all("cc"), o->all("bcc"), o->get("subject"), {}, {}, o->all("attach")};
  if (req.to.empty() && req.cc.empty() && req.bcc.empty()) die("send: at least one --to, --cc or --bcc");
  if (o->has("body-file")) {
    std::ifstream in(o->get("body-file"), std::ios::binary);
    if (!in) die("send: cannot read " + o->get("body-file"));
    req.text = slurp(in);
  } else if (o->get("body") == "-") {
    req.text = slurp(std::cin);
  } else {
    req.text = o->get("body");
  }
  if (o->has("html")) {
    std::ifstream in(o->get("html"), std::ios::binary);
    if (!in) die("send: cannot read " + o->get("html"));
    req.html = slurp(in);
  }
  auto r = co_await agent::send_mail(a, req);
  if (!r) {
    agent::complain(r.error().detail);
    co_return 1;
  }
  if (a.json) std::cout << nlohmann::json{{"sent", true}}.dump() << "\n";
  else std::cout << "Mail sent successfully\n";
  co_return 0;
}

asio::awaitable<int> run_command(agent::Agent& a, std::vector<std::string> args) {
  if (args.empty()) co_return co_await agent::interactive(a);
  if (args[0] == "send") co_return co_await run_send(a, args);
  if (agent::is_watch_command(args[0])) co_return co_await agent::run_watch(a, args);
  agent::PopClient pop(a);
  auto opened = co_await pop.open();
  if (!opened) {
    agent::complain(opened.error().detail);
    co_return 1;
  }
  int rc = co_await agent::run_pop_command(a, pop, args, false);
  if (pop.connected()) co_await pop.command("QUIT");  // DELE takes effect at QUIT
  co_return rc;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = util::parse_args(kOptions, argc, argv, true);
  if (!args) die(args.error().detail);
  if (args->has("help")) {
    std::cout << util::usage_text(usage(), kOptions);
    return 0;
  }
  log::init("agent", log::Level::warn);
  agent::Agent a;
  a.email = args->get("email");
  a.password = args->get("password");
  if (a.email.empty() || a.password.empty()) die("-e EMAIL and -p PASSWORD are required (see --help)");
  auto at = a.email.rfind('@');
  if (at == std::string::npos || at + 1 == a.email.size()) die("-e: '" + a.email + "' is not an address");
  auto domain = util::to_lower(a.email.substr(at + 1));
  a.json = args->has("json");
  a.verbose = args->has("verbose");
  auto mode = args->get("tls", "starttls");
  if (mode != "starttls" && mode != "implicit" && mode != "off") die("--tls: expected starttls, implicit or off");
  a.tls = mode == "implicit" ? agent::Agent::Tls::implicit : mode == "off" ? agent::Agent::Tls::off : agent::Agent::Tls::starttls;
  a.auth = args->has("auth");
  a.insecure = args->has("insecure");
  if (a.insecure && args->has("cafile")) die("--cafile and --insecure exclude each other");

  std::string config_file = args->get("config", "config/config.toml");
  std::string dns = "127.0.0.1:10053";
  config::AgentHosts hosts;
  std::string ca_file = "var/ca/ca.pem";
  if (args->has("config") || std::filesystem::exists(config_file)) {
    auto cfg = config::load(config_file);
    if (!cfg) die(cfg.error().detail);
    dns = cfg->fdns_listen;
    ca_file = (std::filesystem::path(cfg->tls.ca_dir) / "ca.pem").string();
    if (auto it = cfg->agent.find(domain); it != cfg->agent.end()) hosts = it->second;
  }
  std::string ca_pem;
  if (args->has("cafile")) {
    std::ifstream in(args->get("cafile"), std::ios::binary);
    if (!in) die("--cafile: cannot read " + args->get("cafile"));
    ca_pem = slurp(in);
  } else if (std::ifstream in(ca_file, std::ios::binary); in) {
    ca_pem = slurp(in);
  }
  auto tls = net::TlsContext::client(ca_pem);
  if (!tls) die(tls.error().detail);
  a.tls_context = *tls;
  a.smtp_spec = args->get("smtp", hosts.smtp);
  a.pop_spec = args->get("pop", hosts.pop);
  if (a.smtp_spec.empty() || a.pop_spec.empty())
    die("no [agent] entry for " + domain + " in " + config_file + " (or give -s and -P)");
  if (args->has("dns") && args->has("zone")) die("--dns and --zone exclude each other");
  auto resolver = net::make_resolver(args->get("zone"), args->get("dns", dns));
  if (!resolver) die(resolver.error().detail);
  a.resolver = std::move(*resolver);
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  a.helo = host;

  asio::io_context io(1);
  int rc = 1;
  asio::co_spawn(io, run_command(a, args->positional), [&](std::exception_ptr e, int v) {
    rc = v;
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        agent::complain(ex.what());
        rc = 1;
      }
    }
  });
  io.run();
  std::cout << std::flush;
  return rc;
}
