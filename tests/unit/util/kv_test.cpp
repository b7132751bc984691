// util::parse_kv against the log's own formatting (log::format): every value reads back as written.
#include <doctest/doctest.h>

#include "util/kv.hpp"
#include "util/log.hpp"

using namespace mail;

TEST_CASE("kv: a log line reads back field by field") {
  auto line = log::format(log::Level::info, "smtp", "c", {{"sid", "7f3a"}, {"line", "MAIL FROM:<a@b.c> SIZE=10"}});
  auto f = util::parse_kv(line);
  REQUIRE(f);
  REQUIRE(f->size() == 7);
  CHECK((*f)[0].first == "ts");
  CHECK((*f)[2] == std::pair<std::string, std::string>{"lvl", "info"});
  CHECK(util::kv_get(*f, "svc") == "smtp");
  CHECK(util::kv_get(*f, "event") == "c");
  CHECK(util::kv_get(*f, "sid") == "7f3a");
  CHECK(util::kv_get(*f, "line") == "MAIL FROM:<a@b.c> SIZE=10");
  CHECK(util::kv_get(*f, "absent") == "");
}

TEST_CASE("kv: every byte value round-trips through the log's quoting") {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (std::string v : {std::string(), std::string("plain"), std::string("a b"), std::string("q\"uo\\te"),
                        std::string("k=v"), std::string("\r\n\t\x7f"), std::string("中文"), all}) {
    auto line = log::format(log::Level::info, "", "e", {{"v", v}, {"w", "x"}});
    auto f = util::parse_kv(line);
    REQUIRE(f);
    CHECK(util::kv_get(*f, "v") == v);
    CHECK(util::kv_get(*f, "w") == "x");
  }
}

TEST_CASE("kv: what the log never writes is refused") {
  for (std::string_view bad : {"a", "a=\"open", "a=\"bad\\q\"", "a=\"\\x4\"", "a=\"\\xzz\"", "=v", "a=1  b=2",
                               " a=1", "a=1 ", "a=\"x\"y", "a=b\"c"})
    CHECK_MESSAGE(!util::parse_kv(bad), std::string(bad));
  CHECK(util::parse_kv("")->empty());
  auto f = util::parse_kv("a= b=\"\"");  // an empty value is written "" but an unquoted one is read too
  REQUIRE(f);
  CHECK(util::kv_get(*f, "a") == "");
  CHECK(util::kv_get(*f, "b") == "");
}
