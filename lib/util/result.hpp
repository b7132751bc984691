// mail::Result<T>: a value or an Error, with std::expected's member names
// (std::expected is C++23-only on g++ 12). See docs/development.md, "Errors".
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace mail {

enum class Errc {
  io,         // an I/O call failed
  parse,      // bytes or text that do not follow the format
  not_found,  // the thing does not exist (file, account, DNS name)
  timeout,    // a deadline passed
  temporary,  // try again later (DNS SERVFAIL, 4xx)
  permanent,  // will not work later either (5xx)
  refused,    // the peer refused (connection refused, REFUSED rcode)
  limit,      // a configured limit was hit
  invalid,    // a bad argument or value
  closed,     // the peer or the server closed the channel
};

std::string_view to_string(Errc code) noexcept;

struct Error {
  Errc code;
  std::string detail;  // for logs, never for peers
};

/// Shorthand: `return fail(Errc::io, "open failed");` converts to any Result<T>.
inline Error fail(Errc code, std::string detail) { return Error{code, std::move(detail)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!has_value()); return std::get<1>(v_); }
  Error&& error() && { assert(!has_value()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_{Errc::io, {}};
  bool ok_ = true;
};

}  // namespace mail
