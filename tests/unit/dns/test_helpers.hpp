// Helpers shared by the DNS unit tests.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dns/message.hpp"

namespace dnstest {

inline mail::dns::Name name(std::string_view text) {
  auto n = mail::dns::Name::from_text(text);
  REQUIRE(n);
  return *n;
}

inline std::vector<std::uint8_t> query(std::string_view qname, std::uint16_t qtype, bool edns = false,
                                       std::uint16_t id = 0x1234) {
  mail::dns::Message m;
  m.header.id = id;
  m.header.rd = true;
  m.questions.push_back({name(qname), qtype, mail::dns::kClassIn});
  if (edns) m.edns = mail::dns::Edns{};
  return mail::dns::encode(m);
}

inline std::vector<std::uint8_t> bytes(std::initializer_list<int> b) {
  std::vector<std::uint8_t> v;
  for (int x : b) v.push_back(static_cast<std::uint8_t>(x));
  return v;
}

}  // namespace dnstest
