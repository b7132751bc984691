// net::feed on a real datagram socket: nothing before start (one bool), lines sent by the event
// loop's timer, a missing receiver never blocking and its lost lines reported once one listens.
#include "net/event_feed.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include <doctest/doctest.h>

#include <asio/io_context.hpp>

#include "../temp_dir.hpp"

using namespace mail;

namespace {
int bind_receiver(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

std::string receive(int fd) {
  char buf[65536];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}
}  // namespace

TEST_CASE("event feed: off until started; a missing receiver costs the lines, counted, never a wait") {
  CHECK_FALSE(net::feed::on());
  TempDir dir("mw-feed");
  const std::string path = (dir.path / "events.sock").string();
  asio::io_context io;
  REQUIRE(net::feed::start(io, path, "test.org"));
  CHECK(net::feed::on());
  net::feed::emit("open", {{"sid", "1"}});
  net::feed::emit("c", {{"sid", "1"}, {"line", "EHLO a b"}});
  auto t0 = std::chrono::steady_clock::now();
  io.run_for(std::chrono::milliseconds(120));  // the timer tries: nobody listens
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
  int fd = bind_receiver(path);
  net::feed::emit("close", {{"sid", "1"}});
  io.restart();  // it ran out of work: the feed keeps no timer while nothing waits
  io.run_for(std::chrono::milliseconds(120));
  std::string d = receive(fd);
  CHECK(d.find(" prog=test.org event=dropped lines=2\n") != std::string::npos);
  CHECK(d.find(" prog=test.org event=close sid=1\n") != std::string::npos);
  CHECK(d.find("EHLO") == std::string::npos);
  net::feed::emit("close", {{"sid", "2"}});
  net::feed::stop();
  net::feed::finish();  // what waits goes at the end
  CHECK(receive(fd).find("event=close sid=2\n") != std::string::npos);
  CHECK_FALSE(net::feed::on());
  ::close(fd);
}

// A world of 100 servers sits idle most of the time: a feed with nothing to send must not wake the
// event loop (it ticked 20 times a second per server before).
TEST_CASE("event feed: an idle feed runs no handler; a line still goes within the period") {
  TempDir dir("mw-feed");
  const std::string path = (dir.path / "events.sock").string();
  int fd = bind_receiver(path);
  asio::io_context io;
  REQUIRE(net::feed::start(io, path, "test.org"));
  CHECK(io.run_for(std::chrono::milliseconds(300)) == 0);
  net::feed::emit("open", {{"sid", "1"}});
  io.restart();
  io.run_for(std::chrono::milliseconds(150));
  CHECK(receive(fd).find(" event=open sid=1\n") != std::string::npos);
  io.restart();
  CHECK(io.run_for(std::chrono::milliseconds(300)) == 0);  // sent: quiet again
  net::feed::emit("close", {{"sid", "1"}});
  io.restart();
  io.run_for(std::chrono::milliseconds(150));
  CHECK(receive(fd).find(" event=close sid=1\n") != std::string::npos);
  net::feed::stop();
  net::feed::finish();
  ::close(fd);
}

// A receiver that is there but behind (its queue of datagrams full: a hundred servers flushing at once)
// gets every line once it reads again; before, each full moment cost a batch.
TEST_CASE("event feed: a full receiver gets every line once it reads again, none dropped") {
  TempDir dir("mw-feed");
  const std::string path = (dir.path / "events.sock").string();
  int fd = bind_receiver(path);
  asio::io_context io;
  REQUIRE(net::feed::start(io, path, "test.org"));
  const std::string pad(200, 'p');
  // About 300 KB: more than the receiver's queue holds (212 KB by default), less than the feed's own
  // bound of 256 KiB beyond that.
  const int lines = 1400;
  for (int i = 0; i < lines; ++i) {
    net::feed::emit("c", {{"sid", std::to_string(i)}, {"line", pad}});
    if (i % 200 == 199) {
      io.restart();
      io.run_for(std::chrono::milliseconds(60));  // the timer's tries while nobody reads
    }
  }
  std::string all;
  for (int round = 0; round < 100; ++round) {  // read, let the feed send the rest, read again
    for (std::string d = receive(fd); !d.empty(); d = receive(fd)) all += d;
    io.restart();
    io.run_for(std::chrono::milliseconds(60));
  }
  for (std::string d = receive(fd); !d.empty(); d = receive(fd)) all += d;
  CHECK(all.find("event=dropped") == std::string::npos);
  CHECK(std::count(all.begin(), all.end(), '\n') == lines);
  CHECK(all.find(" sid=0 ") != std::string::npos);
  CHECK(all.find(" sid=1399 ") != std::string::npos);
  net::feed::stop();
  net::feed::finish();
  ::close(fd);
}
