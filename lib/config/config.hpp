// config/config.toml (or .json): the course's tables [agent], [server], [accounts."NAME"] plus the
// extension tables of docs/configuration.md, parsed once into plain structs holding the defaults.
// Precedence: command-line flag > [mailsrv."NAME"] > world table > default (flags are applied by apps).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/cidr.hpp"
#include "util/result.hpp"

namespace mail::config {

struct Limits {
  std::size_t command_line = 512;         // octets, RFC 5321 4.5.3.1.4
  std::size_t text_line = 0;              // octets, 0 = no limit (RFC 5321 4.5.3.1: impose none where possible)
  std::uint64_t message_size = 33554432;  // octets (SIZE)
  std::size_t recipients = 100;           // per message
  std::size_t sessions = 10000;           // concurrent, per protocol
  std::chrono::seconds smtp_idle{300};    // each command line (or reply) must complete within this
  std::chrono::seconds pop3_idle{600};
  std::uint64_t min_data_rate = 500;      // octets/s in DATA: each read earns size/rate more time (Postfix's
                                          // smtpd_min_data_rate); 0 = only the per-line deadline
  std::size_t per_peer = 50;              // concurrent sessions per client address, 0 = no cap
  std::vector<util::Cidr> per_peer_exempt = default_exempt();  // like Postfix's $mynetworks
  int errors = 20;                        // error replies before an SMTP or POP3 session is closed
                                          // (Postfix's smtpd_hard_error_limit)

  static std::vector<util::Cidr> default_exempt() { return {*util::Cidr::parse("127.0.0.0/8")}; }
};

struct Queue {
  std::chrono::seconds retry_first{5};  // doubles per attempt
  std::chrono::seconds retry_max{600};
  std::chrono::seconds lifetime{432000};
  std::chrono::seconds delay_warning{0};  // 0 = off
  std::chrono::seconds connection_cache{5};  // a relay connection kept idle for the next attempt; 0 = off
};

enum class RelayTls { may, verify, off };

struct Tls {
  std::string ca_dir = "var/ca";
  bool allow_plaintext_auth = false;
  RelayTls relay = RelayTls::may;
};

struct Policy {
  bool submission_requires_auth = false;
  bool mx_only = false;  // the SMTP port takes mail for local accounts only and never relays
};

struct AgentHosts {
  std::string smtp;
  std::string pop;
};

struct ServerPorts {
  std::uint16_t smtp = 0;
  std::uint16_t pop = 0;
};

struct Account {
  std::string address;   // as written; domain compared case-insensitively
  std::string password;  // plaintext or {SCHEME}hash
};

/// What one `mailsrv -n NAME` runs with, after the world tables and [mailsrv."NAME"] are merged.
struct ServerSettings {
  std::string name;
  ServerPorts ports;
  std::string listen = "127.0.0.1";
  std::uint16_t smtps = 0;
  std::uint16_t pop3s = 0;
  std::uint16_t submission = 0;  // RFC 6409 port: AUTH required, relays; 0 = off
  std::string cert;
  std::string key;
  std::string faults;  // fault rule file (issue 13), "" for none; relative to the working directory
  Limits limits;
  Queue queue;
  Tls tls;
  Policy policy;
  std::vector<Account> accounts;
  std::vector<std::string> domains;  // lowercased, sorted, unique: the domains of the accounts
};

/// The per-server table [mailsrv."NAME"]: only what it sets differs from the world tables.
struct MailsrvTable {
  std::string listen = "127.0.0.1";
  std::uint16_t smtps = 0;
  std::uint16_t pop3s = 0;
  std::uint16_t submission = 0;
  std::string cert;
  std::string key;
  std::string faults;
  Limits limits;  // already merged over the world's
  Queue queue;
  Tls tls;
  Policy policy;
};

struct Config {
  std::string file;                       // where it was read from ("" for defaults)
  std::string fdns_listen = "127.0.0.1:10053";
  std::string fdns_faults;                // [fdns] faults: fdns's fault rule file ("" = none)
  std::string view_listen = "127.0.0.1:8025";  // [view] listen: the web view (apps/mailview)
  std::string var = "var";
  Limits limits;
  Queue queue;
  Tls tls;
  Policy policy;
  std::map<std::string, AgentHosts> agent;                 // mail domain (lowercased) -> hosts
  std::map<std::string, ServerPorts> server;               // server name -> ports
  std::map<std::string, std::vector<Account>> accounts;    // server name -> accounts
  std::map<std::string, MailsrvTable> mailsrv;             // server name -> per-server table

  /// Settings for `mailsrv -n name`; not_found when [server] has no such name.
  Result<ServerSettings> server_settings(const std::string& name) const;
};

/// Reads a file that the config names (`[accounts."NAME"] file`): its text, or a one-line error.
using ReadFile = std::function<Result<std::string>(const std::string& path)>;

/// Reads and validates a config file (TOML, or JSON when the name ends in .json), and the users files
/// it names (relative to the current directory, like every path of the config). The error is one
/// line: `file:LINE: key: reason`, `file: /json/pointer: reason` or `userinfo.txt:LINE: reason`.
Result<Config> load(const std::filesystem::path& file);
/// Same, from text (tests); `read` reads the users files (empty: from disk).
Result<Config> parse(std::string_view text, std::string file_name, bool json = false, const ReadFile& read = {});

}  // namespace mail::config
