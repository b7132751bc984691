// net::FaultFile and net::ReloadSignal, shared by fdns and mailsrv: a rule file loaded and re-read
// (faults_loaded / faults_rejected, the old rules kept), and SIGHUP delivered to a callback instead of
// ending the process.
#include "net/fault_file.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "../temp_dir.hpp"
#include "net/reload_signal.hpp"
#include "util/log.hpp"

using namespace mail;

namespace {

struct Captured {
  std::vector<std::string> lines;
  Captured() {
    log::set_sink([this](std::string_view l) { lines.emplace_back(l); });
  }
  ~Captured() { log::set_sink({}); }
  std::size_t count(std::string_view text) const {
    std::size_t n = 0;
    for (const auto& l : lines) n += l.find(text) != std::string::npos;
    return n;
  }
};

void write(const std::filesystem::path& p, std::string_view text) {
  std::ofstream(p) << text;
}

fault::Event dns_query() {
  fault::Event e;
  e.protocol = fault::Protocol::dns;
  e.stage = "udp";
  e.name = "gmail.com";
  e.type = "MX";
  return e;
}

}  // namespace

TEST_CASE("FaultFile: loaded and re-read; a bad file is one rejected line and the old rules stay") {
  TempDir dir;
  auto file = dir.path / "faults.toml";
  write(file, "rule = [{ name = \"a\", when = \"dns query\", do = \"servfail\", first = 1 }]\n");
  Captured log;
  net::FaultFile f(file, {fault::Protocol::dns});
  REQUIRE(f.load());
  CHECK(log.count("event=faults_loaded file=" + file.string() + " rules=1") == 1);
  CHECK(f.injector().check(dns_query()));
  CHECK_FALSE(f.injector().check(dns_query()));  // first = 1: used up

  f.reload();  // the same file: counters start afresh
  CHECK(log.count("event=faults_loaded") == 2);
  CHECK(f.injector().check(dns_query()));

  write(file, "rule = [{ when = \"dns query\", do = \"servfail\" }]\nbogus = 1\n");
  f.reload();
  REQUIRE(log.count("event=faults_rejected") == 1);
  CHECK(log.lines.back().find("file=" + file.string() + " error=\"" + file.string() + ":2: ") != std::string::npos);
  CHECK(f.injector().size() == 1);
  CHECK_FALSE(f.injector().check(dns_query()));  // the old rule, its counter kept

  write(file, "rule = [{ when = \"smtp RCPT\", do = \"drop\" }]\n");
  CHECK_FALSE(f.load());  // another server's rule
  CHECK(log.count("event=faults_loaded") == 2);
}

TEST_CASE("FaultFile without a file: no rules, and a reload says there is nothing to read") {
  Captured log;
  net::FaultFile f("", {fault::Protocol::dns});
  REQUIRE(f.load());
  CHECK(f.injector().empty());
  f.reload();
  CHECK(log.count("event=reload faults=none") == 1);
  CHECK(log.count("faults_loaded") == 0);
}

TEST_CASE("ReloadSignal: each SIGHUP runs the callback on the io_context; stop() ends the wait") {
  asio::io_context io;
  int reloads = 0;
  net::ReloadSignal hup(io, [&] {
    if (++reloads == 2) io.stop();
    else std::raise(SIGHUP);
  });
  std::raise(SIGHUP);  // would end the process without the handler
  io.run_for(std::chrono::seconds(5));
  CHECK(reloads == 2);
  hup.stop();
  io.restart();
  auto t0 = std::chrono::steady_clock::now();
  io.run_for(std::chrono::seconds(5));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));  // nothing left to wait for
}
