// A Maildir in a temporary folder for store tests, removed at the end of the test.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

struct TempMaildir {
  std::filesystem::path path;
  TempMaildir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mw-drop-XXXXXX").string();
    path = mkdtemp(tmpl.data());
    for (const char* d : {"tmp", "new", "cur"}) std::filesystem::create_directories(path / d);
  }
  ~TempMaildir() { std::filesystem::remove_all(path); }
  void put(const std::string& sub, const std::string& name, const std::string& body) {
    std::ofstream(path / sub / name, std::ios::binary) << body;
  }
  /// What another Maildir reader does: renames `from` to `to` (both relative to the Maildir).
  void move(const std::string& from, const std::string& to) { std::filesystem::rename(path / from, path / to); }
  bool has(const std::string& rel) const { return std::filesystem::exists(path / rel); }
};
