#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "store/committer.hpp"
#include "store/data_lock.hpp"
#include "store/delivery.hpp"
#include "store/envelope.hpp"
#include "store/layout.hpp"
#include "../../temp_dir.hpp"

using namespace mail;
using namespace mail::store;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("addresses become folder names that cannot leave mail/") {
  CHECK(address_dirname("usr1@Mail.SUSTech.edu.cn") == "usr1@mail.sustech.edu.cn");
  CHECK(address_dirname("Bob@x.org") == "Bob@x.org");  // local part exact
  CHECK(address_dirname("../../etc/passwd@x.org") == "%2E.%2F..%2Fetc%2Fpasswd@x.org");
  CHECK(address_dirname("a/b@x.org") == "a%2Fb@x.org");
  CHECK(address_dirname("100%@x.org") == "100%25@x.org");
  CHECK(address_dirname(std::string("a\0b@x.org", 9)) == "a%00b@x.org");
  CHECK(address_dirname("a\nb@x.org") == "a%0Ab@x.org");
  CHECK(address_dirname("\"usr1\"@Mail.SUSTech.edu.cn.") == "usr1@mail.sustech.edu.cn");  // one rule: util::canonical_address
  CHECK(address_dirname(".hidden@x.org") == "%2Ehidden@x.org");
  CHECK(address_dirname("") == "%00");
  Layout l("/data");
  CHECK(l.maildir("usr@gmail.com") == fs::path("/data/mail/usr@gmail.com"));
}

TEST_CASE("Maildir names carry the sizes POP3 needs, the Dovecot way") {
  auto u = maildir::unique_name(1795316797, 42, 1234, 7, "vm/x:y");
  CHECK(u == "1795316797.M42P1234Q7.vm\\057x\\072y");
  auto n = maildir::final_name(u, 217, 225);
  CHECK(n == u + ",S=217,W=225");
  auto s = maildir::parse_sizes(n);
  REQUIRE(s);
  CHECK(s->size == 217);
  CHECK(s->wsize == 225);
  auto seen = maildir::parse_sizes(n + ":2,S");  // moved to cur/ with flags
  REQUIRE(seen);
  CHECK(seen->wsize == 225);
  CHECK_FALSE(maildir::parse_sizes("1795316797.M42P1234Q7.vm"));
  CHECK_FALSE(maildir::parse_sizes("x,S=12"));
}

TEST_CASE("queue envelopes round-trip and refuse other versions") {
  QueueEnvelope e{"ID1", "usr@gmail.com", "client", 1795316797,
                  {{"a@yahoo.com", RcptState::pending, 0, 0, ""}, {"b@yahoo.com", RcptState::failed, 3, 99, "550 no"}}};
  auto back = envelope_from_json(to_json(e));
  REQUIRE(back);
  CHECK(back->id == "ID1");
  CHECK(back->received == 1795316797);
  REQUIRE(back->recipients.size() == 2);
  CHECK(back->recipients[1].state == RcptState::failed);
  CHECK(back->recipients[1].last_reply == "550 no");
  CHECK(back->recipients[1].next_try == 99);
  CHECK_FALSE(back->bounced);
  CHECK(to_json(e).find("bounced") == std::string::npos);  // written only when set
  e.bounced = true;
  back = envelope_from_json(to_json(e));
  REQUIRE(back);
  CHECK(back->bounced);
  // A file written before "bounced" existed.
  auto old = envelope_from_json(R"({"version": 1, "id": "O", "sender": "", "helo": "h", "received": 7,
    "recipients": [{"address": "a@b.c", "state": "failed", "attempts": 2, "next_try": 0, "last_reply": "550 x"}]})");
  REQUIRE(old);
  CHECK_FALSE(old->bounced);
  CHECK(old->recipients.at(0).state == RcptState::failed);
  CHECK_FALSE(envelope_from_json(R"({"version": 2, "id": "x"})"));
  CHECK_FALSE(envelope_from_json("not json"));
  CHECK_FALSE(envelope_from_json(R"({"version": 1})"));
}

TEST_CASE("a delivery to two local and one remote recipient: one linked copy, one queue copy") {
  TempDir t;
  Layout layout(t.path);
  REQUIRE(layout.prepare({"usr@gmail.com", "Bob@gmail.com"}));
  MessageInfo info{"Q1", "1.M1P1Q1.host", "usr@gmail.com", "client", {"usr@gmail.com", "Bob@gmail.com"},
                   {"x@yahoo.com"}, "Received: from client\n\tby gmail.com; date\n", 1795316797};
  auto d = Delivery::begin(layout, info);
  REQUIRE(d);
  REQUIRE(d->write_line("Subject: hi"));
  REQUIRE(d->write_line(""));
  REQUIRE(d->write_line("a\rb"));
  auto job = d->finish();
  REQUIRE(job);
  auto results = Committer::run_batch({*job});
  REQUIRE(results.size() == 1);
  REQUIRE(results[0]);
  d->committed();

  const std::string mailbox = "Return-Path: <usr@gmail.com>\nReceived: from client\n\tby gmail.com; date\nSubject: hi\n\na\rb\n";
  auto name = "1.M1P1Q1.host,S=" + std::to_string(mailbox.size()) + ",W=" + std::to_string(mailbox.size() + 6);
  auto a = files_in(t.path / "mail" / "usr@gmail.com" / "new");
  auto b = files_in(t.path / "mail" / "Bob@gmail.com" / "new");
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  CHECK(a[0].filename() == name);
  CHECK(slurp(a[0]) == mailbox);
  CHECK(slurp(b[0]) == mailbox);
  struct stat sa{}, sb{};
  REQUIRE(stat(a[0].c_str(), &sa) == 0);
  REQUIRE(stat(b[0].c_str(), &sb) == 0);
  CHECK(sa.st_ino == sb.st_ino);  // the same bytes on disk
  CHECK(sa.st_nlink == 2);
  CHECK(files_in(t.path / "mail" / "usr@gmail.com" / "tmp").empty());

  CHECK(slurp(t.path / "queue" / "Q1.eml") == "Received: from client\n\tby gmail.com; date\nSubject: hi\n\na\rb\n");
  auto env = envelope_from_json(slurp(t.path / "queue" / "Q1.json"));
  REQUIRE(env);
  CHECK(env->sender == "usr@gmail.com");
  REQUIRE(env->recipients.size() == 1);
  CHECK(env->recipients[0].address == "x@yahoo.com");
  CHECK(files_in(t.path / "queue" / "tmp").empty());
}

TEST_CASE("an abandoned delivery leaves nothing behind; leftovers in tmp/ go at start") {
  TempDir t;
  Layout layout(t.path);
  REQUIRE(layout.prepare({"usr@gmail.com"}));
  {
    auto d = Delivery::begin(layout, MessageInfo{"Q2", "2.M2P2Q2.host", "", "c", {"usr@gmail.com"}, {"r@y.org"}, "R\n", 0});
    REQUIRE(d);
    REQUIRE(d->write_line("body"));
  }
  CHECK(files_in(t.path / "mail" / "usr@gmail.com" / "tmp").empty());
  CHECK(files_in(t.path / "queue" / "tmp").empty());
  std::ofstream(t.path / "mail" / "usr@gmail.com" / "tmp" / "crash-leftover") << "x";
  REQUIRE(layout.prepare({"usr@gmail.com"}));
  CHECK(files_in(t.path / "mail" / "usr@gmail.com" / "tmp").empty());
}

TEST_CASE("a failed step fails only its own job") {
  TempDir t;
  fs::create_directories(t.path / "new");
  std::ofstream(t.path / "a") << "a";
  CommitJob good{{}, {}, {{(t.path / "a").string(), (t.path / "new" / "a").string()}}, {}, {(t.path / "new").string()}};
  CommitJob bad{{}, {}, {{(t.path / "missing").string(), (t.path / "new" / "m").string()}}, {}, {(t.path / "new").string()}};
  auto r = Committer::run_batch({good, bad});
  CHECK(r[0]);
  REQUIRE_FALSE(r[1]);
  CHECK(r[1].error().detail.find("rename") == 0);
  CHECK(fs::exists(t.path / "new" / "a"));
}

TEST_CASE("the committer threads run every submitted job and report each") {
  TempDir t;
  fs::create_directories(t.path / "new");
  std::atomic<int> ok{0};
  {
    Committer c(3);
    for (int i = 0; i < 50; ++i) {
      auto from = t.path / std::to_string(i);
      std::ofstream(from) << i;
      c.submit(CommitJob{{}, {}, {{from.string(), (t.path / "new" / std::to_string(i)).string()}}, {}, {(t.path / "new").string()}},
               [&ok](Result<void> r) { ok += r ? 1 : 0; });
    }
  }  // the destructor finishes what was submitted
  CHECK(ok == 50);
  CHECK(files_in(t.path / "new").size() == 50);
}

TEST_CASE("one process per data folder: the lock refuses a second holder, naming the first's PID") {
  TempDir t;
  const auto data = t.path / "var" / "gmail.com";  // created when missing
  auto first = DataLock::acquire(data);
  REQUIRE(first);
  CHECK(slurp(data / "mailsrv.lock") == std::to_string(::getpid()) + "\n");
  auto second = DataLock::acquire(data);  // another open file: flock conflicts within one process too
  REQUIRE_FALSE(second);
  CHECK(second.error().code == Errc::refused);
  CHECK(second.error().detail == data.string() + ": in use by another mailsrv (pid " + std::to_string(::getpid()) + ")");
  { auto gone = std::move(*first); }  // released (the kernel does the same when the process dies)
  CHECK(DataLock::acquire(data));
}
