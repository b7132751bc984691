// Shared by the libFuzzer targets (docs/fuzzing.md). A broken invariant aborts, so libFuzzer keeps
// the input as a crash like any sanitizer report. Inputs start with a few control bytes (options, the
// seed of the read sizes, the outcomes of effects) followed by the bytes a peer would send.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "config/document.hpp"
#include "fault/fault.hpp"

namespace fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* what) {
  std::fprintf(stderr, "fuzz invariant failed at %s:%d: %s\n", file, line, what);
  std::abort();
}

#define FUZZ_CHECK(cond) ((cond) ? (void)0 : ::fuzz::fail(__FILE__, __LINE__, #cond))

/// The fuzz input: control bytes first (missing ones read as 0), then the rest as text.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}
  std::uint8_t byte() {
    if (rest_.empty()) return 0;
    auto b = static_cast<std::uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }
  std::string_view rest() const noexcept { return rest_; }

 private:
  std::string_view rest_;
};

/// Read sizes as a socket might deliver them: seed % 4 picks the whole input at once, one byte at a
/// time, 1..16 or 1..512 bytes (xorshift, so a run is reproducible from the input alone).
class Cuts {
 public:
  explicit Cuts(std::uint8_t seed) : mode_(seed & 3u), state_(0x9E3779B9u ^ (static_cast<std::uint32_t>(seed) * 0x01000193u)) {}

  std::size_t next(std::size_t left) {
    if (left == 0) return 0;
    std::size_t n = left;
    if (mode_ == 1) n = 1;
    if (mode_ == 2) n = 1 + random() % 16;
    if (mode_ == 3) n = 1 + random() % 512;
    return n < left ? n : left;
  }
  std::uint32_t random() noexcept {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }

 private:
  unsigned mode_;
  std::uint32_t state_;
};

/// Outcomes of effects (delivery ok or failed, ...) taken bit by bit from control bytes, cycling.
class Bits {
 public:
  explicit Bits(std::uint16_t bits) : bits_(bits) {}
  bool next() noexcept { return (bits_ >> (i_++ % 16)) & 1u; }

 private:
  std::uint16_t bits_;
  unsigned i_ = 0;
};

/// FUZZ_TRACE=1 in the environment: targets print what they exchange (to read a crash input).
inline bool tracing() {
  static const bool on = std::getenv("FUZZ_TRACE") != nullptr;
  return on;
}

/// Printable ASCII only: what may appear in a reply line (no CR, LF or other control byte).
inline bool printable(std::string_view s) noexcept {
  for (unsigned char c : s)
    if (c < 32 || c > 126) return false;
  return true;
}

/// Fault rules for a protocol core's harness, parsed once (a bad text is a bug of the harness). Each
/// input gets a fresh Injector from them, so its counters and random draws depend on the input alone.
inline const mail::fault::Rules& fault_rules(std::string_view text) {
  static const mail::fault::Rules rules = [text] {
    auto doc = mail::config::Document::parse(text, "fuzz-faults.toml", mail::config::Format::toml);
    if (!doc) std::abort();
    auto r = mail::fault::Rules::parse(*doc);
    if (!r) std::abort();
    return std::move(*r);
  }();
  return rules;
}

}  // namespace fuzz
