// Command-line options shared by every program: -x VALUE, -xVALUE, --long VALUE, --long=VALUE,
// flags without a value, `--` to end options. A bad option is one line for the user, never a trace.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace mail::util {

struct OptSpec {
  char short_name;              // 0 when there is none
  std::string_view long_name;   // the key in Args
  std::string_view metavar;     // empty for a flag without a value
  std::string_view help;
};

struct Args {
  std::map<std::string, std::vector<std::string>, std::less<>> values;  // long name -> values given
  std::vector<std::string> positional;

  bool has(std::string_view name) const { return values.find(name) != values.end(); }
  /// The last value given, or `fallback`.
  std::string get(std::string_view name, std::string_view fallback = {}) const;
  const std::vector<std::string>& all(std::string_view name) const;
};

/// Parses argv[1..]. With `stop_at_positional`, everything from the first non-option on is
/// positional (a sub-command and its own options).
Result<Args> parse_args(std::span<const OptSpec> specs, int argc, const char* const* argv,
                        bool stop_at_positional = false);

/// The --help text: the usage line, then one line per option.
std::string usage_text(std::string_view usage_line, std::span<const OptSpec> specs);

}  // namespace mail::util
