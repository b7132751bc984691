// A (RFC 1035 3.4.1): an IPv4 address. Zone file: [A] "host." = "10.0.0.1" or a list of them; a
// name without any gets 127.0.0.1 (docs/reference.md "Zone file": every host of the lab lives on loopback).
#include <arpa/inet.h>

#include "dns/answer.hpp"
#include "dns/types/describe.hpp"

namespace mail::dns::types {
namespace {

struct A {
  using Data = ARecord;
  static constexpr std::uint16_t code = type::A;
  static constexpr std::string_view name = "A";
  static constexpr bool address = true;

  static std::vector<ARecord> parse(const config::Node& value) {
    return one_or_list(value, "addresses", [](const config::Node& n) {
      auto text = n.as_string();
      ARecord a;
      if (inet_pton(AF_INET, text.c_str(), a.address.data()) != 1)
        n.fail("expected an IPv4 address such as \"127.0.0.1\"");
      return a;
    });
  }
  static void encode(const ARecord& d, Writer& w) {
    for (auto b : d.address) w.u8(b);
  }
  static Result<ARecord> decode(Reader& r, std::size_t length) {
    if (length != 4) return fail(Errc::parse, "A record RDATA is not 4 octets");
    ARecord a;
    for (auto& b : a.address) (void)r.u8(b);  // the caller checked that `length` octets remain
    return a;
  }
  static std::string text(const ARecord& d) { return to_string(d.address); }
  static ARecord fallback() { return ARecord{{127, 0, 0, 1}}; }
};

}  // namespace

extern constexpr RecordType kA = describe<A>();

}  // namespace mail::dns::types
