// Reading a `key=value` line back: the exact inverse of lib/util/log.cpp's value quoting (a value with
// spaces, quotes, `=`, `\` or control bytes is written "quoted", with \" \\ and \xHH escapes). The web
// view (apps/mailview) reads the servers' event lines with it (docs/reference.md "Event feed").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mail::util {

using KvPairs = std::vector<std::pair<std::string, std::string>>;

/// The fields of one line (without its newline), in order; nullopt when the line is not a sequence of
/// `key=value` separated by single spaces (an unterminated quote, a bad escape, a key without `=`).
std::optional<KvPairs> parse_kv(std::string_view line);

/// The value of the first field named `key`, or "" when there is none.
std::string_view kv_get(const KvPairs& fields, std::string_view key) noexcept;

}  // namespace mail::util
