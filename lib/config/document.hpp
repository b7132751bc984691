// A TOML or JSON file read into one JSON tree, remembering where each value came from, so that every
// validation error is one line naming the file and the line + key (TOML) or the JSON pointer (JSON).
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.hpp"

namespace mail::config {

enum class Format { toml, json };

class Document {
 public:
  /// `.json` files are JSON, everything else TOML. Errors are one line naming the file.
  static Result<Document> load(const std::filesystem::path& file);
  static Result<Document> parse(std::string_view text, std::string file_name, Format format);

  const nlohmann::json& root() const noexcept { return root_; }
  const std::string& file() const noexcept { return file_; }
  Format format() const noexcept { return format_; }
  /// `file:LINE: key` (TOML) or `file: /json/pointer` (JSON) for the value at `path`.
  std::string where(const std::vector<std::string>& path) const;

 private:
  std::string file_;
  Format format_ = Format::toml;
  nlohmann::json root_;
  std::unordered_map<std::string, std::uint32_t> lines_;  // path joined by '\0' -> line (TOML)
  friend struct TomlConverter;
};

/// Thrown while validating; caught at the loader's boundary and turned into an Error.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// One value of a Document and its path: typed accessors that fail with a located message.
class Node {
 public:
  Node(const Document& doc, const nlohmann::json& value, std::vector<std::string> path)
      : doc_(&doc), value_(&value), path_(std::move(path)) {}

  const nlohmann::json& json() const noexcept { return *value_; }
  const std::vector<std::string>& path() const noexcept { return path_; }
  const std::string& key() const { return path_.back(); }
  std::string where() const { return doc_->where(path_); }
  [[noreturn]] void fail(std::string_view why) const;

  bool is_table() const noexcept { return value_->is_object(); }
  bool is_array() const noexcept { return value_->is_array(); }
  bool is_string() const noexcept { return value_->is_string(); }

  std::optional<Node> find(std::string_view key) const;
  /// Table entries in key order; fails unless this is a table.
  std::vector<Node> entries() const;
  /// Array elements; fails unless this is an array.
  std::vector<Node> elements() const;
  /// Fails naming the first key that is not in `allowed`.
  void only_keys(std::initializer_list<std::string_view> allowed) const;
  void only_keys(std::span<const std::string_view> allowed) const;
  void expect_table() const;

  std::string as_string() const;
  std::int64_t as_int(std::int64_t min, std::int64_t max) const;
  /// An integer, or a string of digits (zone files write ports as "1025").
  std::int64_t as_int_or_digits(std::int64_t min, std::int64_t max) const;
  bool as_bool() const;

 private:
  const Document* doc_;
  const nlohmann::json* value_;
  std::vector<std::string> path_;
};

inline Node root_node(const Document& doc) { return Node(doc, doc.root(), {}); }

/// A whole file; the error is one line: `FILE: cannot open: REASON`.
Result<std::string> read_file(const std::filesystem::path& file);
/// `s` with control bytes written as escapes (\n, \x01): errors are one line.
std::string one_line(std::string_view s);

}  // namespace mail::config
