#include "util/cli.hpp"

namespace mail::util {

std::string Args::get(std::string_view name, std::string_view fallback) const {
  auto it = values.find(name);
  if (it == values.end() || it->second.empty()) return std::string(fallback);
  return it->second.back();
}

const std::vector<std::string>& Args::all(std::string_view name) const {
  static const std::vector<std::string> kNone;
  auto it = values.find(name);
  return it == values.end() ? kNone : it->second;
}

namespace {

const OptSpec* find_long(std::span<const OptSpec> specs, std::string_view name) {
  for (const auto& s : specs)
    if (s.long_name == name) return &s;
  return nullptr;
}

const OptSpec* find_short(std::span<const OptSpec> specs, char c) {
  for (const auto& s : specs)
    if (s.short_name != 0 && s.short_name == c) return &s;
  return nullptr;
}

}  // namespace

Result<Args> parse_args(std::span<const OptSpec> specs, int argc, const char* const* argv,
                        bool stop_at_positional) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      for (++i; i < argc; ++i) args.positional.emplace_back(argv[i]);
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      if (stop_at_positional) {
        for (; i < argc; ++i) args.positional.emplace_back(argv[i]);
        break;
      }
      args.positional.emplace_back(a);
      continue;
    }
    const OptSpec* spec = nullptr;
    std::string_view inline_value;
    bool has_inline = false;
    std::string shown;
    if (a[1] == '-') {
      auto body = a.substr(2);
      auto eq = body.find('=');
      if (eq != std::string_view::npos) {
        inline_value = body.substr(eq + 1);
        has_inline = true;
        body = body.substr(0, eq);
      }
      spec = find_long(specs, body);
      shown = "--" + std::string(body);
    } else {
      spec = find_short(specs, a[1]);
      shown = std::string(a.substr(0, 2));
      if (a.size() > 2) {
        inline_value = a.substr(2);
        has_inline = true;
      }
    }
    if (spec == nullptr) return fail(Errc::invalid, "unknown option '" + shown + "' (see --help)");
    std::string key(spec->long_name);
    if (spec->metavar.empty()) {
      if (has_inline) return fail(Errc::invalid, "option '" + shown + "' takes no value");
      args.values[key].emplace_back();
      continue;
    }
    if (has_inline) {
      args.values[key].emplace_back(inline_value);
    } else if (i + 1 < argc) {
      args.values[key].emplace_back(argv[++i]);
    } else {
      return fail(Errc::invalid, "option '" + shown + "' needs a value " + std::string(spec->metavar));
    }
  }
  return args;
}

std::string usage_text(std::string_view usage_line, std::span<const OptSpec> specs) {
  std::string out = "usage: " + std::string(usage_line) + "\n\noptions:\n";
  for (const auto& s : specs) {
    std::string left = "  ";
    if (s.short_name != 0) {
      left += '-';
      left += s.short_name;
      left += ", ";
    } else {
      left += "    ";
    }
    left += "--" + std::string(s.long_name);
    if (!s.metavar.empty()) left += " " + std::string(s.metavar);
    if (left.size() < 30) left.resize(30, ' ');
    else left += "  ";
    out += left + std::string(s.help) + "\n";
  }
  return out;
}

}  // namespace mail::util
