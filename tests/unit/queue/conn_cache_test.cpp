// queue::ConnCache: which idle relay connection an attempt may take, for how long one stays idle, and
// what is closed to stay within the bounds (issue 15).
#include "queue/conn_cache.hpp"

#include <doctest/doctest.h>

using mail::queue::CacheKey;
using mail::queue::CacheLimits;
using mail::queue::ConnCache;
using Ids = std::vector<ConnCache::Id>;

namespace {
const CacheKey kGmail{"127.0.0.1", 2525, true, "127.0.0.1"};
const CacheKey kQq{"127.0.0.1", 2526, true, "127.0.0.1"};
}  // namespace

TEST_CASE("conn cache: a parked connection is taken by the next attempt to the same destination, once") {
  ConnCache c;
  auto p = c.park(kGmail, 1, 1000);
  CHECK(p.kept);
  CHECK(p.evicted.empty());
  CHECK_FALSE(c.take(kQq, 1500));  // another port: another destination
  CHECK(c.take(kGmail, 1500) == ConnCache::Id{1});
  CHECK_FALSE(c.take(kGmail, 1500));  // taken: no one else gets it
  CHECK(c.size() == 0);
}

TEST_CASE("conn cache: the key holds the TLS mode and the source address") {
  struct Row {
    CacheKey other;
    const char* why;
  };
  const Row rows[] = {{{"127.0.0.2", 2525, true, "127.0.0.1"}, "address"},
                      {{"127.0.0.1", 2525, false, "127.0.0.1"}, "plaintext after a failed handshake"},
                      {{"127.0.0.1", 2525, true, "127.0.0.3"}, "another source address"}};
  for (const auto& r : rows) {
    CAPTURE(std::string(r.why));
    ConnCache c;
    c.park(kGmail, 7, 0);
    CHECK_FALSE(c.take(r.other, 10));
    CHECK(c.take(kGmail, 10) == ConnCache::Id{7});
  }
}

TEST_CASE("conn cache: idle time runs out; expire hands the connections to close, next_expiry says when") {
  ConnCache c(CacheLimits{.idle_ms = 5000});
  CHECK_FALSE(c.next_expiry());
  c.park(kGmail, 1, 1000);
  c.park(kQq, 2, 3000);
  CHECK(c.next_expiry() == 6000);
  CHECK(c.expire(5999).empty());
  CHECK(c.expire(6000) == Ids{1});
  CHECK(c.next_expiry() == 8000);
  CHECK_FALSE(c.take(kQq, 8000));  // its time ran out even before expire() saw it
  CHECK(c.expire(8000) == Ids{2});
  CHECK_FALSE(c.next_expiry());
}

TEST_CASE("conn cache: the newest idle connection is taken first") {
  ConnCache c;
  c.park(kGmail, 1, 0);
  c.park(kGmail, 2, 100);
  CHECK(c.take(kGmail, 200) == ConnCache::Id{2});
  CHECK(c.take(kGmail, 200) == ConnCache::Id{1});
}

TEST_CASE("conn cache: bounded per destination and in all, the oldest closed first") {
  ConnCache c(CacheLimits{.idle_ms = 5000, .total = 3, .per_destination = 2});
  CHECK(c.park(kGmail, 1, 0).evicted.empty());
  CHECK(c.park(kGmail, 2, 1).evicted.empty());
  auto p = c.park(kGmail, 3, 2);  // a third to gmail: its oldest goes
  CHECK(p.kept);
  CHECK(p.evicted == Ids{1});
  CHECK(c.park(kQq, 4, 3).evicted.empty());
  p = c.park(kQq, 5, 4);  // four in all: the oldest of all goes
  CHECK(p.evicted == Ids{2});
  CHECK(c.size() == 3);
  CHECK(c.drain() == Ids{3, 4, 5});
  CHECK(c.size() == 0);
}

TEST_CASE("conn cache: off with connection_cache_seconds = 0, and not after a 421") {
  ConnCache off(CacheLimits{.idle_ms = 0});
  auto p = off.park(kGmail, 1, 0);
  CHECK_FALSE(p.kept);
  CHECK(off.size() == 0);
  CHECK(mail::queue::reusable_after(mail::smtp::reply(250, "2.0.0 Ok")));
  CHECK(mail::queue::reusable_after(mail::smtp::reply(452, "4.2.2 mailbox full")));
  CHECK_FALSE(mail::queue::reusable_after(mail::smtp::reply(421, "4.3.2 shutting down")));
}
