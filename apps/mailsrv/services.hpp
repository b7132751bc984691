// What the sessions of one mailsrv share: its settings, accounts, storage, committer, TLS, event loop
// and relay. build_services() makes it whole before any listener exists.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <asio/steady_timer.hpp>

#include "config/config.hpp"
#include "fault/fault.hpp"
#include "net/message_sink.hpp"
#include "net/resolver.hpp"
#include "net/store.hpp"
#include "net/tcp_server.hpp"
#include "net/tls.hpp"
#include "smtp/server_session.hpp"
#include "store/committer.hpp"
#include "store/data_lock.hpp"
#include "store/layout.hpp"
#include "store/maildrop.hpp"
#include "util/auth.hpp"
#include "util/login_throttle.hpp"

namespace asio {
class io_context;
}

namespace mailsrv {

/// The configured accounts, as the SMTP core asks about them.
class Accounts final : public mail::smtp::Directory {
 public:
  explicit Accounts(const std::vector<mail::config::Account>& accounts);
  bool is_local(std::string_view domain) const override;
  std::optional<std::string> account(std::string_view address) const override;
  std::vector<std::string> addresses() const;
  /// The account a login names: the full address (domain in any case), or a bare local part that
  /// exactly one account has.
  std::optional<std::string> resolve_user(std::string_view user) const;
  /// The account when `password` is right (compared in constant time), else nullopt.
  std::optional<std::string> check_login(std::string_view user, std::string_view password) const;

 private:
  std::unordered_map<std::string, std::string> by_key_;     // util::canonical_address -> as configured
  std::unordered_map<std::string, std::string> passwords_;  // as configured -> password
  std::unordered_map<std::string, std::vector<std::string>> by_local_;  // local part -> accounts
  std::unordered_map<std::string, bool> domains_;           // util::canonical_domain
};

class Relay;
class CertRefresh;

/// Everything one mailsrv runs on, each part owned here and built by build_services(). The members are
/// destroyed in reverse order: the relay, the committer (its last completions go to the event loop),
/// the event loop (with any session the stop's grace deadline cut: those may still use what is declared
/// before it), then the rest. Only the TLS contexts are shared: the implicit-TLS listeners hold them too
/// (net::ServerOptions).
struct Services {
  Services();
  ~Services();

  mail::config::ServerSettings settings;
  std::optional<mail::store::DataLock> data_lock;  // one mailsrv per data folder, held to the end
  std::unique_ptr<Accounts> accounts;
  std::unique_ptr<mail::store::Layout> layout;
  std::string host;  // for Maildir unique names
  bool verbose = false;
  std::atomic<std::uint64_t> counter{0};
  mail::store::MaildropLocks maildrop_locks;  // event-loop thread only
  mail::util::LoginThrottle login_throttle;     // event-loop thread only
  std::unordered_set<asio::steady_timer*> login_waits;  // logins waiting for their answer (login.cpp)
  std::shared_ptr<mail::net::TlsContext> tls_server;  // null: no TLS offered
  std::shared_ptr<mail::net::TlsContext> tls_client;  // the relay's, checking peers against the lab CA
  std::unique_ptr<mail::net::Store> store;        // the layout and committer, awaited in one call each
  std::unique_ptr<mail::net::MessageSink> sink;   // where the SMTP sessions put messages (make_sink)
  std::unique_ptr<asio::io_context> io;               // the one event loop (one thread is enough)
  std::unique_ptr<mail::store::Committer> committer;
  std::unique_ptr<mail::net::Resolver> resolver;  // the relay's lookups (--dns or --zone)
  std::unique_ptr<Relay> relay;                   // takes the queue entries the SMTP side commits
  std::unique_ptr<CertRefresh> cert_refresh;      // null unless the certificate waits for MX names
  std::string dns_server;  // where relay lookups go ("127.0.0.1:10053", or "zone FILE"): the feed's `server`
  mail::fault::Injector* faults = nullptr;        // --faults / [mailsrv."NAME"] faults (main's net::FaultFile)

  /// The server is stopping: logins waiting for the throttle are answered now (refused).
  void cancel_login_waits() {
    for (auto* t : login_waits) t->cancel();
  }
  /// A new queue id ("19aa0b0c1d2e-1f") and Maildir unique name.
  std::string next_id();
  std::string next_unique();
};

/// How this mailsrv was started (main.cpp, from its command line).
struct StartOptions {
  std::filesystem::path data;  // --data, or <paths.var>/NAME
  int commit_threads = 8;
  bool verbose = false;
  std::string zone;  // --zone: answer relay lookups from this zone file
  std::string dns;   // --dns, or [fdns] listen
};

/// Takes the data folder's lock, prepares its folders, starts the committer, sets up TLS (the lab CA and
/// this server's certificate) and makes the resolver and the relay (whose queue Relay::start() loads).
/// The error is one line for main to print.
mail::Result<std::unique_ptr<Services>> build_services(const mail::config::Config& cfg,
                                                       mail::config::ServerSettings settings, const StartOptions& o);

/// The sink of the SMTP sessions: messages stored through svc.store, queue entries handed to
/// svc.relay (once set), and with -v the attachment names of each stored message logged.
std::unique_ptr<mail::net::MessageSink> make_sink(Services& svc);

/// The SMTP listener: sessions of RFC 5321 over TCP, storing through the committer.
/// `implicit_tls`: the SMTPS port ([mailsrv.NAME] smtps), TLS from the first byte.
mail::Result<std::unique_ptr<mail::net::TcpServer>> listen_smtp(Services& svc, bool implicit_tls = false);
/// The RFC 6409 submission listener ([mailsrv."NAME"] submission): AUTH before MAIL (530 5.7.0), then
/// it relays; STARTTLS and AUTH offered as on the SMTP port.
mail::Result<std::unique_ptr<mail::net::TcpServer>> listen_submission(Services& svc);
/// The POP3 listener: sessions of RFC 1939 over the same Maildirs.
mail::Result<std::unique_ptr<mail::net::TcpServer>> listen_pop3(Services& svc, bool implicit_tls = false);

}  // namespace mailsrv
