#include "util/throttle.hpp"

#include <doctest/doctest.h>

using mail::util::Throttle;
using namespace std::chrono_literals;

TEST_CASE("one line a second; the next says how many were held back") {
  Throttle t(1s);
  const Throttle::time_point t0{std::chrono::hours(1)};
  CHECK(t.allow(t0));
  CHECK(t.suppressed() == 0);
  int allowed = 0;
  for (int i = 1; i <= 20; ++i) allowed += t.allow(t0 + i * 50ms);  // 20 a second, as accept_failed was
  CHECK(allowed == 1);  // at t0 + 1 s
  CHECK(t.suppressed() == 19);
  CHECK_FALSE(t.allow(t0 + 1500ms));
  CHECK(t.allow(t0 + 10s));  // a quiet spell, then one more
  CHECK(t.suppressed() == 1);
  CHECK(t.allow(t0 + 12s));
  CHECK(t.suppressed() == 0);
}
