#include "store/message_finder.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "temp_maildir.hpp"

using namespace mail::store;
using Where = MessageFinder::Where;

namespace {
// A call that only checks the file is there, and counts how often it was made.
struct Probe {
  int calls = 0;
  MessageFinder::Call call() {
    return [this](const char* p) {
      ++calls;
      return ::access(p, F_OK);
    };
  }
};
}  // namespace

TEST_CASE("the unique part of a Maildir name is what precedes ':'") {
  CHECK(unique_part("1795316800.M5P9Q2.vm,S=5,W=6:2,S") == "1795316800.M5P9Q2.vm,S=5,W=6");
  CHECK(unique_part("1795316800.M5P9Q2.vm,S=5,W=6") == "1795316800.M5P9Q2.vm,S=5,W=6");
  CHECK(unique_part("x:2,:odd") == "x");
}

TEST_CASE("a message still under its listed name costs one call and no scan") {
  TempMaildir m;
  m.put("cur", "1.M1.vm:2,", "a\n");
  MessageFinder f(m.path);
  Probe p;
  auto o = f.apply("1.M1.vm:2,", p.call());
  CHECK(o.where == Where::listed);
  CHECK(o.result == 0);
  CHECK(o.path == "cur/1.M1.vm:2,");
  CHECK(p.calls == 1);
  CHECK(f.scans() == 0);
}

TEST_CASE("a message renamed by another reader is found by its unique part, in cur/ or new/") {
  TempMaildir m;
  m.put("cur", "1.M1.vm,S=2,W=3:2,S", "a\n");  // was cur/1.M1.vm,S=2,W=3:2,
  m.put("new", "2.M1.vm", "b\n");               // was cur/2.M1.vm:2, (marked new again)
  m.put("cur", "3.M1.vm:2,RS", "c\n");
  m.put("cur", "30.M1.vm:2,", "not 3: its unique part only starts the same\n");
  MessageFinder f(m.path);
  Probe p;
  auto o = f.apply("1.M1.vm,S=2,W=3:2,", p.call());
  CHECK(o.where == Where::renamed);
  CHECK(o.result == 0);
  CHECK(o.path == "cur/1.M1.vm,S=2,W=3:2,S");
  CHECK(f.apply("2.M1.vm:2,", p.call()).path == "new/2.M1.vm");
  CHECK(f.apply("3.M1.vm:2,", p.call()).path == "cur/3.M1.vm:2,RS");
  CHECK(f.scans() == 1);  // one scan served every miss
  // The call really runs on the new path: here, reading the file.
  int fd = -1;
  auto opened = f.apply("1.M1.vm,S=2,W=3:2,", [&](const char* path) { return fd = ::open(path, O_RDONLY); });
  REQUIRE(opened.result >= 0);
  char c = 0;
  CHECK(::read(fd, &c, 1) == 1);
  CHECK(c == 'a');
  ::close(fd);
}

TEST_CASE("a message removed by another reader is gone, after one scan per expiry") {
  TempMaildir m;
  m.put("cur", "5.M1.vm:2,", "e\n");
  MessageFinder f(m.path);
  Probe p;
  auto o = f.apply("4.M1.vm:2,", p.call());
  CHECK(o.where == Where::gone);
  CHECK(o.result == -1);
  CHECK(o.error == ENOENT);
  CHECK(f.apply("6.M1.vm:2,", p.call()).where == Where::gone);
  CHECK(f.scans() == 1);  // the scan is fresh until expire()
  // Renamed after the scan that saw it where listed: never gone, a second scan finds it.
  m.move("cur/5.M1.vm:2,", "cur/5.M1.vm:2,S");
  CHECK(f.apply("5.M1.vm:2,", p.call()).where == Where::renamed);
  CHECK(f.scans() == 2);
  // A message found through a stale index is used without another scan.
  f.expire();
  CHECK(f.apply("5.M1.vm:2,", p.call()).path == "cur/5.M1.vm:2,S");
  CHECK(f.scans() == 2);
}

TEST_CASE("a failure other than ENOENT is the call's outcome on the listed name") {
  TempMaildir m;
  m.put("cur", "7.M1.vm:2,", "g\n");
  MessageFinder f(m.path);
  auto o = f.apply("7.M1.vm:2,", [](const char*) {
    errno = EACCES;
    return -1;
  });
  CHECK(o.where == Where::listed);
  CHECK(o.error == EACCES);
  CHECK(f.scans() == 0);
}

TEST_CASE("renamed again after the scan that saw it: scanned again, found, never called gone") {
  TempMaildir m;
  m.put("cur", "1.M1.vm:2,", "a\n");
  m.put("cur", "2.M1.vm:2,", "b\n");
  MessageFinder f(m.path);
  Probe p;
  m.move("cur/1.M1.vm:2,", "cur/1.M1.vm:2,S");
  CHECK(f.apply("1.M1.vm:2,", p.call()).where == Where::renamed);  // the scan also saw 2 where listed
  m.move("cur/2.M1.vm:2,", "cur/2.M1.vm:2,S");                      // ... which an IMAP client then flags
  auto o = f.apply("2.M1.vm:2,", p.call());
  CHECK(o.where == Where::renamed);
  CHECK(o.path == "cur/2.M1.vm:2,S");
  m.move("cur/2.M1.vm:2,S", "cur/2.M1.vm:2,ST");                    // and once more, after that scan too
  CHECK(f.apply("2.M1.vm:2,", p.call()).path == "cur/2.M1.vm:2,ST");
  ::unlink((m.path / "cur/2.M1.vm:2,ST").c_str());
  CHECK(f.apply("2.M1.vm:2,", p.call()).where == Where::gone);      // really removed: gone
}

TEST_CASE("a message that keeps moving under every scan is not called gone") {
  TempMaildir m;
  m.put("cur", "1.M1.vm:2,", "a\n");
  MessageFinder f(m.path);
  int n = 0;
  // Another reader renames the file each time just before the call reaches it.
  auto racing = [&](const char* p) {
    std::string from = (m.path / "cur").string() + "/1.M1.vm:2," + std::string(n, 'S');
    ++n;
    std::string to = (m.path / "cur").string() + "/1.M1.vm:2," + std::string(n, 'S');
    ::rename(from.c_str(), to.c_str());
    return ::access(p, F_OK);
  };
  auto o = f.apply("1.M1.vm:2,", racing);
  CHECK(o.where != Where::gone);
  CHECK(o.result < 0);
}

TEST_CASE("apply_at makes the call relative to the Maildir's folder, listed or renamed (POP3 RETR's open)") {
  TempMaildir m;
  m.put("cur", "1.M1.vm,S=2,W=3:2,", "a\n");
  m.put("new", "2.M1.vm", "b\n");
  MessageFinder f(m.path);
  std::vector<std::string> seen;
  auto read_at = [&seen](int dir, const char* relative) {
    seen.emplace_back(relative);
    int fd = ::openat(dir, relative, O_RDONLY | O_CLOEXEC);
    char c = 0;
    int r = fd >= 0 && ::read(fd, &c, 1) == 1 ? c : -1;
    if (fd >= 0) ::close(fd);
    return r;
  };
  auto listed = f.apply_at("1.M1.vm,S=2,W=3:2,", read_at);
  CHECK(listed.where == Where::listed);
  CHECK(listed.result == 'a');
  auto moved = f.apply_at("2.M1.vm:2,", read_at);  // listed in cur/, still in new/
  CHECK(moved.where == Where::renamed);
  CHECK(moved.result == 'b');
  CHECK(seen == std::vector<std::string>{"cur/1.M1.vm,S=2,W=3:2,", "cur/2.M1.vm:2,", "new/2.M1.vm"});
  CHECK(f.apply_at("9.M1.vm:2,", read_at).where == Where::gone);
}
