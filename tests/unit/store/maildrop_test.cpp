#include "store/maildrop.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "temp_maildir.hpp"

using namespace mail;
using namespace mail::store;
namespace fs = std::filesystem;


TEST_CASE("opening moves new/ to cur/ with :2, and lists in delivery order with the named sizes") {
  TempMaildir m;
  m.put("new", "1795316800.M5P9Q2.vm,S=5,W=6", "abcd\n");
  m.put("new", "1795316799.M900P9Q1.vm,S=5,W=6", "efgh\n");
  m.put("cur", "1795316700.M1P9Q0.vm,S=5,W=6:2,S", "old!\n");
  m.put("cur", ".hidden", "not a message");
  auto l = open_maildrop(m.path);
  REQUIRE(l);
  REQUIRE(l->size() == 3);
  CHECK(l->name(0) == "1795316700.M1P9Q0.vm,S=5,W=6:2,S");
  CHECK(l->name(1) == "1795316799.M900P9Q1.vm,S=5,W=6:2,");
  CHECK(l->name(2) == "1795316800.M5P9Q2.vm,S=5,W=6:2,");
  CHECK(l->uid(2) == "1795316800.M5P9Q2.vm");
  CHECK(l->octets(1) == 6);
  CHECK(fs::is_empty(m.path / "new"));
  CHECK(fs::exists(m.path / "cur" / "1795316800.M5P9Q2.vm,S=5,W=6:2,"));
  // A second opening sees the same numbers and ids: UIDs are stable.
  auto again = open_maildrop(m.path);
  REQUIRE(again);
  CHECK(again->uid(2) == l->uid(2));
}

TEST_CASE("peeking lists new/ and cur/ in POP3's order and moves nothing (the web view)") {
  TempMaildir m;
  m.put("new", "1795316800.M5P9Q2.vm,S=5,W=6", "abcd\n");
  m.put("new", "1795316799.M900P9Q1.vm,S=5,W=6", "efgh\n");
  m.put("cur", "1795316700.M1P9Q0.vm,S=5,W=6:2,S", "old!\n");
  m.put("cur", ".hidden", "not a message");
  auto l = peek_maildrop(m.path);
  REQUIRE(l);
  REQUIRE(l->size() == 3);
  CHECK((*l)[0].name == "1795316700.M1P9Q0.vm,S=5,W=6:2,S");
  CHECK((*l)[0].seen);
  CHECK((*l)[1].name == "1795316799.M900P9Q1.vm,S=5,W=6");
  CHECK(!(*l)[1].seen);
  CHECK((*l)[2].name == "1795316800.M5P9Q2.vm,S=5,W=6");
  CHECK(fs::exists(m.path / "new" / "1795316800.M5P9Q2.vm,S=5,W=6"));
  // The numbers agree with what a POP3 session then lists.
  auto pop = open_maildrop(m.path);
  REQUIRE(pop);
  for (std::size_t i = 0; i < 3; ++i) CHECK(pop->uid(i) == (*l)[i].name.substr(0, uid_length((*l)[i].name)));
}

TEST_CASE("a file without ,W= (delivered by someone else) is counted as it will be sent") {
  TempMaildir m;
  m.put("cur", "1795316801.foreign:2,", "a\nb\r\nno final newline");  // 2 + 3 + 16, +1 CR, +2 final CRLF
  auto l = open_maildrop(m.path);
  REQUIRE(l);
  REQUIRE(l->size() == 1);
  CHECK(l->octets(0) == 2 + 1 + 3 + 16 + 2);
  CHECK(l->uid(0) == "1795316801.foreign");
}

TEST_CASE("removing unlinks the named messages and counts only what it removed") {
  TempMaildir m;
  m.put("cur", "a:2,", "x\n");
  m.put("cur", "b:2,", "y\n");
  auto r = remove_messages(m.path, {"a:2,", "gone-already:2,"});
  CHECK_FALSE(m.has("cur/a:2,"));
  CHECK(m.has("cur/b:2,"));
  CHECK(r.deleted == 1);
  CHECK(r.gone == 1);  // another reader removed it: not a deletion of ours
  CHECK(r.renamed == 0);
  CHECK(r.failed.empty());
}

TEST_CASE("UPDATE accounting: renamed messages are removed under their new names, in one scan") {
  TempMaildir m;
  m.put("cur", "1.M1P1.vm,S=2,W=3:2,S", "x\n");  // Dovecot: "cur/X:2," -> "cur/X:2,S"
  m.put("cur", "2.M1P1.vm,S=2,W=3:2,S", "y\n");  // Dovecot: "new/X" -> "cur/X:2,S"
  m.put("new", "3.M1P1.vm,S=2,W=3", "z\n");      // mutt: marked new again
  m.put("cur", "4.M1P1.vm,S=2,W=3:2,", "w\n");   // untouched
  m.put("cur", "6.M1P1.vm,S=2,W=3:2,", "k\n");   // not marked deleted: stays
  std::filesystem::create_directory(m.path / "cur" / "7.M1P1.vm:2,");  // unlink fails (EISDIR)
  auto r = remove_messages(m.path, {"1.M1P1.vm,S=2,W=3:2,", "2.M1P1.vm,S=2,W=3:2,", "3.M1P1.vm,S=2,W=3:2,",
                                    "4.M1P1.vm,S=2,W=3:2,", "5.M1P1.vm,S=2,W=3:2,", "7.M1P1.vm:2,"});
  CHECK(r.deleted == 4);
  CHECK(r.renamed == 3);
  CHECK(r.gone == 1);  // 5: removed by the other reader
  CHECK(r.failed.find("7.M1P1.vm:2,") != std::string::npos);
  CHECK(r.failed.find("5.M1P1") == std::string::npos);
  for (const char* f : {"cur/1.M1P1.vm,S=2,W=3:2,S", "cur/2.M1P1.vm,S=2,W=3:2,S", "new/3.M1P1.vm,S=2,W=3",
                        "cur/4.M1P1.vm,S=2,W=3:2,"})
    CHECK_MESSAGE(!m.has(f), f);
  CHECK(m.has("cur/6.M1P1.vm,S=2,W=3:2,"));
}

TEST_CASE("the lock table: one session per maildrop, released by the guard") {
  MaildropLocks locks;
  auto a = locks.try_lock("usr@gmail.com");
  CHECK(a);
  CHECK_FALSE(locks.try_lock("usr@gmail.com"));
  CHECK(locks.try_lock("other@gmail.com"));  // released at once: a temporary guard
  CHECK_FALSE(locks.locked("other@gmail.com"));
  {
    auto moved = std::move(a);
    CHECK(locks.locked("usr@gmail.com"));
  }
  CHECK_FALSE(locks.locked("usr@gmail.com"));
  CHECK(uid_length("1795316797.M1P1Q1.vm,S=1,W=2:2,") == 20);
  CHECK(uid_length(std::string(100, 'x')) == 70);
}
