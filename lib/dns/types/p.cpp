// P (type 65280, private use per RFC 6895): the TCP port of a mail host, 16 bits in network order.
// Zone file: [P] "host." = 2025 or "2025".
#include "dns/types/describe.hpp"

namespace mail::dns::types {
namespace {

struct P {
  using Data = PortRecord;
  static constexpr std::uint16_t code = type::P;
  static constexpr std::string_view name = "P";

  static std::vector<PortRecord> parse(const config::Node& value) {
    return {PortRecord{static_cast<std::uint16_t>(value.as_int_or_digits(1, 65535))}};
  }
  static void encode(const PortRecord& d, Writer& w) { w.u16(d.port); }
  static Result<PortRecord> decode(Reader& r, std::size_t length) {
    if (length != 2) return fail(Errc::parse, "P record RDATA is not 2 octets");
    PortRecord p;
    (void)r.u16(p.port);  // the caller checked that `length` octets remain
    return p;
  }
  static std::string text(const PortRecord& d) { return std::to_string(d.port); }
};

}  // namespace

extern constexpr RecordType kP = describe<P>();

}  // namespace mail::dns::types
