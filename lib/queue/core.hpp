// The relay queue's policy as a sans-I/O state machine (issue 11; docs/reference.md "Relay and bounces"): which
// entries to deliver when and over how many connections, what each reply or failure means for each
// recipient (delivered, deferred on the [queue] schedule, failed), when a message has looped or
// outlived [queue] lifetime, when to bounce, and how an entry leaves the queue (its bounce stored
// first, then the entry removed; a failed step is retried on the same schedule, across restarts).
//
// Events in, effects out. Time and every outcome arrive as arguments; the core owns no clock, file,
// socket or timer. The driver (apps/mailsrv/relay.cpp) performs each effect and feeds its outcome
// back (`saved`, `bounced`, `removed`); a delivery attempt (`Connect`) reports its route, each host it
// gives up, each message's replies and its end. Log lines (svc=relay): recipient, tls_fallback,
// bounce_dropped, bounce_failed, save_failed, remove_failed.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "queue/route.hpp"
#include "smtp/dsn.hpp"
#include "smtp/outcome.hpp"
#include "store/envelope.hpp"
#include "util/result.hpp"

namespace mail::queue {

/// A queue entry as the driver hands it in: its envelope, and how many Received fields its message has.
struct Entry {
  store::QueueEnvelope env;
  int hops = 0;
};

using AttemptId = std::uint64_t;

/// Who asked for a settle: the schedule (then its end asks for a new tick, `WakeAt{now}`) or a delivery.
enum class Origin { schedule, delivery };

/// Deliver entries `ids` to `domain` over one connection: look it up, then `route_found`/`route_failed`,
/// `next_host`..., `message`/`result`/`message_done` per message, and `attempt_done` at the end.
struct Connect {
  AttemptId attempt = 0;
  std::string domain;
  std::vector<std::string> ids;
};
/// Write the entry's envelope as it is when the effect runs (`Core::envelope`; gone: nothing to do).
struct Save {
  std::string id;
  Origin origin = Origin::delivery;
  bool after_failure = false;  // the outcome so far, after a failed bounce or removal
};
/// Store a bounce to `env.sender` (never the null sender) naming `failed`.
struct Bounce {
  store::QueueEnvelope env;
  std::vector<smtp::FailedRecipient> failed;
  Origin origin = Origin::delivery;
};
/// Remove the entry (envelope, then message) from the queue.
struct Remove {
  std::string id;
  Origin origin = Origin::delivery;
};
/// Call `tick` at `at` (or at once when it has passed).
struct WakeAt {
  std::time_t at = 0;
};
using Effect = std::variant<Connect, Save, Bounce, Remove, WakeAt>;
using Effects = std::vector<Effect>;

/// One message to send on the open connection.
struct Send {
  std::string id;
  std::string sender;
  std::vector<std::string> recipients;
  bool eight_bit = false;  // the envelope's body_8bit (smtp::Outgoing::eight_bit)
};
/// What `message` says: effects to perform first, then the message to send (none: go to the next).
struct Turn {
  Effects effects;
  std::optional<Send> send;
};

struct Limits {
  int max_hops = 25;                     // Received fields before a message is taken to loop (RFC 5321 6.3)
  int connections_per_destination = 20;  // like Postfix's default destination concurrency
  config::RelayTls relay_tls = config::RelayTls::may;  // [tls] relay: whether a failed handshake falls back
};

class Core {
 public:
  explicit Core(config::Queue schedule, Limits limits = {}) : schedule_(schedule), limits_(limits) {}

  // ---- the queue
  /// The entries found at start: every pending recipient is due at once; entries with nothing pending
  /// are settled at the first tick.
  void loaded(std::vector<Entry> entries);
  /// A new entry, committed to the queue.
  Effects submitted(Entry entry, std::time_t now);
  /// Starts what is due at `now`: deliveries (Connect) and settles of entries whose last one failed or
  /// that have nothing pending; ends with the WakeAt of the next thing due.
  Effects tick(std::time_t now);

  // ---- a delivery attempt (after Connect)
  void route_found(AttemptId a, std::vector<Target> targets);
  void route_failed(AttemptId a, smtp::Outcome why);
  /// The next address to try; nullopt when every message is done or no address is left. Its `plain`
  /// is set (and event=tls_fallback logged) while its host is remembered by `tls_failed`.
  std::optional<Target> next_host(AttemptId a, std::time_t now);
  /// A host was given up: connection refused, greeting refused, the TLS policy, the connection lost.
  void host_failed(AttemptId a, smtp::Outcome why);
  /// A host was given up after STARTTLS (check_tls: the handshake failed, or the certificate did not
  /// verify). With [tls] relay = may the host is then remembered for tls_fallback_for: the next
  /// attempts go to it in plaintext, as Postfix does at `may`. Never with verify.
  void tls_failed(AttemptId a, const Target& t, smtp::Outcome why, std::time_t now);
  /// Entry `id`'s turn on an open connection.
  Turn message(AttemptId a, const std::string& id, std::time_t now);
  /// The server's reply for one recipient of the message being sent.
  void result(AttemptId a, const std::string& id, const std::string& rcpt, const smtp::Outcome& reply, std::time_t now);
  /// The message got its replies: its state goes to disk now.
  Effects message_done(AttemptId a, const std::string& id, std::time_t now);
  /// The attempt ended: what no host took is deferred (or failed, when the route failed for good).
  Effects attempt_done(AttemptId a, std::time_t now);

  // ---- outcomes of effects
  Effects saved(const Save& s, const Result<void>& r, std::time_t now);
  Effects bounced(const Bounce& b, const Result<void>& r, std::time_t now);
  Effects removed(const Remove& rm, const Result<void>& r, std::time_t now);

  /// The entry's envelope now; null when it left the queue.
  const store::QueueEnvelope* envelope(const std::string& id) const;
  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t attempts() const noexcept { return attempts_.size(); }
  /// Entries the ticks have looked at so far (a statistic: the tests check that a tick reads what
  /// changed or came due, not the whole queue).
  std::size_t scanned() const noexcept { return scanned_; }

 private:
  struct State {
    store::QueueEnvelope env;
    int hops = 0;
    std::set<std::string> active{};  // destination domains with an attempt working on it
    bool finishing = false;        // being bounced and removed
    bool unsaved = false;          // the envelope on disk is older than `env`
    int settle_failures = 0;       // failed saves, bounces or removals in a row
    std::time_t retry_at = 0;      // settled again from then on (after a failure)
  };
  struct Attempt {
    std::string domain;
    std::vector<std::string> ids;
    std::set<std::string> done;  // messages that got their replies (or needed none)
    std::vector<Target> targets;
    std::size_t next = 0;        // into targets
    smtp::Outcome last_error;    // why the last host (or the route) failed
    bool permanent = false;      // the route failed for good: fail rather than defer
  };

  bool settle_due(State& e, bool pending, std::time_t now, std::time_t& next);
  Effects settle(const std::string& id, Origin origin, std::time_t now);
  Effects after_failure(State& e, Origin origin, const char* event, const std::string& why, std::time_t now);
  void record(const std::string& id, store::QueuedRecipient& r, const store::QueueEnvelope& env, const smtp::Outcome& reply,
              std::time_t now);
  void defer(store::QueuedRecipient& r, const store::QueueEnvelope& env, const smtp::Outcome& why, std::time_t now);
  std::vector<store::QueuedRecipient*> pending_in(State& e, const std::string& domain);
  static Effects wake_now(Origin origin, std::time_t now);

  config::Queue schedule_;
  Limits limits_;
  std::map<std::string, State> entries_;   // by id
  std::map<std::string, int> load_;        // attempts in flight per destination domain
  std::map<AttemptId, Attempt> attempts_;
  std::map<std::string, std::time_t> plain_until_;  // MX host -> plaintext until then (tls_failed)
  AttemptId next_attempt_ = 1;
  std::set<std::string> dirty_;  // entries changed since the last tick: the next one reads them
  std::time_t due_ = 0;          // nothing outside dirty_ is due before then (0: read every entry)
  std::size_t scanned_ = 0;
};

}  // namespace mail::queue
