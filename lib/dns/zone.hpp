// The pseudo-DNS zone of fdns/fdns.toml (docs/reference.md "Zone file"): `ttl`, and one table per record type of
// the registry (dns/record_type.hpp): MX, P (host -> TCP port, type 65280), A (127.0.0.1 for every
// name that has none). Only this loader reads the zone file; fdns and ZoneResolver answer from it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dns/answer.hpp"
#include "dns/name.hpp"
#include "util/result.hpp"

namespace mail::dns {

class Zone {
 public:
  struct Node {
    Name name;                    // as first written in the file (address tables are read first)
    std::vector<Record> records;  // in the registry's order of types, then as the file lists them
  };

  /// Errors are one line: `file:LINE: key: reason`.
  static Result<Zone> load(const std::filesystem::path& file);
  static Result<Zone> parse(std::string_view text, std::string file_name);

  /// The records of `qname` for `qtype` (one type or ANY), owned by `qname` as asked (its case kept).
  /// A name outside the zone: NXDOMAIN; a known name without that type: NOERROR and no records.
  /// Records that point to a name (MX) carry that name's addresses as additional records.
  Answer lookup(const Name& qname, std::uint16_t qtype) const;

  const Node* find(const Name& name) const;
  std::uint32_t ttl() const noexcept { return ttl_; }
  std::size_t size() const noexcept { return nodes_.size(); }

 private:
  void add_additional(const Record& r, Answer& out) const;

  std::unordered_map<Name, Node, NameHash> nodes_;
  std::uint32_t ttl_ = 60;
  friend struct ZoneBuilder;
};

}  // namespace mail::dns
