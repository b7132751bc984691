#include "dns/zone.hpp"

#include <algorithm>

#include "config/document.hpp"
#include "dns/types/describe.hpp"

namespace mail::dns {

using config::Node;

struct ZoneBuilder {
  Zone& zone;

  Name name_of(const Node& where, const std::string& text) { return types::name_value(where, text); }

  Zone::Node& node(const Name& name) {
    auto [it, fresh] = zone.nodes_.try_emplace(name);
    if (fresh) it->second.name = name;
    return it->second;
  }

  // Keys of one table must be distinct once case and the trailing dot are ignored.
  void check_unique(const Node& table) {
    std::unordered_map<Name, std::string, NameHash> seen;
    for (const auto& e : table.entries()) {
      auto [it, fresh] = seen.emplace(name_of(e, e.key()), e.key());
      if (!fresh) e.fail("the same name as \"" + it->second + "\" (names ignore case and the trailing dot)");
    }
  }

  void table(const RecordType& t, const Node& entries) {
    check_unique(entries);
    for (const auto& e : entries.entries()) {
      auto values = t.parse(e);
      auto& n = node(name_of(e, e.key()));
      for (auto& v : values) n.records.push_back(Record{n.name, t.code, kClassIn, zone.ttl_, std::move(v)});
    }
  }

  // Names that records point to (MX hosts) are names of the zone too, with their fallbacks (A).
  void complete() {
    std::vector<Name> targets;
    for (const auto& [name, n] : zone.nodes_)
      for (const auto& r : n.records)
        if (const RecordType* t = record_type_of(r.data); t->target) targets.push_back(*t->target(r.data));
    for (const auto& t : targets) node(t);
    for (const RecordType* t : record_types()) {
      if (!t->fallback) continue;
      for (auto& [name, n] : zone.nodes_)
        if (std::none_of(n.records.begin(), n.records.end(), [t](const Record& r) { return r.type == t->code; }))
          n.records.push_back(Record{n.name, t->code, kClassIn, zone.ttl_, *t->fallback()});
    }
    auto types = record_types();
    auto rank = [&types](const Record& r) { return std::find(types.begin(), types.end(), record_type_of(r.data)) - types.begin(); };
    for (auto& [name, n] : zone.nodes_)
      std::stable_sort(n.records.begin(), n.records.end(), [&rank](const Record& a, const Record& b) { return rank(a) < rank(b); });
  }

  void build(const config::Document& doc) {
    Node root = config::root_node(doc);
    std::vector<std::string_view> keys{"ttl"};
    for (const RecordType* t : record_types()) keys.push_back(t->name);
    root.only_keys(keys);
    if (auto t = root.find("ttl")) zone.ttl_ = static_cast<std::uint32_t>(t->as_int(0, 2147483647));
    // Address tables first: a name keeps its spelling from there, which additional records carry.
    for (bool address : {true, false})
      for (const RecordType* t : record_types())
        if (auto entries = root.find(t->name); entries && t->address == address) table(*t, *entries);
    complete();
  }
};

namespace {

Result<Zone> from_document(Result<config::Document> doc) {
  if (!doc) return std::move(doc).error();
  Zone z;
  try {
    ZoneBuilder{z}.build(*doc);
  } catch (const config::ConfigError& e) {
    return fail(Errc::invalid, e.what());
  }
  return z;
}

}  // namespace

Result<Zone> Zone::load(const std::filesystem::path& file) { return from_document(config::Document::load(file)); }

Result<Zone> Zone::parse(std::string_view text, std::string file_name) {
  return from_document(config::Document::parse(text, std::move(file_name), config::Format::toml));
}

const Zone::Node* Zone::find(const Name& name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}

Answer Zone::lookup(const Name& qname, std::uint16_t qtype) const {
  Answer out;
  const Node* n = find(qname);
  if (n == nullptr) {
    out.rcode = Rcode::nxdomain;
    return out;
  }
  for (const Record& r : n->records) {
    if (r.type != qtype && qtype != type::ANY) continue;
    out.records.push_back(Record{qname, r.type, r.klass, r.ttl, r.data});
    add_additional(r, out);
  }
  return out;
}

void Zone::add_additional(const Record& r, Answer& out) const {
  const RecordType* t = record_type_of(r.data);
  if (t->target == nullptr) return;
  const Node* host = find(*t->target(r.data));
  if (host == nullptr) return;
  for (const Record& a : host->records)
    if (record_type_of(a.data)->address) out.additional.push_back(Record{host->name, a.type, a.klass, a.ttl, a.data});
}

}  // namespace mail::dns
