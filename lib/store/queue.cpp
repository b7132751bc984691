#include "store/queue.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "util/text.hpp"

namespace mail::store {

namespace fs = std::filesystem;

std::chrono::seconds retry_delay(int attempts, const config::Queue& q) {
  auto d = q.retry_first;
  for (int i = 1; i < attempts && d < q.retry_max; ++i) d *= 2;
  return std::min(d, q.retry_max);
}

QueueScan scan_queue(const Layout& layout) {
  QueueScan out;
  std::set<std::string> eml, json;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(layout.queue(), ec)) {
    if (!e.is_regular_file()) continue;
    auto name = e.path().filename().string();
    if (name.ends_with(".eml")) eml.insert(name.substr(0, name.size() - 4));
    if (name.ends_with(".json")) json.insert(name.substr(0, name.size() - 5));
  }
  for (const auto& id : eml) {
    if (json.contains(id)) continue;
    fs::remove(layout.queue() / (id + ".eml"), ec);  // the envelope never made it: never acknowledged
    out.problems.push_back("removed " + id + ".eml without an envelope");
  }
  for (const auto& id : json) {
    auto jp = layout.queue() / (id + ".json");
    if (!eml.contains(id)) {
      fs::remove(jp, ec);
      out.problems.push_back("removed " + id + ".json without a message");
      continue;
    }
    std::ifstream in(jp, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto env = envelope_from_json(ss.str());
    if (!env || env->id != id) {
      fs::create_directories(layout.queue() / "corrupt", ec);
      fs::rename(jp, layout.queue() / "corrupt" / (id + ".json"), ec);
      fs::rename(layout.queue() / (id + ".eml"), layout.queue() / "corrupt" / (id + ".eml"), ec);
      out.problems.push_back("moved " + id + " to queue/corrupt/: " + (env ? "id mismatch" : env.error().detail));
      continue;
    }
    out.envelopes.push_back(std::move(*env));
  }
  std::sort(out.envelopes.begin(), out.envelopes.end(),
            [](const QueueEnvelope& a, const QueueEnvelope& b) { return a.received < b.received; });
  return out;
}

namespace {

// The envelope in a staged file of queue/tmp/, flushed.
Result<StagedFile> write_envelope(const Layout& layout, const QueueEnvelope& env) {
  static std::uint64_t counter = 0;  // tmp names only need to differ from each other
  auto f = StagedFile::create(layout.fs(), layout.queue_tmp(), env.id + ".json." + std::to_string(++counter));
  if (!f) return f;
  if (auto r = f->write(to_json(env)); !r) return r.error();
  if (auto r = f->flush(); !r) return r.error();
  return f;
}

}  // namespace

Result<Commit> stage_envelope(const Layout& layout, const QueueEnvelope& env) {
  auto f = write_envelope(layout, env);
  if (!f) return std::move(f).error();
  Commit job;
  auto from = f->path().string();
  job.sync(std::move(*f));
  job.rename(std::move(from), (layout.queue() / (env.id + ".json")).string());
  job.sync_dir(layout.queue().string());
  return job;
}

Commit remove_entry(const Layout& layout, const std::string& id) { return Commit(remove_entry_job(layout, id)); }

Result<CommitJob> stage_envelope(const Layout& layout, const QueueEnvelope& env, std::optional<StagedFile>& holder) {
  auto f = write_envelope(layout, env);
  if (!f) return std::move(f).error();
  holder = std::move(*f);
  CommitJob job;
  job.sync_fds.push_back(holder->fd());
  job.renames.emplace_back(holder->path().string(), (layout.queue() / (env.id + ".json")).string());
  job.sync_dirs.push_back(layout.queue().string());
  return job;
}

CommitJob remove_entry_job(const Layout& layout, const std::string& id) {
  CommitJob job;
  // The envelope first: an .eml without it is cleaned up at the next start.
  job.unlinks.push_back((layout.queue() / (id + ".json")).string());
  job.unlinks.push_back((layout.queue() / (id + ".eml")).string());
  job.sync_dirs.push_back(layout.queue().string());
  return job;
}

Result<std::string> read_headers(const fs::path& file, std::size_t max) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(Errc::io, "cannot open " + file.string());
  std::string out, line;
  while (out.size() < max && std::getline(in, line)) {
    if (line.empty() || line == "\r") break;
    out += line;
    out += '\n';
  }
  return out;
}

int count_received(std::string_view headers) {
  int n = 0;
  std::size_t pos = 0;
  while (pos < headers.size()) {
    auto end = headers.find('\n', pos);
    auto line = headers.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (line.size() >= 9 && util::iequals(line.substr(0, 9), "Received:")) ++n;
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return n;
}

}  // namespace mail::store
