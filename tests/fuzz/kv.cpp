// util::parse_kv, the reader of event lines (apps/mailview), against the writer it inverts: the log's
// value quoting (log::format). Checks:
//  mode 0 (round trip): a line formatted from values taken from the input reads back to exactly those
//    fields, in order (ts, prog, lvl, svc, event, a, b, c);
//  mode 1 (any line): parse_kv never fails badly on any bytes; what it accepts, written again with the
//    log's quoting, reads back to the same fields.
//
// Input: mode byte (bit 0), then for mode 0 four length bytes (svc, event, a, b; c takes the rest), then
// the bytes; for mode 1 the line.
#include <string>
#include <vector>

#include "fuzz.hpp"
#include "util/kv.hpp"
#include "util/log.hpp"

using namespace mail;

namespace {

// The value as the log writes it (quoted when it must be).
std::string written(const std::string& v) {
  auto line = log::format(log::Level::info, "", "e", {{"v", v}});
  auto at = line.find(" event=e v=");
  FUZZ_CHECK(at != std::string::npos);
  return line.substr(at + 11);
}

void round_trip(fuzz::Input& in) {
  std::size_t len[4];
  for (auto& l : len) l = in.byte();
  std::string_view rest = in.rest();
  std::vector<std::string> v;
  for (auto l : len) {
    l = std::min(l, rest.size());
    v.emplace_back(rest.substr(0, l));
    rest.remove_prefix(l);
  }
  v.emplace_back(rest);
  if (v[1].empty()) v[1] = "e";  // the log's events are never empty
  auto line = log::format(log::Level::info, v[0], v[1], {{"a", v[2]}, {"b", v[3]}, {"c", v[4]}});
  auto f = util::parse_kv(line);
  FUZZ_CHECK(f.has_value());
  std::vector<std::string> keys, values;
  for (const auto& [k, val] : *f) keys.push_back(k), values.push_back(val);
  std::vector<std::string> want_keys = {"ts", "prog", "lvl", "svc", "event", "a", "b", "c"};
  std::vector<std::string> want = {v[0], v[1], v[2], v[3], v[4]};
  if (v[0].empty()) {  // no svc= when there is none
    want_keys.erase(want_keys.begin() + 3);
    want.erase(want.begin());
  }
  FUZZ_CHECK(keys == want_keys);
  FUZZ_CHECK(std::vector<std::string>(values.begin() + 3, values.end()) == want);
}

void any_line(std::string_view line) {
  auto f = util::parse_kv(line);
  if (!f) return;
  std::string again;
  for (const auto& [k, v] : *f) {
    FUZZ_CHECK(!k.empty() && k.find_first_of(" =\"") == std::string::npos);
    again += (again.empty() ? "" : " ") + k + "=" + written(v);
  }
  auto g = util::parse_kv(again);
  FUZZ_CHECK(g.has_value() && *g == *f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  if (in.byte() & 1) any_line(in.rest());
  else round_trip(in);
  return 0;
}
