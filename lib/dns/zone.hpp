// The pseudo-DNS zone of fdns/fdns.toml (docs/reference.md "Zone file"): MX (a host, or a list of { pref, host }),
// P (host -> TCP port, type 65280), A (host -> IPv4, 127.0.0.1 for every name that has none), ttl.
// Only this loader reads the zone file; fdns and ZoneResolver answer from the loaded Zone.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
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
    Name name;  // as first written in the file
    std::vector<MxRecord> mx;
    std::optional<std::uint16_t> port;
    std::vector<Ipv4> a;
  };

  /// Errors are one line: `file:LINE: key: reason`.
  static Result<Zone> load(const std::filesystem::path& file);
  static Result<Zone> parse(std::string_view text, std::string file_name);

  /// The records of `qname` for `qtype` (A, MX, P or ANY), owned by `qname` as asked (its case kept).
  /// A name outside the zone: NXDOMAIN; a known name without that type: NOERROR and no records.
  /// MX answers carry the A records of their hosts as additional records.
  Answer lookup(const Name& qname, std::uint16_t qtype) const;

  const Node* find(const Name& name) const;
  std::uint32_t ttl() const noexcept { return ttl_; }
  std::size_t size() const noexcept { return nodes_.size(); }

 private:
  std::unordered_map<Name, Node, NameHash> nodes_;
  std::uint32_t ttl_ = 60;
  friend struct ZoneBuilder;
};

}  // namespace mail::dns
