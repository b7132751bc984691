#include "util/deadline.hpp"

#include <doctest/doctest.h>

using mail::util::Deadline;
using namespace std::chrono_literals;

namespace {
const Deadline::time_point t0{std::chrono::hours(1)};
}

TEST_CASE("a line read has the whole limit from its start, whatever trickles in") {
  Deadline d(2s);
  CHECK(d.at() == Deadline::time_point::max());  // nothing pending yet
  d.read_started(t0);
  CHECK(d.at() == t0 + 2s);
  for (int i = 1; i <= 5; ++i) d.on_read(t0 + i * 300ms, 1);  // a byte every 300 ms earns nothing
  CHECK(d.at() == t0 + 2s);
  d.read_started(t0 + 1500ms);  // the next line
  CHECK(d.at() == t0 + 3500ms);
  d.write_started(t0 + 4s);
  CHECK(d.at() == t0 + 6s);
}

TEST_CASE("in DATA each read earns octets / min_rate, never past the limit from now") {
  Deadline d(2s);
  d.data_started(t0, 500);
  CHECK(d.rate_on());
  CHECK(d.at() == t0 + 2s);
  d.read_started(t0 + 100ms);  // a line read inside DATA does not restart it
  CHECK(d.at() == t0 + 2s);
  d.on_read(t0 + 1s, 1);  // one byte: 2 ms
  CHECK(d.at() == t0 + 2002ms);
  d.on_read(t0 + 1s, 250);  // 250 octets: half a second
  CHECK(d.at() == t0 + 2502ms);
  d.on_read(t0 + 1s, 16384);  // 32.8 s earned, but at most the limit from now
  CHECK(d.at() == t0 + 3s);
  d.on_read(t0 + 1200ms, 3);  // 6 ms more than the cap is capped again
  CHECK(d.at() == t0 + 3006ms);
  d.data_ended();
  CHECK_FALSE(d.rate_on());
  d.read_started(t0 + 5s);
  CHECK(d.at() == t0 + 7s);
}

TEST_CASE("a dripper in DATA runs out; a fast sender never does") {
  Deadline drip(5s), fast(5s);
  drip.data_started(t0, 500);
  fast.data_started(t0, 500);
  auto t = t0;
  while (drip.at() > t) {  // one byte a second
    t += 1s;
    drip.on_read(t, 1);
  }
  CHECK(t - t0 == 6s);  // 5 s plus the 10 ms five bytes earned: passed before the sixth byte
  for (int i = 0; i < 10000; ++i) {  // 16 KiB every 10 ms: 1.6 MB/s against 500 octets/s
    t += 10ms;
    fast.on_read(t, 16384);
    REQUIRE(fast.at() > t);
  }
  CHECK(fast.at() == t + 5s);
}

TEST_CASE("a large rate and huge reads do not overflow") {
  Deadline d(300s);
  d.data_started(t0, (1u << 30) - 1);
  d.on_read(t0, 1);
  CHECK(d.at() == t0 + 300s);
  d.data_started(t0, 1);
  d.on_read(t0 + 1s, std::size_t{1} << 62);
  CHECK(d.at() == t0 + 301s);
}

TEST_CASE("closing is bounded by the shorter of its bound and the limit; clear forgets") {
  Deadline d(300s);
  d.closing(t0, 1s);
  CHECK(d.at() == t0 + 1s);
  d.set_limit(200ms);
  d.closing(t0, 1s);
  CHECK(d.at() == t0 + 200ms);
  d.clear();
  CHECK(d.at() == Deadline::time_point::max());
  d.data_started(t0, 0);  // no rate: DATA lines are ordinary reads
  CHECK_FALSE(d.rate_on());
  d.read_started(t0 + 1s);
  CHECK(d.at() == t0 + 1200ms);
}
