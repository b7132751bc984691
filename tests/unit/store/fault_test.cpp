// Each way the disk can fail under the store, through the FaultFs seam: what the SMTP core answers
// (through on_data_started / on_delivered, as the driver feeds them), what stays on disk, what is
// removed, and what the recovery at the next start finds.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fault_fs.hpp"
#include "smtp/server_session.hpp"
#include "store/committer.hpp"
#include "store/delivery.hpp"
#include "store/maildrop.hpp"
#include "store/queue.hpp"
#include "util/text.hpp"
#include "../../temp_dir.hpp"

using namespace mail;
using namespace mail::store;
using test::FaultFs;
using Op = FaultFs::Op;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Accounts final : public smtp::Directory {
 public:
  bool is_local(std::string_view d) const override { return util::iequals(d, "gmail.com"); }
  std::optional<std::string> account(std::string_view a) const override {
    for (const char* acc : {"usr@gmail.com", "Bob@gmail.com"})
      if (a == acc) return std::string(acc);
    return std::nullopt;
  }
};
const Accounts kAccounts;

// One server's disk: its layout and committer's calls go through `disk`.
struct Server {
  TempDir dir;
  FaultFs disk;
  Layout layout{dir.path, disk};
  Server() { REQUIRE(layout.prepare({"usr@gmail.com", "Bob@gmail.com"})); }
  fs::path box(const std::string& a, const char* sub = "new") const { return layout.maildir(a) / sub; }
  // Nothing of a message anywhere: no Maildir file, no queue entry, no staged file.
  void check_nothing_stored() const {
    for (const char* a : {"usr@gmail.com", "Bob@gmail.com"})
      for (const char* sub : {"tmp", "new", "cur"}) CHECK(names_in(box(a, sub)).empty());
    CHECK(names_in(layout.queue()).empty());
    CHECK(names_in(layout.queue_tmp()).empty());
  }
};

// The SMTP driver's steps around the store for one message (apps/mailsrv/smtp_service.cpp, without
// the network): the codes the client gets. `keep` receives the Delivery when the test wants to look
// before its staged files are cleaned up.
std::vector<int> submit(Server& srv, smtp::ServerSession& s, const std::vector<std::string>& rcpts, const std::string& id,
                        std::optional<Delivery>* keep = nullptr) {
  std::vector<int> codes;
  REQUIRE(s.on_line("MAIL FROM:<usr@gmail.com>").replies.at(0).code == 250);
  for (const auto& r : rcpts) REQUIRE(s.on_line("RCPT TO:<" + r + ">").replies.at(0).code == 250);
  REQUIRE(s.on_line("DATA").effect == smtp::Effect::begin_data);
  const auto& env = s.envelope();
  MessageInfo info{id, "1." + id + ".host", env.sender, env.helo, env.local, env.remote, "Received: x\n", 0};
  auto d = Delivery::begin(srv.layout, info);
  codes.push_back(s.on_data_started(d.has_value()).replies.at(0).code);
  if (!d) return codes;
  std::optional<Error> write_error;
  for (std::string line : {"Subject: test", "", "body"}) {
    auto dl = s.on_data_line(line, util::LineSplitter::Ending::crlf, false);
    if (auto r = d->write_line(dl.content); !r && !write_error) write_error = r.error();
  }
  REQUIRE(s.on_data_line(".", util::LineSplitter::Ending::crlf, false).end);
  REQUIRE(s.end_of_data().effect == smtp::Effect::deliver);
  Result<void> done = write_error ? Result<void>(*write_error) : Result<void>();
  if (done) {
    auto job = d->finish();
    done = job ? Committer::run_batch({*job}, srv.disk).at(0) : Result<void>(job.error());
  }
  if (done) d->committed();
  codes.push_back(s.on_delivered(done ? Result<std::string>(id) : Result<std::string>(done.error())).replies.at(0).code);
  if (keep) *keep = std::move(*d);
  return codes;
}

smtp::ServerSession session() {
  smtp::ServerSession s({"gmail.com", "127.0.0.1"}, {}, kAccounts);
  REQUIRE(s.on_line("EHLO client").replies.at(0).code == 250);
  return s;
}

const std::vector<std::string> kLocalAndRemote{"usr@gmail.com", "x@yahoo.com"};

}  // namespace

TEST_CASE("disk full while writing: 451, nothing stays, the session goes on and the retry is stored") {
  Server srv;
  auto s = session();
  srv.disk.fail(Op::write, ENOSPC, 1, true);
  CHECK(submit(srv, s, kLocalAndRemote, "Q1") == std::vector<int>{354, 451});
  srv.check_nothing_stored();
  srv.disk.heal();  // space came back
  CHECK(submit(srv, s, kLocalAndRemote, "Q2") == std::vector<int>{354, 250});
  CHECK(names_in(srv.box("usr@gmail.com")).size() == 1);
  CHECK(names_in(srv.layout.queue()) == std::vector<std::string>{"Q2.eml", "Q2.json"});
}

TEST_CASE("no staged file can be created: 451 at DATA, and a half-opened delivery leaves nothing") {
  for (int nth : {1, 2}) {  // the mailbox copy, then the queue copy
    CAPTURE(nth);
    Server srv;
    auto s = session();
    srv.disk.fail(Op::create, ENOSPC, nth);
    CHECK(submit(srv, s, kLocalAndRemote, "Q1") == std::vector<int>{451});
    srv.check_nothing_stored();
    CHECK(s.on_line("MAIL FROM:<usr@gmail.com>").replies.at(0).code == 250);  // the session goes on
  }
}

TEST_CASE("EIO from fdatasync: 451 and the staged files are removed, nothing placed") {
  Server srv;
  auto s = session();
  srv.disk.fail(Op::fdatasync, EIO, 2);  // the queue copy's
  CHECK(submit(srv, s, kLocalAndRemote, "Q1") == std::vector<int>{354, 451});
  srv.check_nothing_stored();
  CHECK(submit(srv, s, kLocalAndRemote, "Q2") == std::vector<int>{354, 250});  // the client's retry
}

TEST_CASE("EIO from a rename or a link: what the job already placed is undone") {
  SUBCASE("the envelope's rename fails after the mailbox copy and the queue copy were placed") {
    Server srv;
    auto s = session();
    srv.disk.fail(Op::rename, EIO, 3);  // mailbox copy -> new/, Q1.eml, then Q1.json
    CHECK(submit(srv, s, kLocalAndRemote, "Q1") == std::vector<int>{354, 451});
    srv.check_nothing_stored();  // no copy delivered to usr@ that the client will send again
  }
  SUBCASE("the second Maildir's link fails") {
    Server srv;
    auto s = session();
    srv.disk.fail(Op::link, EIO, 2);
    CHECK(submit(srv, s, {"usr@gmail.com", "Bob@gmail.com"}, "Q1") == std::vector<int>{354, 451});
    srv.check_nothing_stored();
  }
  SUBCASE("the staged name cannot be unlinked after the links") {
    Server srv;
    auto s = session();
    srv.disk.fail(Op::unlink, EIO, 1);
    CHECK(submit(srv, s, {"usr@gmail.com", "Bob@gmail.com"}, "Q1") == std::vector<int>{354, 451});
    srv.check_nothing_stored();
  }
}

TEST_CASE("a crash between the renames and the folder fsync: the next start finds the message") {
  Server srv;
  auto s = session();
  srv.disk.crash(Op::fsync_dir);
  std::optional<Delivery> d;
  submit(srv, s, kLocalAndRemote, "Q1", &d);  // the answer never reaches the client: the process died
  CHECK(srv.disk.crashed());
  d.reset();  // (a dead process unlinks nothing)
  srv.disk.heal();
  REQUIRE(Layout(srv.dir.path).prepare({"usr@gmail.com", "Bob@gmail.com"}));
  auto scan = scan_queue(srv.layout);
  CHECK(scan.problems.empty());
  REQUIRE(scan.envelopes.size() == 1);
  CHECK(scan.envelopes[0].recipients.at(0).address == "x@yahoo.com");
  auto drop = open_maildrop(srv.layout.maildir("usr@gmail.com"));
  REQUIRE(drop);
  CHECK(drop->size() == 1);  // delivered though never acknowledged: the client's retry may duplicate it
}

TEST_CASE("a crash between the queue copy's renames: the message without its envelope goes at start") {
  Server srv;
  auto s = session();
  srv.disk.crash(Op::rename, 3);  // before Q1.json
  std::optional<Delivery> d;
  submit(srv, s, kLocalAndRemote, "Q1", &d);
  d.reset();
  srv.disk.heal();
  CHECK(names_in(srv.layout.queue()) == std::vector<std::string>{"Q1.eml"});
  CHECK(names_in(srv.layout.queue_tmp()) == std::vector<std::string>{"Q1.json"});
  REQUIRE(Layout(srv.dir.path).prepare({"usr@gmail.com"}));
  CHECK(names_in(srv.layout.queue_tmp()).empty());
  auto scan = scan_queue(srv.layout);
  CHECK(scan.envelopes.empty());
  CHECK(scan.problems == std::vector<std::string>{"removed Q1.eml without an envelope"});
  CHECK(names_in(srv.box("usr@gmail.com")).size() == 1);  // the local copy was placed before the crash
}

TEST_CASE("a failed envelope save keeps the previous envelope") {
  Server srv;
  QueueEnvelope env{"Q", "a@b.c", "h", 5, {{"x@y.org", RcptState::pending, 0, 0, ""}}};
  std::ofstream(srv.layout.queue() / "Q.eml") << "m\n";
  std::ofstream(srv.layout.queue() / "Q.json") << to_json(env);
  const auto before = slurp(srv.layout.queue() / "Q.json");
  env.recipients[0].state = RcptState::delivered;
  SUBCASE("ENOSPC while writing it") {
    srv.disk.fail(Op::write, ENOSPC);
    std::optional<StagedFile> holder;
    auto job = stage_envelope(srv.layout, env, holder);
    REQUIRE_FALSE(job);
    CHECK(job.error().detail.find("No space left on device") != std::string::npos);
  }
  SUBCASE("EIO from its fdatasync or rename") {
    for (auto op : {Op::fdatasync, Op::rename}) {
      srv.disk.fail(op, EIO);
      std::optional<StagedFile> holder;
      auto job = stage_envelope(srv.layout, env, holder);
      REQUIRE(job);
      CHECK_FALSE(Committer::run_batch({*job}, srv.disk).at(0));
    }
  }
  SUBCASE("a crash at its rename") {
    srv.disk.crash(Op::rename);
    std::optional<StagedFile> holder;
    auto job = stage_envelope(srv.layout, env, holder);
    REQUIRE(job);
    CHECK_FALSE(Committer::run_batch({*job}, srv.disk).at(0));
    holder.reset();
    srv.disk.heal();
    REQUIRE(srv.layout.prepare({}));  // the next start
  }
  CHECK(slurp(srv.layout.queue() / "Q.json") == before);
  CHECK(names_in(srv.layout.queue_tmp()).empty());
  auto scan = scan_queue(srv.layout);
  REQUIRE(scan.envelopes.size() == 1);
  CHECK(scan.envelopes[0].recipients.at(0).state == RcptState::pending);  // delivered again: at least once
}

TEST_CASE("a failed removal of a finished entry is reported, and trying again finishes it") {
  Server srv;
  std::ofstream(srv.layout.queue() / "Q.eml") << "m\n";
  std::ofstream(srv.layout.queue() / "Q.json") << to_json(QueueEnvelope{"Q", "", "h", 5, {}});
  srv.disk.fail(Op::unlink, EIO);  // the envelope stays
  auto r = Committer::run_batch({remove_entry_job(srv.layout, "Q")}, srv.disk).at(0);
  REQUIRE_FALSE(r);
  CHECK(r.error().detail.find("unlink") == 0);
  CHECK(names_in(srv.layout.queue()) == std::vector<std::string>{"Q.eml", "Q.json"});
  srv.disk.fail(Op::unlink, EIO, 2);  // the envelope goes, the message stays
  CHECK_FALSE(Committer::run_batch({remove_entry_job(srv.layout, "Q")}, srv.disk).at(0));
  CHECK(names_in(srv.layout.queue()) == std::vector<std::string>{"Q.eml"});
  CHECK(Committer::run_batch({remove_entry_job(srv.layout, "Q")}, srv.disk).at(0));  // the retry
  CHECK(names_in(srv.layout.queue()).empty());
}

TEST_CASE("a failed folder fsync fails the job but leaves its files in place") {
  Server srv;
  auto s = session();
  srv.disk.fail(Op::fsync_dir, EIO, 1, true);
  CHECK(submit(srv, s, {"usr@gmail.com"}, "Q1") == std::vector<int>{354, 451});
  CHECK(names_in(srv.box("usr@gmail.com")).size() == 1);  // a retry may duplicate it; nothing is lost
}

TEST_CASE("the committer's threads use the Fs they were given") {
  TempDir t;
  FaultFs ffs;
  auto staged = StagedFile::create(ffs, t.path, "m");
  REQUIRE(staged);
  REQUIRE(staged->write("x\n"));
  REQUIRE(staged->flush());
  ffs.fail(Op::fdatasync, EIO);
  std::atomic<int> failed{0};
  {
    Committer c(3, ffs);
    c.submit(CommitJob{{staged->fd()}, {}, {{staged->path().string(), (t.path / "placed").string()}}, {}, {}},
             [&failed](Result<void> r) { failed += (!r && r.error().detail.find("fdatasync") == 0) ? 1 : 0; });
  }
  CHECK(failed == 1);
  CHECK_FALSE(fs::exists(t.path / "placed"));
  CHECK(ffs.calls(Op::fdatasync) == 1);
}
