#include "dns/cache.hpp"

#include "test_helpers.hpp"

using namespace mail::dns;
using namespace std::chrono_literals;
using dnstest::name;

namespace {
Answer answer_with_ttl(std::uint32_t ttl) {
  Answer a;
  a.records.push_back({name("x.example"), type::A, kClassIn, ttl, ARecord{{1, 2, 3, 4}}});
  return a;
}
}  // namespace

TEST_CASE("answers live for their lowest TTL; names ignore case") {
  Cache c(16);
  Cache::Clock::time_point t0{};
  auto a = answer_with_ttl(60);
  a.records.push_back({name("x.example"), type::A, kClassIn, 30, ARecord{{5, 6, 7, 8}}});
  c.put(name("x.example"), type::A, a, t0);
  CHECK(c.get(name("X.Example"), type::A, t0 + 29s));
  CHECK_FALSE(c.get(name("x.example"), type::MX, t0 + 1s));
  CHECK_FALSE(c.get(name("x.example"), type::A, t0 + 30s));
  CHECK(c.size() == 0);  // the expired entry went
}

TEST_CASE("negative answers and TTL 0 are not kept") {
  Cache c(16);
  Answer nx;
  nx.rcode = Rcode::nxdomain;
  c.put(name("a"), type::A, nx, {});
  c.put(name("b"), type::A, Answer{}, {});
  c.put(name("c"), type::A, answer_with_ttl(0), {});
  CHECK(c.size() == 0);
}

TEST_CASE("a full cache drops expired entries first, then the one closest to expiry") {
  Cache c(2);
  Cache::Clock::time_point t0{};
  c.put(name("a"), type::A, answer_with_ttl(10), t0);
  c.put(name("b"), type::A, answer_with_ttl(100), t0);
  c.put(name("c"), type::A, answer_with_ttl(50), t0);  // evicts a (expires soonest)
  CHECK(c.size() == 2);
  CHECK_FALSE(c.get(name("a"), type::A, t0));
  CHECK(c.get(name("b"), type::A, t0));
  CHECK(c.get(name("c"), type::A, t0));
  c.put(name("d"), type::A, answer_with_ttl(500), t0 + 60s);  // c expired: it goes, b stays
  CHECK(c.get(name("b"), type::A, t0 + 60s));
  CHECK(c.get(name("d"), type::A, t0 + 60s));
}
