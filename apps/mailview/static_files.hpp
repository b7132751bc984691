// The page's files (apps/mailview/static/), embedded at build time by embed.cmake.
#pragma once

#include <cstddef>

namespace mailview {

struct StaticFile {
  const char* name;  // "index.html"
  const char* type;  // its Content-Type
  const unsigned char* data;
  std::size_t size;
};

/// Ends with an entry whose name is nullptr.
extern const StaticFile kStaticFiles[];

}  // namespace mailview
