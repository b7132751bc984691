// MX (RFC 1035 3.3.9): preference and exchange. Zone file: [MX] "domain." = "host." (preference 10),
// { pref = 20, host = "host." }, or a list of these; answers list them by preference and carry the
// exchanges' addresses as additional records.
#include <algorithm>

#include "dns/types/describe.hpp"

namespace mail::dns::types {
namespace {

struct Mx {
  using Data = MxRecord;
  static constexpr std::uint16_t code = type::MX;
  static constexpr std::string_view name = "MX";

  static MxRecord entry(const config::Node& n) {
    if (n.is_string()) return MxRecord{10, name_value(n, n.as_string())};
    n.expect_table();
    n.only_keys({"pref", "host"});
    auto host = n.find("host");
    if (!host) n.fail("missing key \"host\"");
    MxRecord mx{10, name_value(*host, host->as_string())};
    if (auto pref = n.find("pref")) mx.preference = static_cast<std::uint16_t>(pref->as_int(0, 65535));
    return mx;
  }
  static std::vector<MxRecord> parse(const config::Node& value) {
    auto list = one_or_list(value, "mail exchangers", entry);
    std::stable_sort(list.begin(), list.end(),  // answers list them by preference
                     [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
    return list;
  }
  static void encode(const MxRecord& d, Writer& w) {
    w.u16(d.preference);
    w.name(d.exchange);
  }
  static Result<MxRecord> decode(Reader& r, std::size_t length) {
    MxRecord mx;
    std::size_t end = r.pos() + length;
    if (length < 3 || !r.u16(mx.preference) || !r.name(mx.exchange)) return reader_error(r);
    if (r.pos() != end) return fail(Errc::parse, "MX RDATA length does not match");
    return mx;
  }
  static std::string text(const MxRecord& d) { return std::to_string(d.preference) + " " + d.exchange.to_text(); }
  static const Name* target(const MxRecord& d) { return &d.exchange; }
};

}  // namespace

extern constexpr RecordType kMx = describe<Mx>();

}  // namespace mail::dns::types
