#include "dns/zone.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include "config/document.hpp"

namespace mail::dns {

using config::Node;

struct ZoneBuilder {
  Zone& zone;

  Name name_of(const Node& where, const std::string& text) {
    auto n = Name::from_text(text);
    if (!n) where.fail(n.error().detail);
    return *n;
  }

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

  MxRecord mx_entry(const Node& n) {
    if (n.is_string()) return MxRecord{10, name_of(n, n.as_string())};
    n.expect_table();
    n.only_keys({"pref", "host"});
    auto host = n.find("host");
    if (!host) n.fail("missing key \"host\"");
    MxRecord mx{10, name_of(*host, host->as_string())};
    if (auto pref = n.find("pref")) mx.preference = static_cast<std::uint16_t>(pref->as_int(0, 65535));
    return mx;
  }

  void mx(const Node& table) {
    check_unique(table);
    for (const auto& e : table.entries()) {
      std::vector<MxRecord> list;
      if (e.is_array()) {
        for (const auto& item : e.elements()) list.push_back(mx_entry(item));
        if (list.empty()) e.fail("an empty list of mail exchangers");
      } else {
        list.push_back(mx_entry(e));
      }
      std::stable_sort(list.begin(), list.end(),  // answers list them by preference
                       [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
      node(name_of(e, e.key())).mx = std::move(list);
    }
  }

  void port(const Node& table) {
    check_unique(table);
    for (const auto& e : table.entries())
      node(name_of(e, e.key())).port = static_cast<std::uint16_t>(e.as_int_or_digits(1, 65535));
  }

  Ipv4 ipv4(const Node& n) {
    auto text = n.as_string();
    Ipv4 a{};
    if (inet_pton(AF_INET, text.c_str(), a.data()) != 1) n.fail("expected an IPv4 address such as \"127.0.0.1\"");
    return a;
  }

  void address(const Node& table) {
    check_unique(table);
    for (const auto& e : table.entries()) {
      std::vector<Ipv4> list;
      if (e.is_array()) {
        for (const auto& item : e.elements()) list.push_back(ipv4(item));
        if (list.empty()) e.fail("an empty list of addresses");
      } else {
        list.push_back(ipv4(e));
      }
      node(name_of(e, e.key())).a = std::move(list);
    }
  }

  void build(const config::Document& doc) {
    Node root = config::root_node(doc);
    root.only_keys({"ttl", "MX", "P", "A"});
    if (auto t = root.find("ttl")) zone.ttl_ = static_cast<std::uint32_t>(t->as_int(0, 2147483647));
    // [A] first: an MX host named there must keep its own address.
    if (auto t = root.find("A")) address(*t);
    if (auto t = root.find("MX")) mx(*t);
    if (auto t = root.find("P")) port(*t);
    std::vector<Name> targets;
    for (const auto& [name, n] : zone.nodes_)
      for (const auto& m : n.mx) targets.push_back(m.exchange);
    for (const auto& t : targets) node(t);
    for (auto& [name, n] : zone.nodes_)
      if (n.a.empty()) n.a.push_back(Ipv4{127, 0, 0, 1});
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
  bool any = qtype == type::ANY;
  if (qtype == type::MX || any) {
    for (const auto& mx : n->mx) {
      out.records.push_back(Record{qname, type::MX, kClassIn, ttl_, mx});
      if (const Node* host = find(mx.exchange))
        for (const auto& a : host->a) out.additional.push_back(Record{host->name, type::A, kClassIn, ttl_, ARecord{a}});
    }
  }
  if ((qtype == type::P || any) && n->port) out.records.push_back(Record{qname, type::P, kClassIn, ttl_, PortRecord{*n->port}});
  if (qtype == type::A || any)
    for (const auto& a : n->a) out.records.push_back(Record{qname, type::A, kClassIn, ttl_, ARecord{a}});
  return out;
}

}  // namespace mail::dns
