#include "net/pki.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/text.hpp"

namespace mail::net::pki {

namespace fs = std::filesystem;

namespace {

template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

std::string to_pem(X509* c) {
  Bio b(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(b.get(), c);
  char* data = nullptr;
  long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string to_pem(EVP_PKEY* k) {
  Bio b(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

Cert cert_from(const std::string& pem) {
  Bio b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Cert(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
}

Key key_from(const std::string& pem) {
  Bio b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Key(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
}

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return true;
}

Result<std::pair<Cert, Key>> make_cert(const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, bool is_ca,
                                       const std::vector<std::string>& names, long days) {
  Key key(EVP_EC_gen("P-256"));
  Cert cert(X509_new());
  if (!key || !cert) return fail(Errc::io, "cannot create a key");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  std::ifstream("/dev/urandom", std::ios::binary).read(reinterpret_cast<char*>(serial), sizeof serial);
  serial[0] &= 0x7F;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("mailworld lab"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (is_ca) {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    std::string san;
    for (const auto& n : names) san += (san.empty() ? "" : ",") + std::string(util::is_ip_literal(n) ? "IP:" : "DNS:") + n;
    if (!san.empty() && !add_ext(cert.get(), signer, NID_subject_alt_name, san))
      return fail(Errc::invalid, "bad certificate names: " + san);
  }
  add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key.get(), EVP_sha256()) == 0)
    return fail(Errc::io, "cannot sign the certificate");
  return std::make_pair(std::move(cert), std::move(key));
}

Result<void> write_private(const fs::path& p, const std::string& text, mode_t mode) {
  auto tmp = p;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0) return fail(Errc::io, "cannot write " + tmp.string());
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), p.c_str()) != 0) return fail(Errc::io, "cannot write " + p.string());
  return {};
}

// Holds an exclusive flock on dir/.lock while alive.
struct DirLock {
  int fd = -1;
  explicit DirLock(const fs::path& dir) {
    fd = ::open((dir / ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) ::flock(fd, LOCK_EX);
  }
  ~DirLock() {
    if (fd >= 0) ::close(fd);  // closing releases the lock
  }
};

std::set<std::string> san_names(X509* cert) {
  std::set<std::string> out;
  auto* gens = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (gens == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(gens); ++i) {
    GENERAL_NAME* g = sk_GENERAL_NAME_value(gens, i);
    if (g->type == GEN_DNS) {
      out.insert(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)));
    } else if (g->type == GEN_IPADD && ASN1_STRING_length(g->d.iPAddress) == 4) {
      const unsigned char* a = ASN1_STRING_get0_data(g->d.iPAddress);
      out.insert(std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." + std::to_string(a[3]));
    }
  }
  GENERAL_NAMES_free(gens);
  return out;
}

}  // namespace

Result<std::string> read_pem(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(Errc::not_found, "cannot read " + file.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<Pem> ensure_ca(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(Errc::io, "cannot create " + dir.string() + ": " + ec.message());
  DirLock lock(dir);  // the servers of one world start together: one of them makes the CA
  auto cert = read_pem(dir / "ca.pem");
  auto key = read_pem(dir / "ca.key");
  if (cert && key && cert_from(*cert) && key_from(*key)) return Pem{*cert, *key};
  auto made = make_cert("mailworld lab CA", nullptr, nullptr, true, {}, 3650);
  if (!made) return made.error();
  Pem pem{to_pem(made->first.get()), to_pem(made->second.get())};
  if (auto r = write_private(dir / "ca.key", pem.key, 0600); !r) return r.error();
  if (auto r = write_private(dir / "ca.pem", pem.cert, 0644); !r) return r.error();
  return pem;
}

Result<Pem> ensure_server_cert(const Pem& ca, const fs::path& dir, const std::vector<std::string>& names) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  auto cert = read_pem(dir / "cert.pem");
  auto key = read_pem(dir / "key.pem");
  Cert ca_cert = cert_from(ca.cert);
  Key ca_key = key_from(ca.key);
  if (!ca_cert || !ca_key) return fail(Errc::invalid, "the lab CA cannot be read");
  if (cert && key) {
    Cert c = cert_from(*cert);
    std::set<std::string> want(names.begin(), names.end());
    int days = 0, secs = 0;
    bool fresh = c && ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(c.get())) && days > 30;
    EVP_PKEY* ca_pub = X509_get0_pubkey(ca_cert.get());
    if (fresh && key_from(*key) && X509_verify(c.get(), ca_pub) == 1 && san_names(c.get()) == want) return Pem{*cert, *key};
  }
  auto made = make_cert(names.empty() ? "localhost" : names.front(), ca_cert.get(), ca_key.get(), false, names, 825);
  if (!made) return made.error();
  Pem pem{to_pem(made->first.get()), to_pem(made->second.get())};
  if (auto r = write_private(dir / "key.pem", pem.key, 0600); !r) return r.error();
  if (auto r = write_private(dir / "cert.pem", pem.cert, 0644); !r) return r.error();
  return pem;
}

std::string sha256_fingerprint(const std::string& cert_pem) {
  Cert c = cert_from(cert_pem);
  if (!c) return "?";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(c.get(), EVP_sha256(), md, &n);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    if (i) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace mail::net::pki
