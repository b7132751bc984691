// A DNS name (RFC 1035 3.1), kept in uncompressed wire form without the final zero byte:
// "\5gmail\3com". Comparison and hashing ignore ASCII case (RFC 4343); the original case is kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace mail::dns {

constexpr std::size_t kMaxNameWire = 255;  // including the root's zero byte
constexpr std::size_t kMaxLabel = 63;

class Name {
 public:
  Name() = default;  // the root

  /// "gmail.com", "gmail.com." or "." (root). `\.`, `\\` and `\DDD` escape bytes inside a label.
  static Result<Name> from_text(std::string_view text);
  /// Trusted wire labels (the decoder checks them before calling this).
  static Name from_wire(std::string wire) {
    Name n;
    n.wire_ = std::move(wire);
    return n;
  }

  /// "gmail.com" (no trailing dot; "." for the root), with dots and odd bytes inside labels escaped.
  std::string to_text() const;
  const std::string& wire() const noexcept { return wire_; }
  /// Size on the wire without compression (labels + the final zero byte).
  std::size_t wire_size() const noexcept { return wire_.size() + 1; }
  bool is_root() const noexcept { return wire_.empty(); }
  Name lower() const;

  friend bool operator==(const Name& a, const Name& b) noexcept;

 private:
  std::string wire_;
};

/// Case-insensitive comparison of two wire forms (length bytes are <= 63, so folding them is harmless).
bool wire_iequal(std::string_view a, std::string_view b) noexcept;

struct NameHash {
  std::size_t operator()(const Name& n) const noexcept;
};

}  // namespace mail::dns
