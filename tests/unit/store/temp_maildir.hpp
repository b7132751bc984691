// A Maildir in a temporary folder for store tests, removed at the end of the test.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../../temp_dir.hpp"

struct TempMaildir : TempDir {
  TempMaildir() : TempDir("mw-drop") {
    for (const char* d : {"tmp", "new", "cur"}) std::filesystem::create_directories(path / d);
  }
  void put(const std::string& sub, const std::string& name, const std::string& body) {
    std::ofstream(path / sub / name, std::ios::binary) << body;
  }
  /// What another Maildir reader does: renames `from` to `to` (both relative to the Maildir).
  void move(const std::string& from, const std::string& to) { std::filesystem::rename(path / from, path / to); }
  bool has(const std::string& rel) const { return std::filesystem::exists(path / rel); }
};
