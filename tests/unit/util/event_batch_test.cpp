// The event feed's buffer: whole lines per datagram, the size bound, drops counted and reported.
#include "util/event_batch.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "util/log.hpp"

using mail::util::EventBatch;
using mail::util::EventBatchLimits;

namespace {
std::string dropped(std::uint64_t n) { return "event=dropped lines=" + std::to_string(n); }

struct Receiver {
  std::vector<std::string> got;
  bool up = true;
  EventBatch::Send send() {
    return [this](std::string_view d) {
      if (up) got.emplace_back(d);
      return up ? EventBatch::Sent::ok : EventBatch::Sent::gone;
    };
  }
};
}  // namespace

TEST_CASE("event batch: lines go out together, whole, with newlines") {
  EventBatch b({}, dropped);
  CHECK_FALSE(b.add("event=open sid=1"));
  CHECK_FALSE(b.add("event=c sid=1 line=EHLO"));
  Receiver r;
  b.flush(r.send());
  REQUIRE(r.got.size() == 1);
  CHECK(r.got[0] == "event=open sid=1\nevent=c sid=1 line=EHLO\n");
  CHECK(b.empty());
  b.flush(r.send());
  CHECK(r.got.size() == 1);  // nothing buffered: nothing sent
}

TEST_CASE("event batch: add asks for a flush past flush_at; datagrams stay under their size") {
  EventBatchLimits l{.datagram = 100, .flush_at = 80, .buffer = 1000};
  EventBatch b(l, dropped);
  const std::string line(29, 'x');  // 30 octets with its newline
  CHECK_FALSE(b.add(line));
  CHECK_FALSE(b.add(line));
  CHECK(b.add(line));  // 90 >= 80
  for (int i = 0; i < 4; ++i) b.add(line);
  Receiver r;
  b.flush(r.send());
  REQUIRE(r.got.size() == 3);  // 7 lines of 30 octets: 3 + 3 + 1
  for (const auto& d : r.got) {
    CHECK(d.size() <= 100);
    CHECK(d.back() == '\n');
  }
  CHECK(r.got[0].size() == 90);
  CHECK(r.got[2].size() == 30);
}

TEST_CASE("event batch: no receiver drops the batch and counts it; the next datagram reports the count") {
  EventBatch b({}, dropped);
  b.add("a");
  b.add("b");
  Receiver r;
  r.up = false;
  b.flush(r.send());
  CHECK(b.empty());
  CHECK(b.dropped() == 2);
  b.add("c");
  b.flush(r.send());
  CHECK(b.dropped() == 3);
  r.up = true;
  b.add("d");
  b.flush(r.send());
  REQUIRE(r.got.size() == 1);
  CHECK(r.got[0] == "event=dropped lines=3\nd\n");
  CHECK(b.dropped() == 0);
}

TEST_CASE("event batch: the buffer is bounded; lines beyond it are dropped and counted") {
  EventBatchLimits l{.datagram = 60, .flush_at = 1000, .buffer = 100};
  EventBatch b(l, dropped);
  const std::string line(19, 'y');  // 20 octets
  for (int i = 0; i < 8; ++i) b.add(line);  // 5 fit
  CHECK(b.dropped() == 3);
  b.add(std::string(40, 'z'));  // longer than half a datagram: never sendable whole
  CHECK(b.dropped() == 4);
  Receiver r;
  b.flush(r.send());
  REQUIRE(r.got.size() == 3);
  CHECK(r.got[0] == "event=dropped lines=4\n" + line + "\n");  // 22 + 20, and a second line would pass 60
  CHECK(r.got[1] == line + "\n" + line + "\n" + line + "\n");
  CHECK(r.got[2] == line + "\n");
}

TEST_CASE("event lines: the log's quoting, no lvl or svc") {
  const mail::log::Field f[] = {{"sid", "7f"}, {"line", "AUTH PLAIN ****"}, {"n", 3}};
  std::string out;
  mail::log::append_event(out, "gmail.com", "c", f);
  CHECK(out.starts_with("ts="));
  CHECK(out.find(" prog=gmail.com event=c sid=7f line=\"AUTH PLAIN ****\" n=3") != std::string::npos);
  CHECK(out.find("lvl=") == std::string::npos);
}

// A hundred servers flushing at once fill a receiver's queue (Linux keeps 10 datagrams per Unix socket
// by default): a full receiver is not a gone one. The rest waits for the next tick, in order.
TEST_CASE("event batch: a full receiver keeps the rest for the next flush, nothing dropped") {
  EventBatchLimits l{.datagram = 60, .flush_at = 1000, .buffer = 1000};
  EventBatch b(l, dropped);
  const std::string line(19, 'y');  // 20 octets: 3 lines per datagram
  for (int i = 0; i < 7; ++i) b.add(line);
  std::vector<std::string> got;
  int room = 1;  // the receiver takes one datagram, then is full
  auto send = [&](std::string_view d) {
    if (room == 0) return EventBatch::Sent::full;
    --room;
    got.emplace_back(d);
    return EventBatch::Sent::ok;
  };
  CHECK(b.flush(send));  // lines still wait
  CHECK(got.size() == 1);
  CHECK_FALSE(b.empty());
  CHECK(b.dropped() == 0);
  room = 10;
  CHECK_FALSE(b.flush(send));
  REQUIRE(got.size() == 3);
  CHECK(got[1] == line + "\n" + line + "\n" + line + "\n");
  CHECK(got[2] == line + "\n");
  CHECK(b.empty());
  CHECK(b.dropped() == 0);
}
