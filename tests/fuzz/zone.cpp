// The zone loader (fdns.toml: ttl, [MX], [P], [A]) on any text. Checks: an error is one line that
// starts with the file name; a loaded zone holds every name its tables list, each with an address,
// MX hosts included, and answers that carry the hosts' addresses; every answer encodes to a message
// that decodes to the same records.
//
// Input: the zone file's text.
#include <string>
#include <variant>
#include <vector>

#include "config/document.hpp"
#include "dns/message.hpp"
#include "dns/zone.hpp"
#include "fuzz.hpp"

using namespace mail;

namespace {

/// The RDATA of `node`'s records of one kind, in the zone's order.
template <class T>
std::vector<T> of_type(const dns::Zone::Node& node) {
  std::vector<T> out;
  for (const auto& r : node.records)
    if (const auto* d = std::get_if<T>(&r.data)) out.push_back(*d);
  return out;
}

void check_answer(const dns::Name& name, std::uint16_t qtype, const dns::Answer& a) {
  dns::Message m;
  m.header.qr = true;
  m.questions.push_back({name, qtype, dns::kClassIn});
  m.answers = a.records;
  m.additional = a.additional;
  auto wire = dns::encode(m);
  auto back = dns::decode(wire);
  FUZZ_CHECK(back.has_value());
  if (back->header.tc) return;
  FUZZ_CHECK(back->answers.size() == a.records.size());
  for (std::size_t i = 0; i < a.records.size(); ++i)
    FUZZ_CHECK(back->answers[i].name == a.records[i].name && back->answers[i].type == a.records[i].type);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto z = dns::Zone::parse(text, "fuzz.toml");
  if (!z) {
    const auto& why = z.error().detail;
    FUZZ_CHECK(why.rfind("fuzz.toml", 0) == 0);
    FUZZ_CHECK(why.find('\n') == std::string::npos);  // one line naming file, line and key
    return 0;
  }
  // The names the file lists, read again from the document (the zone loaded, so this parses too).
  auto doc = config::Document::parse(text, "fuzz.toml", config::Format::toml);
  FUZZ_CHECK(doc.has_value());
  const auto& root = doc->root();
  for (const char* table : {"MX", "P", "A"}) {
    if (!root.contains(table)) continue;
    for (const auto& [key, value] : root[table].items()) {
      auto name = dns::Name::from_text(key);
      FUZZ_CHECK(name.has_value());
      const auto* node = z->find(*name);
      FUZZ_CHECK(node != nullptr && !of_type<dns::ARecord>(*node).empty());
      auto a = z->lookup(*name, dns::type::A);
      FUZZ_CHECK(a.rcode == dns::Rcode::noerror && a.records.size() == of_type<dns::ARecord>(*node).size());
      auto any = z->lookup(*name, dns::type::ANY);
      check_answer(*name, dns::type::ANY, any);
      auto mx = z->lookup(*name, dns::type::MX);
      const auto node_mx = of_type<dns::MxRecord>(*node);
      FUZZ_CHECK(mx.records.size() == node_mx.size());
      for (std::size_t i = 0; i < node_mx.size(); ++i) {
        FUZZ_CHECK(i == 0 || node_mx[i - 1].preference <= node_mx[i].preference);
        const auto* host = z->find(node_mx[i].exchange);
        FUZZ_CHECK(host != nullptr && !of_type<dns::ARecord>(*host).empty());
      }
      check_answer(*name, dns::type::MX, mx);
      if (std::string_view(table) == "P") {
        const auto ports = of_type<dns::PortRecord>(*node);
        FUZZ_CHECK(ports.size() == 1 && ports[0].port >= 1);
      }
    }
  }
  return 0;
}
