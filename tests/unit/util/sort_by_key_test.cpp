// util::sort_by_key: the order, and what it costs in key computations (the maildrop listing's sort).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "util/sort_by_key.hpp"

using mail::util::sort_by_key;

TEST_CASE("sort_by_key sorts by the key, equal keys in their present order") {
  std::vector<std::string> v{"b2", "a9", "c1", "a1", "b1"};
  sort_by_key(v, [](const std::string& s) { return s[0]; });
  CHECK(v == std::vector<std::string>{"a9", "a1", "b2", "b1", "c1"});
  std::vector<std::string> none;
  sort_by_key(none, [](const std::string& s) { return s; });
  CHECK(none.empty());
}

TEST_CASE("sort_by_key computes each element's key once (a 10^5-name maildrop spent its login parsing keys)") {
  const std::size_t n = 10000;
  std::vector<std::string> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back(std::to_string((i * 7919) % n));  // a permutation
  std::size_t keys = 0;
  sort_by_key(v, [&keys](const std::string& s) {
    ++keys;
    return std::stoul(s);
  });
  CHECK(keys == n);
  for (std::size_t i = 0; i < n; ++i) REQUIRE(v[i] == std::to_string(i));
}
