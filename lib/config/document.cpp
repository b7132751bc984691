#include "config/document.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

namespace mail::config {
namespace {

std::string join_key(const std::vector<std::string>& path) {
  std::string k;
  for (const auto& p : path) {
    k += p;
    k += '\0';
  }
  return k;
}

bool is_bare_key(std::string_view k) {
  if (k.empty()) return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

// TOML's way of writing a key path: server."gmail.com".smtp, MX."a."[1].pref
std::string toml_key(const std::vector<std::string>& path, const nlohmann::json& root) {
  std::string out;
  const nlohmann::json* node = &root;
  for (const auto& p : path) {
    if (node != nullptr && node->is_array()) {
      out += "[" + p + "]";
      auto i = std::stoul(p);
      node = i < node->size() ? &(*node)[i] : nullptr;
      continue;
    }
    if (!out.empty()) out += '.';
    if (is_bare_key(p)) {
      out += p;
    } else {
      out += '"';
      for (char c : p) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    }
    node = (node != nullptr && node->is_object() && node->contains(p)) ? &(*node)[p] : nullptr;
  }
  return out;
}

std::string json_pointer(const std::vector<std::string>& path) {
  if (path.empty()) return "/";
  std::string out;
  for (const auto& p : path) {
    out += '/';
    for (char c : p) {
      if (c == '~') out += "~0";
      else if (c == '/') out += "~1";
      else out += c;
    }
  }
  return out;
}

}  // namespace

// Errors are one line (a log line, a terminal line): control bytes quoted from the file or from a
// key are written as escapes.
std::string one_line(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c != 0x7f) out += static_cast<char>(c);
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
  }
  return out;
}

Result<std::string> read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(Errc::not_found, file.string() + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return fail(Errc::io, file.string() + ": cannot read");
  return ss.str();
}

struct TomlConverter {
  Document& doc;

  void record(const std::vector<std::string>& path, const toml::node& n) {
    auto line = n.source().begin.line;
    if (line != 0) doc.lines_[join_key(path)] = line;
  }

  nlohmann::json convert(const toml::node& n, std::vector<std::string>& path) {
    record(path, n);
    if (auto* t = n.as_table()) {
      auto obj = nlohmann::json::object();
      for (auto&& [k, v] : *t) {
        path.emplace_back(k.str());
        // A key's own line is where it is written; a table header line is where [table] is.
        obj[std::string(k.str())] = convert(v, path);
        if (k.source().begin.line != 0) doc.lines_[join_key(path)] = k.source().begin.line;
        path.pop_back();
      }
      return obj;
    }
    if (auto* a = n.as_array()) {
      auto arr = nlohmann::json::array();
      for (size_t i = 0; i < a->size(); ++i) {
        path.push_back(std::to_string(i));
        arr.push_back(convert(*a->get(i), path));
        path.pop_back();
      }
      return arr;
    }
    if (auto* s = n.as_string()) return s->get();
    if (auto* i = n.as_integer()) return i->get();
    if (auto* f = n.as_floating_point()) return f->get();
    if (auto* b = n.as_boolean()) return b->get();
    std::ostringstream ss;  // dates and times: kept as text, every key of ours rejects them
    n.visit([&](auto&& v) { ss << v; });
    return ss.str();
  }
};

Result<Document> Document::load(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text) return std::move(text).error();
  Format f = file.extension() == ".json" ? Format::json : Format::toml;
  return parse(*text, file.string(), f);
}

Result<Document> Document::parse(std::string_view text, std::string file_name, Format format) {
  Document doc;
  doc.file_ = std::move(file_name);
  doc.format_ = format;
  if (format == Format::json) {
    try {
      doc.root_ = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      // nlohmann reports a byte offset; users want a line.
      size_t line = 1;
      for (size_t i = 0; i < e.byte && i < text.size(); ++i)
        if (text[i] == '\n') ++line;
      std::string what = e.what();
      auto colon = what.find("]: ");  // drop nlohmann's "[json.exception.parse_error.101] " prefix
      if (colon != std::string::npos) what = what.substr(colon + 3);
      return fail(Errc::parse, one_line(doc.file_ + ":" + std::to_string(line) + ": " + what));
    } catch (const nlohmann::json::exception& e) {  // e.g. out_of_range: a number too large for a double
      std::string what = e.what();
      auto colon = what.find("] ");
      if (colon != std::string::npos) what = what.substr(colon + 2);
      return fail(Errc::parse, one_line(doc.file_ + ": " + what));
    }
    if (!doc.root_.is_object()) return fail(Errc::parse, doc.file_ + ": the top level must be an object");
    return doc;
  }
  try {
    toml::table t = toml::parse(text, doc.file_);
    std::vector<std::string> path;
    TomlConverter conv{doc};
    doc.root_ = conv.convert(t, path);
  } catch (const toml::parse_error& e) {
    return fail(Errc::parse, one_line(doc.file_ + ":" + std::to_string(e.source().begin.line) + ": " +
                                      std::string(e.description())));
  }
  return doc;
}

std::string Document::where(const std::vector<std::string>& path) const {
  if (format_ == Format::json) return file_ + ": " + json_pointer(path);
  // The nearest recorded line: the key itself, else its closest parent (for a missing key).
  std::vector<std::string> p = path;
  std::uint32_t line = 0;
  while (true) {
    auto it = lines_.find(join_key(p));
    if (it != lines_.end()) {
      line = it->second;
      break;
    }
    if (p.empty()) break;
    p.pop_back();
  }
  std::string out = file_;
  if (line != 0) out += ":" + std::to_string(line);
  out += ": ";
  out += path.empty() ? std::string("(top level)") : toml_key(path, root_);
  return out;
}

// ---- Node --------------------------------------------------------------------------------------

void Node::fail(std::string_view why) const { throw ConfigError(one_line(where() + ": " + std::string(why))); }

void Node::expect_table() const {
  if (!is_table()) fail("expected a table");
}

std::optional<Node> Node::find(std::string_view key) const {
  expect_table();
  auto it = value_->find(key);
  if (it == value_->end()) return std::nullopt;
  auto p = path_;
  p.emplace_back(key);
  return Node(*doc_, *it, std::move(p));
}

std::vector<Node> Node::entries() const {
  expect_table();
  std::vector<Node> out;
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    auto p = path_;
    p.push_back(it.key());
    out.emplace_back(*doc_, it.value(), std::move(p));
  }
  return out;
}

std::vector<Node> Node::elements() const {
  if (!is_array()) fail("expected an array");
  std::vector<Node> out;
  for (size_t i = 0; i < value_->size(); ++i) {
    auto p = path_;
    p.push_back(std::to_string(i));
    out.emplace_back(*doc_, (*value_)[i], std::move(p));
  }
  return out;
}

void Node::only_keys(std::initializer_list<std::string_view> allowed) const {
  only_keys(std::span<const std::string_view>(allowed.begin(), allowed.size()));
}

void Node::only_keys(std::span<const std::string_view> allowed) const {
  for (const auto& e : entries()) {
    bool ok = false;
    for (auto a : allowed) ok = ok || a == e.key();
    if (!ok) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      e.fail("unknown key (allowed here: " + list + ")");
    }
  }
}

std::string Node::as_string() const {
  if (!value_->is_string()) fail("expected a string");
  return value_->get<std::string>();
}

std::int64_t Node::as_int(std::int64_t min, std::int64_t max) const {
  if (!value_->is_number_integer())
    fail("expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
  auto v = value_->is_number_unsigned() ? static_cast<std::int64_t>(value_->get<std::uint64_t>())
                                        : value_->get<std::int64_t>();
  if (v < min || v > max)
    fail("value " + std::to_string(v) + " is out of range " + std::to_string(min) + ".." + std::to_string(max));
  return v;
}

std::int64_t Node::as_int_or_digits(std::int64_t min, std::int64_t max) const {
  if (!value_->is_string()) return as_int(min, max);
  const auto& s = value_->get_ref<const std::string&>();
  bool digits = !s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos;
  if (!digits) fail("expected a number from " + std::to_string(min) + " to " + std::to_string(max) + ", got \"" + s + "\"");
  auto v = std::stoll(s);
  if (v < min || v > max)
    fail("value " + s + " is out of range " + std::to_string(min) + ".." + std::to_string(max));
  return v;
}

bool Node::as_bool() const {
  if (!value_->is_boolean()) fail("expected true or false");
  return value_->get<bool>();
}

}  // namespace mail::config
