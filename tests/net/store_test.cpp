// net::Store (one awaited call per change of the disk) and net::StoreSink (the SMTP driver's seam) on
// an io_context and a real committer over a temp folder; no network. The disk fails through FaultFs.
#include <doctest/doctest.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "../unit/store/fault_fs.hpp"
#include "net/message_sink.hpp"
#include "net/store.hpp"
#include "run.hpp"

using namespace mail;
using store::test::FaultFs;
using Op = FaultFs::Op;
namespace fs = std::filesystem;

namespace {

// FaultFs whose fdatasync waits until the gate opens: a job can be held inside the committer.
class GateFs final : public store::Fs {
 public:
  FaultFs faults;
  void close_gate() {
    std::lock_guard l(mu_);
    open_ = false;
  }
  void open_gate() {
    {
      std::lock_guard l(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void wait_until_held() {
    std::unique_lock l(mu_);
    cv_.wait(l, [this] { return waiting_ > 0; });
  }
  int create(const char* p) override { return faults.create(p); }
  ssize_t write(int fd, const void* d, std::size_t n) override { return faults.write(fd, d, n); }
  int fdatasync(int fd) override {
    {
      std::unique_lock l(mu_);
      ++waiting_;
      cv_.notify_all();
      cv_.wait(l, [this] { return open_; });
      --waiting_;
    }
    return faults.fdatasync(fd);
  }
  int link(const char* a, const char* b) override { return faults.link(a, b); }
  int rename(const char* a, const char* b) override { return faults.rename(a, b); }
  int unlink(const char* p) override { return faults.unlink(p); }
  int fsync_dir(const char* p) override { return faults.fsync_dir(p); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int waiting_ = 0;
};

// A server's disk: layout, committer and net::Store over a temp folder.
struct World {
  fs::path path;
  GateFs disk;
  store::Layout layout{"/nonexistent"};
  std::optional<store::Committer> committer;
  std::optional<net::Store> store;
  World() {
    std::string tmpl = (fs::temp_directory_path() / "mw-netstore-XXXXXX").string();
    path = mkdtemp(tmpl.data());
    layout = store::Layout(path, disk);
    REQUIRE(layout.prepare({"usr@gmail.com", "Bob@gmail.com"}));
    committer.emplace(2, disk);
    store.emplace(layout, *committer);
  }
  ~World() {
    disk.open_gate();
    committer.reset();
    fs::remove_all(path);
  }
  std::vector<std::string> files() const {  // every file under the data folder, "dir/name" relative to it
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(path))
      if (e.is_regular_file()) out.push_back(fs::relative(e.path(), path).string());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<std::string> staged() const {
    auto all = files();
    std::erase_if(all, [](const std::string& f) { return f.find("/tmp/") == std::string::npos; });
    return all;
  }
  store::Delivery delivery(std::string id, std::vector<std::string> local, std::vector<std::string> remote) {
    auto d = store->begin(store::MessageInfo{id, "1." + id + ".host", "a@b.c", "client", std::move(local),
                                             std::move(remote), "Received: x\n", 7});
    REQUIRE(d);
    REQUIRE(d->write_line("Subject: hi"));
    REQUIRE(d->write_line(""));
    REQUIRE(d->write_line("body"));
    return std::move(*d);
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

asio::awaitable<void> commit_into(net::Store* s, store::Delivery d, std::optional<Result<store::Stored>>* out) {
  auto r = co_await s->commit(std::move(d));
  out->emplace(std::move(r));
}

asio::awaitable<void> save_then_remove(net::Store* s, store::QueueEnvelope env, std::vector<std::string>* seen,
                                       World* w) {
  auto saved = co_await s->save(env);
  REQUIRE(saved);
  for (const auto& f : w->files()) seen->push_back(f);
  auto removed = co_await s->remove(env.id);
  REQUIRE(removed);
}

}  // namespace

TEST_CASE("Store::commit: one call, and the message is in new/ and queue/, as Stored says") {
  World w;
  asio::io_context io;
  std::optional<Result<store::Stored>> out;
  nettest::run(io, commit_into(&*w.store, w.delivery("Q1", {"usr@gmail.com"}, {"x@yahoo.com"}), &out));
  REQUIRE(out.has_value());
  REQUIRE(*out);
  const auto& s = **out;
  CHECK(s.id == "Q1");
  REQUIRE(s.mailbox_files.size() == 1);
  CHECK(slurp(s.mailbox_files[0]) == "Return-Path: <a@b.c>\nReceived: x\nSubject: hi\n\nbody\n");
  CHECK(slurp(s.queue_file) == "Received: x\nSubject: hi\n\nbody\n");
  REQUIRE(s.queued.has_value());
  CHECK(s.queued->recipients.at(0).address == "x@yahoo.com");
  CHECK(w.staged().empty());
  CHECK(w.files().size() == 3);  // the mailbox copy, Q1.eml, Q1.json
}

TEST_CASE("Store::commit fails: the error comes back and nothing is visible, nothing staged") {
  for (auto op : {Op::fdatasync, Op::rename}) {
    CAPTURE(static_cast<int>(op));
    World w;
    asio::io_context io;
    w.disk.faults.fail(op, EIO, 2);
    std::optional<Result<store::Stored>> out;
    nettest::run(io, commit_into(&*w.store, w.delivery("Q1", {"usr@gmail.com"}, {"x@yahoo.com"}), &out));
    REQUIRE(out.has_value());
    REQUIRE_FALSE(*out);
    CHECK(out->error().code == Errc::io);
    CHECK(w.files().empty());
  }
}

TEST_CASE("a Delivery dropped before its commit ran leaves nothing in tmp/") {
  World w;
  SUBCASE("the commit is never awaited") {
    auto never = w.store->commit(w.delivery("Q1", {"usr@gmail.com"}, {"x@yahoo.com"}));
    CHECK(w.staged().size() == 2);  // the mailbox copy and the queue copy, in the commit's frame
  }
  SUBCASE("the coroutine that would commit it never runs") {
    asio::io_context io;
    std::optional<Result<store::Stored>> out;
    asio::co_spawn(io, commit_into(&*w.store, w.delivery("Q1", {"usr@gmail.com"}, {}), &out), asio::detached);
    CHECK(w.staged().size() == 1);
  }  // the io_context goes with its unstarted coroutine
  CHECK(w.files().empty());
}

TEST_CASE("a commit whose caller is gone: the job still settles its own files") {
  for (bool fails : {false, true}) {
    CAPTURE(fails);
    World w;
    std::optional<Result<store::Stored>> out;
    {
      asio::io_context io;
      if (fails) w.disk.faults.fail(Op::rename, EIO, 2);  // Q1.eml's
      w.disk.close_gate();
      asio::co_spawn(io, commit_into(&*w.store, w.delivery("Q1", {"usr@gmail.com"}, {"x@yahoo.com"}), &out),
                     asio::detached);
      io.poll();  // up to the committer, which holds the job at its first fdatasync
      w.disk.wait_until_held();
      io.stop();  // the caller is gone: its io_context will never run again
      w.disk.open_gate();
      w.committer.reset();  // finishes the job; its result is posted to the stopped io_context
      CHECK_FALSE(out.has_value());
      CHECK(w.staged().empty());
      if (fails) CHECK(w.files().empty());
      else CHECK(w.files().size() == 3);
    }  // the io_context destroys the posted result and the coroutine waiting for it
    CHECK_FALSE(out.has_value());
  }
}

TEST_CASE("Store::save writes the envelope durably, Store::remove takes the entry away") {
  World w;
  std::ofstream(w.layout.queue() / "Q.eml") << "m\n";
  store::QueueEnvelope env{"Q", "a@b.c", "h", 5, {{"x@y.org", store::RcptState::pending, 0, 0, ""}}};
  asio::io_context io;
  std::vector<std::string> seen;
  nettest::run(io, save_then_remove(&*w.store, env, &seen, &w));
  CHECK(seen == std::vector<std::string>{"queue/Q.eml", "queue/Q.json"});
  CHECK(w.files().empty());
}

// ---- the sink ------------------------------------------------------------------------------------

namespace {

struct SinkWorld : World {
  std::vector<store::QueueEnvelope> queued;
  std::vector<std::string> stored;
  int ids = 0;
  net::StoreSink sink{*store, options()};
  log::Context log{"smtp", "s1", "127.0.0.1:5"};

  net::StoreSink::Options options() {
    net::StoreSink::Options o;
    o.server_name = "gmail.com";
    o.next_id = [this] { return "ID" + std::to_string(++ids); };
    o.next_unique = [this] { return "1.M" + std::to_string(ids) + ".host"; };
    o.queued = [this](store::QueueEnvelope e) { queued.push_back(std::move(e)); };
    o.stored = [this](const store::Stored& s, const log::Context&) { stored.push_back(s.id); };
    return o;
  }
  smtp::Envelope envelope(std::vector<std::string> local, std::vector<std::string> remote) {
    smtp::Envelope e;
    e.helo = "client.example";
    e.sender = "a@b.c";
    e.local = std::move(local);
    e.remote = std::move(remote);
    return e;
  }
};

asio::awaitable<void> finish_into(net::MessageSink::Message* m, std::optional<Result<std::string>>* out) {
  out->emplace(co_await m->finish(false));
}

}  // namespace

TEST_CASE("the sink: open, write, finish gives the queue id; the copies are durable, the relay gets the entry") {
  SinkWorld w;
  auto m = w.sink.open(w.envelope({"usr@gmail.com"}, {"x@yahoo.com"}), "192.0.2.7", w.log);
  REQUIRE(m);
  CHECK((*m)->id() == "ID1");
  (*m)->write_line("Subject: hi");
  (*m)->write_line("");
  (*m)->write_piece("a long ");
  (*m)->write_line("line");
  CHECK(w.queued.empty());
  asio::io_context io;
  std::optional<Result<std::string>> out;
  nettest::run(io, finish_into(m->get(), &out));
  REQUIRE(out.has_value());
  REQUIRE(*out);
  CHECK(**out == "ID1");
  CHECK(w.stored == std::vector<std::string>{"ID1"});
  REQUIRE(w.queued.size() == 1);
  CHECK(w.queued[0].id == "ID1");
  CHECK(w.queued[0].sender == "a@b.c");
  CHECK(w.queued[0].helo == "client.example");
  REQUIRE(w.queued[0].recipients.size() == 1);
  CHECK(w.queued[0].recipients[0].address == "x@yahoo.com");
  auto eml = slurp(w.layout.queue() / "ID1.eml");
  CHECK(eml.find("Received: from client.example ([192.0.2.7])\n\tby gmail.com") == 0);
  CHECK(eml.find("id ID1") != std::string::npos);
  CHECK(eml.find("for <") == std::string::npos);  // two recipients: no FOR clause
  CHECK(eml.ends_with("\nSubject: hi\n\na long line\n"));
  CHECK(w.staged().empty());
  CHECK(w.files().size() == 3);
}

TEST_CASE("the sink: a message dropped unfinished leaves nothing, and nothing reaches the relay") {
  SinkWorld w;
  {
    auto m = w.sink.open(w.envelope({"usr@gmail.com"}, {"x@yahoo.com"}), "192.0.2.7", w.log);
    REQUIRE(m);
    (*m)->write_line("Subject: hi");
    CHECK(w.staged().size() == 2);
  }
  CHECK(w.files().empty());
  CHECK(w.queued.empty());
}

TEST_CASE("the sink: a write error is kept for finish; nothing visible, nothing queued") {
  SinkWorld w;
  auto m = w.sink.open(w.envelope({}, {"x@yahoo.com"}), "192.0.2.7", w.log);
  REQUIRE(m);
  w.disk.faults.fail(Op::write, ENOSPC, 1, true);
  std::string big(100 * 1024, 'x');  // past the staged file's buffer: written now
  (*m)->write_line(big);
  w.disk.faults.heal();
  (*m)->write_line("later lines are not written");
  asio::io_context io;
  std::optional<Result<std::string>> out;
  nettest::run(io, finish_into(m->get(), &out));
  REQUIRE(out.has_value());
  REQUIRE_FALSE(*out);
  CHECK(out->error().detail.find("No space left on device") != std::string::npos);
  m->reset();
  CHECK(w.files().empty());
  CHECK(w.queued.empty());
  CHECK(w.stored.empty());
}

TEST_CASE("the sink: nothing can be staged, so open fails; with one recipient Received names it") {
  SinkWorld w;
  w.disk.faults.fail(Op::create, ENOSPC);
  auto refused = w.sink.open(w.envelope({"usr@gmail.com"}, {}), "192.0.2.7", w.log);
  REQUIRE_FALSE(refused);
  CHECK(w.files().empty());
  auto m = w.sink.open(w.envelope({"usr@gmail.com"}, {}), "192.0.2.7", w.log);
  REQUIRE(m);
  asio::io_context io;
  std::optional<Result<std::string>> out;
  nettest::run(io, finish_into(m->get(), &out));
  REQUIRE(out.has_value());
  REQUIRE(*out);
  CHECK(w.queued.empty());  // no remote recipient
  auto files = w.files();
  REQUIRE(files.size() == 1);
  CHECK(slurp(w.path / files[0]).find("\tfor <usr@gmail.com>;") != std::string::npos);
}
