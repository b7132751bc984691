// store::Commit, the job that owns the staged files it syncs: Delivery::seal(), the queue's
// stage_envelope()/remove_entry(), and how the committer settles the files of each job it ran.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include "fault_fs.hpp"
#include "store/committer.hpp"
#include "store/delivery.hpp"
#include "store/queue.hpp"

using namespace mail;
using namespace mail::store;
using test::FaultFs;
using Op = FaultFs::Op;
namespace fs = std::filesystem;

namespace {

struct Disk {
  fs::path path;
  FaultFs ffs;
  Layout layout{"/nonexistent"};
  Disk() {
    std::string tmpl = (fs::temp_directory_path() / "mw-commit-XXXXXX").string();
    path = mkdtemp(tmpl.data());
    layout = Layout(path, ffs);
    REQUIRE(layout.prepare({"usr@gmail.com", "Bob@gmail.com"}));
  }
  ~Disk() { fs::remove_all(path); }
  // Every file under `sub` of the data folder, sorted, as "dir/name" relative to it.
  std::vector<std::string> files(const fs::path& sub = {}) const {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(path / sub))
      if (e.is_regular_file()) out.push_back(fs::relative(e.path(), path).string());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<std::string> staged() const {  // what is left in any tmp/ folder
    auto all = files();
    std::erase_if(all, [](const std::string& f) { return f.find("/tmp/") == std::string::npos; });
    return all;
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs one job through a committer's threads; `at_done` runs inside its completion.
Result<void> run(Disk& d, Commit job, const std::function<void()>& at_done = {}) {
  std::optional<Result<void>> out;
  {
    Committer c(2, d.ffs);
    c.submit(std::move(job), [&](Result<void> r) {
      if (at_done) at_done();
      out = std::move(r);
    });
  }  // the destructor finishes the job
  REQUIRE(out.has_value());
  return *out;
}

Delivery begin(Disk& d, std::vector<std::string> local, std::vector<std::string> remote) {
  auto del = Delivery::begin(d.layout, MessageInfo{"Q1", "1.M1P1Q1.host", "a@b.c", "client", std::move(local),
                                                   std::move(remote), "Received: x\n", 7});
  REQUIRE(del);
  REQUIRE(del->write_line("Subject: hi"));
  REQUIRE(del->write_line(""));
  REQUIRE(del->write_line("body"));
  return std::move(*del);
}

}  // namespace

TEST_CASE("a sealed delivery: the job owns the copies and places them, Stored says where") {
  Disk d;
  auto sealed = begin(d, {"usr@gmail.com", "Bob@gmail.com"}, {"x@yahoo.com"}).seal();
  REQUIRE(sealed);
  const Stored& s = sealed->stored;
  const std::string mailbox = "Return-Path: <a@b.c>\nReceived: x\nSubject: hi\n\nbody\n";  // 51 octets, 5 lines
  CHECK(s.id == "Q1");
  REQUIRE(s.mailbox_files.size() == 2);
  CHECK(s.mailbox_files[0] == d.layout.maildir("usr@gmail.com") / "new" / "1.M1P1Q1.host,S=51,W=56");
  CHECK(s.mailbox_files[1].parent_path() == d.layout.maildir("Bob@gmail.com") / "new");
  CHECK(s.queue_file == d.layout.queue() / "Q1.eml");
  CHECK(s.size == mailbox.size());
  REQUIRE(s.queued.has_value());
  CHECK(s.queued->sender == "a@b.c");
  REQUIRE(s.queued->recipients.size() == 1);
  CHECK(s.queued->recipients[0].address == "x@yahoo.com");
  CHECK(s.queued->recipients[0].state == RcptState::pending);
  CHECK(sealed->job.steps().sync_fds.size() == 3);
  CHECK(d.staged().size() == 3);  // staged until the job runs

  REQUIRE(run(d, std::move(sealed->job)));
  CHECK(d.staged().empty());
  CHECK(slurp(s.mailbox_files[0]) == mailbox);
  CHECK(slurp(s.mailbox_files[1]) == slurp(s.mailbox_files[0]));
  CHECK(slurp(s.queue_file) == "Received: x\nSubject: hi\n\nbody\n");
  auto env = envelope_from_json(slurp(d.layout.queue() / "Q1.json"));
  REQUIRE(env);
  CHECK(env->recipients.at(0).address == "x@yahoo.com");
}

TEST_CASE("a sealed job dropped without running, or a Delivery dropped before seal, leaves nothing") {
  Disk d;
  SUBCASE("the job") {
    auto sealed = begin(d, {"usr@gmail.com"}, {"x@yahoo.com"}).seal();
    REQUIRE(sealed);
    CHECK_FALSE(d.staged().empty());
  }
  SUBCASE("the delivery") {
    auto del = begin(d, {"usr@gmail.com"}, {"x@yahoo.com"});
    CHECK_FALSE(d.staged().empty());
  }
  CHECK(d.files().empty());
}

TEST_CASE("a failed job: the error, nothing placed, its staged files removed before `done` is called") {
  struct Case {
    Op op;
    int nth;
    const char* what;
  };
  for (auto c : {Case{Op::fdatasync, 2, "fdatasync"}, Case{Op::link, 2, "link"}, Case{Op::rename, 2, "rename"},
                 Case{Op::unlink, 1, "unlink"}}) {
    CAPTURE(c.what);
    Disk d;
    auto sealed = begin(d, {"usr@gmail.com", "Bob@gmail.com"}, {"x@yahoo.com"}).seal();
    REQUIRE(sealed);
    d.ffs.fail(c.op, EIO, c.nth);
    std::vector<std::string> seen_at_done;
    auto r = run(d, std::move(sealed->job), [&] { seen_at_done = d.files(); });
    REQUIRE_FALSE(r);
    CHECK(r.error().detail.find(c.what) == 0);
    CHECK(seen_at_done.empty());
    CHECK(d.files().empty());
  }
}

TEST_CASE("a failed folder fsync: the error, the files stay placed, nothing stays staged") {
  Disk d;
  auto sealed = begin(d, {"usr@gmail.com"}, {}).seal();
  REQUIRE(sealed);
  d.ffs.fail(Op::fsync_dir, EIO);
  REQUIRE_FALSE(run(d, std::move(sealed->job)));
  CHECK(d.staged().empty());
  CHECK(fs::exists(sealed->stored.mailbox_files.at(0)));  // a retry may duplicate it; nothing is lost
}

TEST_CASE("an envelope save owns its staged file; a failed one keeps the previous envelope") {
  Disk d;
  QueueEnvelope env{"Q", "a@b.c", "h", 5, {{"x@y.org", RcptState::pending, 0, 0, ""}}};
  std::ofstream(d.layout.queue() / "Q.eml") << "m\n";
  auto first = stage_envelope(d.layout, env);
  REQUIRE(first);
  REQUIRE(run(d, std::move(*first)));
  const auto before = slurp(d.layout.queue() / "Q.json");
  env.recipients[0].state = RcptState::delivered;
  SUBCASE("the save succeeds") {
    auto again = stage_envelope(d.layout, env);
    REQUIRE(again);
    REQUIRE(run(d, std::move(*again)));
    CHECK(scan_queue(d.layout).envelopes.at(0).recipients.at(0).state == RcptState::delivered);
  }
  SUBCASE("its rename fails") {
    auto again = stage_envelope(d.layout, env);
    REQUIRE(again);
    d.ffs.fail(Op::rename, EIO);
    REQUIRE_FALSE(run(d, std::move(*again)));
    CHECK(slurp(d.layout.queue() / "Q.json") == before);
  }
  SUBCASE("writing it fails") {
    d.ffs.fail(Op::write, ENOSPC);
    CHECK_FALSE(stage_envelope(d.layout, env));
    CHECK(slurp(d.layout.queue() / "Q.json") == before);
  }
  SUBCASE("the staged save is dropped") {
    CHECK(stage_envelope(d.layout, env));
    CHECK(slurp(d.layout.queue() / "Q.json") == before);
  }
  CHECK(d.staged().empty());
}

TEST_CASE("removing an entry: the envelope first, and a retry after a failure finishes it") {
  Disk d;
  std::ofstream(d.layout.queue() / "Q.eml") << "m\n";
  std::ofstream(d.layout.queue() / "Q.json") << to_json(QueueEnvelope{"Q", "", "h", 5, {}});
  CHECK(remove_entry(d.layout, "Q").steps().unlinks.at(0) == (d.layout.queue() / "Q.json").string());
  d.ffs.fail(Op::unlink, EIO, 2);  // the envelope goes, the message stays
  CHECK_FALSE(run(d, remove_entry(d.layout, "Q")));
  CHECK(d.files() == std::vector<std::string>{"queue/Q.eml"});
  CHECK(run(d, remove_entry(d.layout, "Q")));
  CHECK(d.files().empty());
}

TEST_CASE("jobs with and without owned files share a batch, each settled on its own result") {
  Disk d;
  auto good = begin(d, {"usr@gmail.com"}, {}).seal();
  REQUIRE(good);
  auto bad = Delivery::begin(d.layout, MessageInfo{"Q2", "2.M2P2Q2.host", "", "c", {"Bob@gmail.com"}, {}, "R\n", 0});
  REQUIRE(bad);
  auto bad_sealed = std::move(*bad).seal();
  REQUIRE(bad_sealed);
  fs::remove(bad_sealed->job.steps().renames.at(0).first);  // its rename will fail
  std::vector<Result<void>> results;
  {
    Committer c(2, d.ffs);
    c.submit(std::move(good->job), [&](Result<void> r) { results.push_back(std::move(r)); });
    c.submit(std::move(bad_sealed->job), [&](Result<void> r) { results.push_back(std::move(r)); });
  }
  REQUIRE(results.size() == 2);
  CHECK(results[0]);
  CHECK_FALSE(results[1]);
  CHECK(d.files() == std::vector<std::string>{fs::relative(good->stored.mailbox_files.at(0), d.path).string()});
}
