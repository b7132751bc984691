#include "net/pki.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
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

// The subjectAltName entries for `names`: an address is named as an IP and as a DNS name, since some
// clients (fetchmail) match the name they were given against DNS names only (issue 12).
std::set<std::string> san_entries(const std::vector<std::string>& names) {
  std::set<std::string> out;
  for (const auto& n : names) {
    if (util::is_ip_literal(n)) out.insert("IP:" + n);
    out.insert("DNS:" + n);
  }
  return out;
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
    for (const auto& e : san_entries(names)) san += (san.empty() ? "" : ",") + e;
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

// Holds an exclusive flock on dir/.lock while alive (read-only is enough for flock: a server of another
// uid takes the same lock); `locked` says whether it could.
struct DirLock {
  int fd = -1;
  bool locked = false;
  explicit DirLock(const fs::path& dir) {
    fd = ::open((dir / ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) fd = ::open((dir / ".lock").c_str(), O_RDONLY | O_CLOEXEC);
    locked = fd >= 0 && ::flock(fd, LOCK_EX) == 0;
  }
  ~DirLock() {
    if (fd >= 0) ::close(fd);  // closing releases the lock
  }
};

// The certificate's subjectAltName entries, written as san_entries() writes them.
std::set<std::string> san_names(X509* cert) {
  std::set<std::string> out;
  auto* gens = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (gens == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(gens); ++i) {
    GENERAL_NAME* g = sk_GENERAL_NAME_value(gens, i);
    if (g->type == GEN_DNS) {
      out.insert("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName))));
    } else if (g->type == GEN_IPADD) {
      int len = ASN1_STRING_length(g->d.iPAddress);
      char text[INET6_ADDRSTRLEN] = "";
      if ((len == 4 || len == 16) &&
          inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.iPAddress), text, sizeof text))
        out.insert("IP:" + std::string(text));
    }
  }
  GENERAL_NAMES_free(gens);
  return out;
}

// A CA file as it is: nullopt when there is none; an error when it exists but cannot be read.
Result<std::optional<std::string>> read_ca_file(const fs::path& p) {
  std::error_code ec;
  auto st = fs::symlink_status(p, ec);
  if (st.type() == fs::file_type::not_found) return std::optional<std::string>();
  if (ec) return fail(Errc::io, p.string() + ": cannot be read (" + ec.message() + ")");
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  std::string text;
  char buf[4096];
  ssize_t n = fd < 0 ? -1 : 0;
  while (fd >= 0 && (n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  int err = errno;
  if (fd >= 0) ::close(fd);
  if (n < 0) return fail(Errc::io, p.string() + ": cannot be read (" + std::strerror(err) + ")");
  return std::optional<std::string>(std::move(text));
}

// Both CA files, present, readable and belonging together; else what is wrong, naming the file.
Result<Pem> check_ca(const fs::path& dir, const std::optional<std::string>& cert, const std::optional<std::string>& key) {
  auto pem = dir / "ca.pem", key_file = dir / "ca.key";
  if (!cert)
    return fail(Errc::not_found, pem.string() + ": missing, but " + key_file.filename().string() +
                                     " exists (if a first start was cut short, remove it to make a new CA)");
  if (!key) return fail(Errc::not_found, key_file.string() + ": missing, but " + pem.filename().string() + " exists");
  Cert c = cert_from(*cert);
  if (!c) return fail(Errc::parse, pem.string() + ": not a PEM certificate");
  Key k = key_from(*key);
  if (!k) return fail(Errc::parse, key_file.string() + ": not a PEM private key");
  if (X509_check_private_key(c.get(), k.get()) != 1) return fail(Errc::invalid, key_file.string() + ": does not match ca.pem");
  return Pem{*cert, *key};
}

Error with_policy(Error e) {
  e.detail += "; the lab CA is never replaced while one of its files exists";
  return e;
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
  auto cert = read_ca_file(dir / "ca.pem");
  auto key = read_ca_file(dir / "ca.key");
  if (!cert || !key) return with_policy(!cert ? cert.error() : key.error());
  if (*cert || *key) {
    // Issue 12: a CA that exists but cannot be used is an error, never replaced: a new one would break
    // every other server's certificate and every client's trust.
    auto ca = check_ca(dir, *cert, *key);
    if (!ca) return with_policy(ca.error());
    return ca;
  }
  // Two servers making a CA each, the last rename winning, is the silent replacement above.
  if (!lock.locked) return fail(Errc::io, "cannot lock " + (dir / ".lock").string() + ": not making a CA without it");
  auto made = make_cert("mailworld lab CA", nullptr, nullptr, true, {}, 3650);
  if (!made) return made.error();
  Pem pem{to_pem(made->first.get()), to_pem(made->second.get())};
  if (auto r = write_private(dir / "ca.key", pem.key, 0600); !r) return r.error();
  if (auto r = write_private(dir / "ca.pem", pem.cert, 0644); !r) {
    ::unlink((dir / "ca.key").c_str());  // alone it would stop every later start (check_ca)
    return r.error();
  }
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
    int days = 0, secs = 0;
    bool fresh = c && ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(c.get())) && days > 30;
    EVP_PKEY* ca_pub = X509_get0_pubkey(ca_cert.get());
    if (fresh && key_from(*key) && X509_verify(c.get(), ca_pub) == 1 && san_names(c.get()) == san_entries(names))
      return Pem{*cert, *key};
  }
  auto made = make_cert(names.empty() ? "localhost" : names.front(), ca_cert.get(), ca_key.get(), false, names, 825);
  if (!made) return made.error();
  Pem pem{to_pem(made->first.get()), to_pem(made->second.get())};
  if (auto r = write_private(dir / "key.pem", pem.key, 0600); !r) return r.error();
  if (auto r = write_private(dir / "cert.pem", pem.cert, 0644); !r) return r.error();
  return pem;
}

bool pair_matches(const Pem& pem) {
  Cert c = cert_from(pem.cert);
  Key k = key_from(pem.key);
  return c && k && X509_check_private_key(c.get(), k.get()) == 1;
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
