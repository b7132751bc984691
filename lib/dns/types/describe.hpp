// For descriptor files (and the zone loader): `describe<T>()` turns a struct of typed functions into a
// RecordType, and the zone-file value helpers every type shares. Not part of lib/dns's interface.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/document.hpp"
#include "dns/record_type.hpp"

namespace mail::dns::types {

/// A name written in the zone file; a bad one fails at `where`.
inline Name name_value(const config::Node& where, const std::string& text) {
  auto n = Name::from_text(text);
  if (!n) where.fail(n.error().detail);
  return std::move(*n);
}

/// The zone file's two forms of a value: one item, or a non-empty list of them.
template <class F>
auto one_or_list(const config::Node& value, const char* what, F item) {
  std::vector<decltype(item(value))> out;
  if (!value.is_array()) {
    out.push_back(item(value));
    return out;
  }
  for (const auto& e : value.elements()) out.push_back(item(e));
  if (out.empty()) value.fail(std::string("an empty list of ") + what);
  return out;
}

/// Why RDATA could not be read, as the reader saw it.
inline Error reader_error(const Reader& r) {
  return fail(Errc::parse, std::string(r.error()) + " at offset " + std::to_string(r.pos()));
}

/// T has: `using Data` (its Rdata alternative), `code`, `name`, and static `parse` (config::Node ->
/// vector<Data>), `encode`, `decode` (Result<Data>), `text`; optionally `address`, `target`, `fallback`.
template <class T>
constexpr RecordType describe() {
  using D = typename T::Data;
  RecordType t{T::code, T::name, rdata_index_v<D>};
  if constexpr (requires { T::address; }) t.address = T::address;
  t.parse = [](const config::Node& v) {
    std::vector<Rdata> out;
    for (auto& d : T::parse(v)) out.emplace_back(std::move(d));
    return out;
  };
  t.encode = [](const Rdata& d, Writer& w) { T::encode(std::get<D>(d), w); };
  t.decode = [](Reader& r, std::size_t length) -> Result<Rdata> {
    auto d = T::decode(r, length);
    if (!d) return std::move(d).error();
    return Rdata(std::move(*d));
  };
  t.text = [](const Rdata& d) { return T::text(std::get<D>(d)); };
  if constexpr (requires { T::target; })
    t.target = [](const Rdata& d) -> const Name* { return T::target(std::get<D>(d)); };
  if constexpr (requires { T::fallback; })
    t.fallback = []() -> std::optional<Rdata> { return Rdata(T::fallback()); };
  return t;
}

}  // namespace mail::dns::types
