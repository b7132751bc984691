// Writes the DNS seed inputs of the fuzz corpus with the project's own encoder (tests/fuzz/make_corpus.py
// runs it): queries as the resolver sends them, odd ones fdns must refuse, and a compressed response.
//   fuzz_make_dns_seeds CORPUS_DIR
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "dns/message.hpp"

using namespace mail;

namespace {

dns::Name name(const char* text) { return *dns::Name::from_text(text); }

dns::Message query(const char* qname, std::uint16_t qtype, bool edns, std::uint16_t id) {
  dns::Message m;
  m.header.id = id;
  m.header.rd = true;
  m.questions.push_back({name(qname), qtype, dns::kClassIn});
  if (edns) m.edns = dns::Edns{};
  return m;
}

void write(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes, int prefix = -1) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  if (prefix >= 0) out.put(static_cast<char>(prefix));
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_dns_seeds CORPUS_DIR\n";
    return 2;
  }
  std::filesystem::path dir = argv[1];
  struct Seed {
    const char* file;
    dns::Message m;
  };
  std::vector<Seed> seeds{
      {"mx-gmail-edns", query("gmail.com", dns::type::MX, true, 0x1234)},
      {"mx-sustech", query("mail.sustech.edu.cn.", dns::type::MX, false, 1)},
      {"p-smtp-gmail", query("smtp.gmail.com", dns::type::P, false, 2)},
      {"a-pop-exmail", query("POP.exmail.QQ.com", dns::type::A, true, 3)},
      {"any-big", query("big.example", dns::type::ANY, false, 4)},
      {"nxdomain", query("nowhere.example", dns::type::A, false, 5)},
      {"axfr", query("gmail.com", dns::type::AXFR, false, 6)},
      {"escaped-name", query(R"(odd\.dot\032name.test)", dns::type::P, false, 7)},
  };
  auto chaos = query("version.bind", dns::type::TXT, false, 8);
  chaos.questions[0].klass = 3;
  seeds.push_back({"class-chaos", chaos});
  auto notify = query("gmail.com", dns::type::SOA, false, 9);
  notify.header.opcode = static_cast<std::uint8_t>(dns::Opcode::notify);
  seeds.push_back({"opcode-notify", notify});
  auto v1 = query("gmail.com", dns::type::MX, true, 10);
  v1.edns->version = 1;
  v1.edns->udp_size = 4096;
  seeds.push_back({"edns-version-1", v1});
  auto two = query("gmail.com", dns::type::MX, false, 11);
  two.questions.push_back({name("smtp.gmail.com"), dns::type::P, dns::kClassIn});
  seeds.push_back({"two-questions", two});

  // A response with compression: MX answers and the hosts' addresses (decoder input only).
  auto resp = query("gmail.com", dns::type::MX, true, 12);
  resp.header.qr = resp.header.aa = true;
  resp.answers.push_back({name("gmail.com"), dns::type::MX, dns::kClassIn, 60, dns::MxRecord{5, name("mx.gmail.com")}});
  resp.answers.push_back({name("gmail.com"), dns::type::MX, dns::kClassIn, 60, dns::MxRecord{20, name("alt1.GMAIL.com")}});
  resp.authority.push_back({name("gmail.com"), dns::type::TXT, dns::kClassIn, 60, dns::OpaqueRecord{"\x05hello"}});
  resp.additional.push_back({name("mx.gmail.com"), dns::type::A, dns::kClassIn, 60, dns::ARecord{{127, 0, 0, 2}}});
  resp.additional.push_back({name("mx.gmail.com"), dns::type::P, dns::kClassIn, 60, dns::PortRecord{2025}});

  for (const auto& s : seeds) {
    auto bytes = dns::encode(s.m);
    write(dir / "dns_message" / s.file, bytes);
    write(dir / "dns_respond" / (std::string(s.file) + "-udp"), bytes, 0);
  }
  write(dir / "dns_respond" / "mx-gmail-edns-tcp", dns::encode(seeds[0].m), 1);
  write(dir / "dns_message" / "response-compressed", dns::encode(resp));
  return 0;
}
