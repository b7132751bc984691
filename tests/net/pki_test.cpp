// net::pki over a temp folder: the lab CA is made only where none of its files exist, anything else is
// an error naming the file (issue 12, defect 2); an address is named as an IP and as a DNS name (defect 7).
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <asio/ssl/context.hpp>
#include <openssl/x509v3.h>

#include "net/pki.hpp"
#include "net/tls.hpp"
#include "../temp_dir.hpp"

using namespace mail;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  auto r = net::pki::read_pem(p);
  return r ? *r : std::string("<missing>");
}

void put(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary | std::ios::trunc) << text; }

// "DNS:name" / "IP:a.b.c.d" for each subjectAltName of the certificate.
std::set<std::string> sans(const std::string& pem) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* c = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  REQUIRE(c != nullptr);
  std::set<std::string> out;
  auto* gens = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(c, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); ++i) {
    GENERAL_NAME* g = sk_GENERAL_NAME_value(gens, i);
    if (g->type == GEN_DNS) out.insert("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName))));
    if (g->type == GEN_IPADD) {
      const unsigned char* a = ASN1_STRING_get0_data(g->d.iPAddress);
      out.insert("IP:" + std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." + std::to_string(a[3]));
    }
  }
  GENERAL_NAMES_free(gens);
  X509_free(c);
  return out;
}

}  // namespace

TEST_CASE("pki: a CA is made where none of its files exist, and used as it is afterwards") {
  TempDir d;
  auto made = net::pki::ensure_ca(d.path / "ca");
  REQUIRE(made.has_value());
  CHECK(slurp(d.path / "ca" / "ca.pem") == made->cert);
  auto again = net::pki::ensure_ca(d.path / "ca");
  REQUIRE(again.has_value());
  CHECK(again->cert == made->cert);
  CHECK(again->key == made->key);
}

TEST_CASE("pki: CA files that cannot be used are an error naming the file, and stay as they are") {
  TempDir d;
  auto ca = d.path / "ca";
  auto made = net::pki::ensure_ca(ca);
  REQUIRE(made.has_value());
  auto other = net::pki::ensure_ca(d.path / "other");  // a CA whose key does not match
  REQUIRE(other.has_value());
  struct Case {
    const char* what;
    std::string pem, key;  // "<missing>": no file
    const char* named;
    const char* reason;
  };
  const Case cases[] = {
      {"only ca.pem", made->cert, "<missing>", "ca.key", "missing"},
      {"only ca.key", "<missing>", made->key, "ca.pem", "missing"},
      {"truncated key", made->cert, made->key.substr(0, made->key.size() / 2), "ca.key", "not a PEM private key"},
      {"corrupt certificate", "-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n", made->key, "ca.pem",
       "not a PEM certificate"},
      {"key of another CA", made->cert, other->key, "ca.key", "does not match"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    fs::remove(ca / "ca.pem");
    fs::remove(ca / "ca.key");
    if (c.pem != "<missing>") put(ca / "ca.pem", c.pem);
    if (c.key != "<missing>") put(ca / "ca.key", c.key);
    auto r = net::pki::ensure_ca(ca);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().detail.find((ca / c.named).string()) != std::string::npos);
    CHECK(r.error().detail.find(c.reason) != std::string::npos);
    CHECK(r.error().detail.find('\n') == std::string::npos);
    CHECK(slurp(ca / "ca.pem") == c.pem);
    CHECK(slurp(ca / "ca.key") == c.key);
  }
}

TEST_CASE("pki: a CA key that cannot be read is an error, not a new CA") {
  TempDir d;
  auto ca = d.path / "ca";
  REQUIRE(net::pki::ensure_ca(ca).has_value());
  auto pem = slurp(ca / "ca.pem");
  fs::remove(ca / "ca.key");
  fs::create_directory(ca / "ca.key");  // unreadable as a file, also for root
  auto r = net::pki::ensure_ca(ca);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().detail.find((ca / "ca.key").string() + ": cannot be read") != std::string::npos);
  CHECK(fs::is_directory(ca / "ca.key"));
  CHECK(slurp(ca / "ca.pem") == pem);
}

TEST_CASE("pki: an address is named as an IP and as a DNS name; other names, another certificate") {
  TempDir d;
  auto ca = net::pki::ensure_ca(d.path / "ca");
  REQUIRE(ca.has_value());
  auto cert = net::pki::ensure_server_cert(*ca, d.path / "tls", {"127.0.0.1", "localhost", "mx.example.org"});
  REQUIRE(cert.has_value());
  CHECK(sans(cert->cert) ==
        std::set<std::string>{"DNS:127.0.0.1", "IP:127.0.0.1", "DNS:localhost", "DNS:mx.example.org"});
  auto same = net::pki::ensure_server_cert(*ca, d.path / "tls", {"127.0.0.1", "localhost", "mx.example.org"});
  REQUIRE(same.has_value());
  CHECK(same->cert == cert->cert);
  auto more = net::pki::ensure_server_cert(*ca, d.path / "tls", {"127.0.0.1", "localhost"});
  REQUIRE(more.has_value());
  CHECK(more->cert != cert->cert);
  CHECK(sans(more->cert) == std::set<std::string>{"DNS:127.0.0.1", "IP:127.0.0.1", "DNS:localhost"});
}

TEST_CASE("a certificate and a key that do not belong together leave the server's identity as it was") {
  TempDir d;
  auto ca = net::pki::ensure_ca(d.path / "ca");
  REQUIRE(ca);
  auto one = net::pki::ensure_server_cert(*ca, d.path / "one", {"one.example"});
  auto two = net::pki::ensure_server_cert(*ca, d.path / "two", {"two.example"});
  REQUIRE(one);
  REQUIRE(two);
  auto tls = net::TlsContext::server(*one);
  REQUIRE(tls);
  CHECK_FALSE((*tls)->set_identity(net::pki::Pem{two->cert, one->key}));
  SSL_CTX* ctx = (*tls)->native().native_handle();
  CHECK(SSL_CTX_check_private_key(ctx) == 1);  // still a certificate with its own key
  CHECK(net::pki::sha256_fingerprint(one->cert) != net::pki::sha256_fingerprint(two->cert));
  X509* now = SSL_CTX_get0_certificate(ctx);
  REQUIRE(now != nullptr);
  CHECK(X509_check_host(now, "one.example", 0, 0, nullptr) == 1);
  CHECK((*tls)->set_identity(*two));  // a matching pair is taken
  CHECK(X509_check_host(SSL_CTX_get0_certificate(ctx), "two.example", 0, 0, nullptr) == 1);
}
