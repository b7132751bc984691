#include "store/queue.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

using namespace mail;
using namespace mail::store;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {
struct TempQueue {
  fs::path path;
  Layout layout{"/nonexistent"};
  TempQueue() {
    std::string tmpl = (fs::temp_directory_path() / "mw-queue-XXXXXX").string();
    path = mkdtemp(tmpl.data());
    layout = Layout(path);
    REQUIRE(layout.prepare({}));
  }
  ~TempQueue() { fs::remove_all(path); }
  void put(const std::string& name, const std::string& text) { std::ofstream(layout.queue() / name) << text; }
};
}  // namespace

TEST_CASE("the retry schedule: first, doubling, capped") {
  config::Queue q;  // 5 s, 600 s cap
  CHECK(retry_delay(1, q) == 5s);
  CHECK(retry_delay(2, q) == 10s);
  CHECK(retry_delay(3, q) == 20s);
  CHECK(retry_delay(7, q) == 320s);
  CHECK(retry_delay(8, q) == 600s);
  CHECK(retry_delay(50, q) == 600s);
  q.retry_first = 1s;
  q.retry_max = 3s;
  CHECK(retry_delay(2, q) == 2s);
  CHECK(retry_delay(3, q) == 3s);
}

TEST_CASE("scanning the queue recovers from every half-written state") {
  TempQueue t;
  QueueEnvelope good{"A", "usr@gmail.com", "h", 200, {{"x@y.org", RcptState::pending, 1, 0, ""}}};
  QueueEnvelope older{"B", "", "h", 100, {{"x@y.org", RcptState::pending, 0, 0, ""}}};
  t.put("A.eml", "Subject: a\n\nbody\n");
  t.put("A.json", to_json(good));
  t.put("B.eml", "x\n");
  t.put("B.json", to_json(older));
  t.put("C.eml", "never acknowledged\n");  // crash between the renames: no envelope
  t.put("D.json", to_json(QueueEnvelope{"D", "", "h", 0, {}}));  // its message is gone
  t.put("E.eml", "x\n");
  t.put("E.json", "{ half a fi");  // torn write
  t.put("F.eml", "x\n");
  t.put("F.json", to_json(QueueEnvelope{"not-F", "", "h", 0, {}}));
  auto scan = scan_queue(t.layout);
  REQUIRE(scan.envelopes.size() == 2);
  CHECK(scan.envelopes[0].id == "B");  // oldest first
  CHECK(scan.envelopes[1].id == "A");
  CHECK(scan.envelopes[1].recipients.at(0).attempts == 1);
  CHECK(scan.problems.size() == 4);
  CHECK_FALSE(fs::exists(t.layout.queue() / "C.eml"));
  CHECK_FALSE(fs::exists(t.layout.queue() / "D.json"));
  CHECK(fs::exists(t.layout.queue() / "corrupt" / "E.json"));
  CHECK(fs::exists(t.layout.queue() / "corrupt" / "F.eml"));
}

TEST_CASE("saving and removing an entry go through commit jobs") {
  TempQueue t;
  QueueEnvelope e{"Q", "a@b.c", "h", 5, {{"x@y.org", RcptState::pending, 0, 0, ""}}};
  t.put("Q.eml", "m\n");
  std::optional<StagedFile> holder;
  auto job = stage_envelope(t.layout, e, holder);
  REQUIRE(job);
  auto res = Committer::run_batch({*job});
  REQUIRE(res.at(0));
  holder->release();
  auto scan = scan_queue(t.layout);
  REQUIRE(scan.envelopes.size() == 1);
  e.recipients[0].state = RcptState::delivered;
  REQUIRE(stage_envelope(t.layout, e, holder));
  auto again = stage_envelope(t.layout, e, holder);
  REQUIRE(again);
  REQUIRE(Committer::run_batch({*again}).at(0));
  holder->release();
  CHECK(scan_queue(t.layout).envelopes.at(0).recipients.at(0).state == RcptState::delivered);
  REQUIRE(Committer::run_batch({remove_entry_job(t.layout, "Q")}).at(0));
  CHECK(scan_queue(t.layout).envelopes.empty());
  CHECK_FALSE(fs::exists(t.layout.queue() / "Q.eml"));
}

TEST_CASE("headers and hop counting for loop protection") {
  TempQueue t;
  std::string msg;
  for (int i = 0; i < 26; ++i) msg += "Received: from hop" + std::to_string(i) + "\n\tby x; date\n";
  msg += "Subject: loop\n\nReceived: in the body does not count\n";
  t.put("L.eml", msg);
  auto h = read_headers(t.layout.queue() / "L.eml");
  REQUIRE(h);
  CHECK(count_received(*h) == 26);
  CHECK(h->find("in the body") == std::string::npos);
  CHECK(count_received("Subject: x\nreceived: lower case counts\n") == 1);
}
