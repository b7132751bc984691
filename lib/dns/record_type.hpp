// Record types as descriptors: everything the zone loader, the lookup and the wire codec need to know
// about one type, so that adding a type is one descriptor (lib/dns/types/) plus its entry in the
// registry (record_types.cpp) and its RDATA alternative (rdata.hpp). Nothing else switches on types.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dns/rdata.hpp"
#include "dns/wire.hpp"
#include "util/result.hpp"

namespace mail::config {
class Node;
}

namespace mail::dns {

struct RecordType {
  std::uint16_t code = 0;   // type::MX
  std::string_view name;    // "MX": the zone file's table and the text form's mnemonic
  std::size_t rdata_index;  // its alternative of Rdata
  /// Its records are addresses of their owner: they go into the additional section for a name that
  /// another answer points to (RFC 1035 3.3.9 for MX; RFC 3596 for AAAA).
  bool address = false;

  /// One value of the zone file's table (a string, an integer, a table, or a list, as the type
  /// allows) -> its RDATA, in answer order. Fails through `value.fail(reason)` (one located line).
  std::vector<Rdata> (*parse)(const config::Node& value) = nullptr;
  /// Appends the RDATA (the record's length field is written by the caller).
  void (*encode)(const Rdata& data, Writer& w) = nullptr;
  /// Reads `length` octets of RDATA; the reason when they are malformed (the caller names the section).
  Result<Rdata> (*decode)(Reader& r, std::size_t length) = nullptr;
  /// Presentation form of the RDATA: "10 mx.example.org", "127.0.0.1".
  std::string (*text)(const Rdata& data) = nullptr;
  /// The name this record points to, whose addresses an answer carries as additional records; or null.
  const Name* (*target)(const Rdata& data) = nullptr;
  /// The RDATA a zone gives every name that has none of this type (127.0.0.1 for A), if any.
  std::optional<Rdata> (*fallback)() = nullptr;
};

/// Every known type, in the registry's order: the zone file's tables, and ANY answers.
std::span<const RecordType* const> record_types();
const RecordType* find_record_type(std::uint16_t code);
/// By mnemonic, as the zone file writes it ("MX"; case matters, as for every key of the file).
const RecordType* find_record_type(std::string_view name);
/// The descriptor of this RDATA's alternative; null for OpaqueRecord.
const RecordType* record_type_of(const Rdata& data);

/// The mnemonic of a type: "MX", "P", "A", the common ones without a descriptor ("NS", "SOA", "TXT",
/// "AAAA", "ANY", ...), else "TYPE99" (RFC 3597 5). Fault rules match on it.
std::string type_name(std::uint16_t type);

/// "MX 10 mx.example.org"; a type without a descriptor as "TYPE99" (RFC 3597 5), without its RDATA.
std::string to_text(std::uint16_t type, const Rdata& data);

}  // namespace mail::dns
