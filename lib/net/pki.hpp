// The lab PKI that just works (TLS issue): a small CA for the whole world, created once under a file
// lock (the run command starts several servers at once), and a server certificate per mailsrv naming
// its server name, its hosts, localhost and its addresses. ECDSA P-256, SHA-256. OpenSSL 3, no Asio.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace mail::net::pki {

struct Pem {
  std::string cert;
  std::string key;
};

/// The CA in `dir` (ca.pem, ca.key), created when neither file exists. One missing, unreadable, not PEM,
/// or a key of another certificate: an error naming the file (one line), and nothing is written.
Result<Pem> ensure_ca(const std::filesystem::path& dir);
/// A certificate for `names` (DNS names, or IP addresses: named as IP and as DNS) signed by `ca`, kept as `dir`/cert.pem and
/// key.pem; issued again when missing, for other names, or expiring within 30 days.
Result<Pem> ensure_server_cert(const Pem& ca, const std::filesystem::path& dir, const std::vector<std::string>& names);
/// Whether `pem.cert` (its first certificate) and `pem.key` parse and belong together.
bool pair_matches(const Pem& pem);
/// "AB:CD:..." of the certificate's DER.
std::string sha256_fingerprint(const std::string& cert_pem);
/// Reads a PEM file.
Result<std::string> read_pem(const std::filesystem::path& file);

}  // namespace mail::net::pki
