// The registry of record types. Its order is the order of the zone file's tables (as listed in
// errors) and of the records in an ANY answer.
#include <array>
#include <utility>

#include "dns/record_type.hpp"

namespace mail::dns {

namespace types {
extern const RecordType kMx;  // types/mx.cpp
extern const RecordType kP;   // types/p.cpp
extern const RecordType kA;   // types/a.cpp
}  // namespace types

namespace {

constexpr std::array<const RecordType*, 3> kRegistry{&types::kMx, &types::kP, &types::kA};

}  // namespace

std::span<const RecordType* const> record_types() { return kRegistry; }

const RecordType* find_record_type(std::uint16_t code) {
  for (const RecordType* t : kRegistry)
    if (t->code == code) return t;
  return nullptr;
}

const RecordType* find_record_type(std::string_view name) {
  for (const RecordType* t : kRegistry)
    if (t->name == name) return t;
  return nullptr;
}

const RecordType* record_type_of(const Rdata& data) {
  for (const RecordType* t : kRegistry)
    if (t->rdata_index == data.index()) return t;
  return nullptr;
}

std::string type_name(std::uint16_t type) {
  if (const RecordType* t = find_record_type(type)) return std::string(t->name);
  static constexpr std::pair<std::uint16_t, std::string_view> kOthers[] = {
      {type::NS, "NS"},     {type::CNAME, "CNAME"}, {type::SOA, "SOA"},   {type::TXT, "TXT"},
      {type::AAAA, "AAAA"}, {type::OPT, "OPT"},     {type::IXFR, "IXFR"}, {type::AXFR, "AXFR"},
      {type::ANY, "ANY"}};
  for (const auto& [code, name] : kOthers)
    if (code == type) return std::string(name);
  return "TYPE" + std::to_string(type);
}

std::string to_text(std::uint16_t type, const Rdata& data) {
  if (const RecordType* t = record_type_of(data)) return std::string(t->name) + " " + t->text(data);
  return "TYPE" + std::to_string(type);
}

}  // namespace mail::dns
