// agent::MessageReader (retr --save-attachments) against a hostile save folder: what is already there,
// a symlink above all, is never written through nor replaced.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "../../temp_dir.hpp"
#include "agent/commands.hpp"

namespace fs = std::filesystem;

namespace {

// A message with one base64 attachment (diverted to a hidden file) and one 7bit attachment (kept in memory).
const char* const kMessage[] = {
    "Subject: two",
    "Content-Type: multipart/mixed; boundary=\"b\"",
    "",
    "--b",
    "Content-Type: text/plain",
    "",
    "hello",
    "--b",
    "Content-Type: application/octet-stream; name=\"a.bin\"",
    "Content-Disposition: attachment; filename=\"a.bin\"",
    "Content-Transfer-Encoding: base64",
    "",
    "QUJD",
    "--b",
    "Content-Type: application/octet-stream; name=\"c.txt\"",
    "Content-Disposition: attachment; filename=\"c.txt\"",
    "",
    "plain",
    "--b--",
};

nlohmann::json retrieve(const fs::path& dir) {
  agent::MessageReader reader(dir.string());
  for (const char* l : kMessage) reader.line(l);
  std::ostringstream out;
  return reader.show(out, false);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("MessageReader: a dangling symlink in the save folder is neither written through nor replaced") {
  TempDir dir("mw-save"), elsewhere("mw-victim");
  const fs::path victim_hidden = elsewhere.path / "hidden", victim_a = elsewhere.path / "a", victim_c = elsewhere.path / "c";
  fs::create_symlink(victim_hidden, dir.path / ".retr-0.part");  // where the base64 body is decoded on the way
  fs::create_symlink(victim_a, dir.path / "a.bin");
  fs::create_symlink(victim_c, dir.path / "c.txt");
  auto j = retrieve(dir.path);
  CHECK_MESSAGE(!fs::exists(victim_hidden), "the hidden file was written through a symlink");
  CHECK_MESSAGE(!fs::exists(victim_c), "a kept attachment was written through a symlink");
  CHECK_MESSAGE(fs::is_symlink(dir.path / "a.bin"), "a diverted attachment replaced an existing entry (a symlink)");
  CHECK(fs::is_symlink(dir.path / "c.txt"));
  CHECK(fs::is_symlink(dir.path / ".retr-0.part"));
  REQUIRE(j["attachments"].size() == 2);
  fs::path a = j["attachments"][0]["saved"].get<std::string>(), c = j["attachments"][1]["saved"].get<std::string>();
  CHECK(a.parent_path() == dir.path);
  CHECK(c.parent_path() == dir.path);
  CHECK(slurp(a) == "ABC");
  CHECK(slurp(c) == "plain");
  int hidden = 0;  // only the planted symlink is left of the hidden files
  for (const auto& e : fs::directory_iterator(dir.path)) hidden += e.path().filename().string().rfind(".retr-", 0) == 0;
  CHECK(hidden == 1);
}

TEST_CASE("MessageReader: existing files keep their contents; the same name twice gives two files") {
  TempDir dir("mw-save");
  { std::ofstream(dir.path / "a.bin") << "mine"; }
  { std::ofstream(dir.path / "c.txt") << "mine too"; }
  auto j1 = retrieve(dir.path);
  auto j2 = retrieve(dir.path);
  CHECK(slurp(dir.path / "a.bin") == "mine");
  CHECK(slurp(dir.path / "c.txt") == "mine too");
  std::set<std::string> saved;
  for (const auto* j : {&j1, &j2})
    for (const auto& a : (*j)["attachments"]) saved.insert(a["saved"].get<std::string>());
  CHECK(saved.size() == 4);
  for (const auto& s : saved) CHECK(fs::path(s).parent_path() == dir.path);
}
