// Fault rules (issue 13): deterministic, scriptable misbehaviour at every hop, for testing software that
// sends or receives mail. A rule file lists rules in order; a server asks its Injector at each stage
// ("smtp RCPT", "pop3 RETR", "dns query") whether a rule applies, and performs the action it returns.
// The file format is in docs/testing-with-mailworld.md and docs/reference.md. Pure: no I/O apart from
// Rules::load, no clock, and the random draws come from each rule's own seeded sequence.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/cidr.hpp"
#include "util/result.hpp"

namespace mail::config {
class Document;
}

namespace mail::fault {

enum class Protocol { smtp, pop3, dns };

/// What a rule does when it applies.
enum class Kind {
  reply,     // answer with `code`/`text` instead of performing the command
  delay,     // wait `delay`, then go on normally
  drop,      // close the connection without a reply (dns: send no answer)
  slow,      // from now on, read and write at most `rate` octets per second
  servfail,  // dns: rcode SERVFAIL
  nxdomain,  // dns: rcode NXDOMAIN, no records
  refused,   // dns: rcode REFUSED
  truncate,  // dns over UDP: an empty answer with TC set (the client retries over TCP)
};

struct Action {
  Kind kind = Kind::reply;
  int code = 0;          // reply (smtp): 400..599; pop3 replies are always -ERR (code 0)
  std::string text;      // reply: the text after the code (smtp) or after "-ERR " (pop3)
  std::chrono::milliseconds delay{0};
  std::uint64_t rate = 0;  // slow: octets per second
  std::string spec;      // the `do` string as written, for the log
};

/// The values a stage knows; empty views are unknown (a rule matching on them does not match).
struct Event {
  Protocol protocol = Protocol::smtp;
  std::string_view stage;  // "connect", "greeting", "end-of-data", a verb ("RCPT"), dns: "udp"/"tcp"
  std::string_view client;                  // the peer's IP address
  std::string_view sender;                  // smtp: envelope sender ("" for <>), when known
  bool has_sender = false;                  // smtp: MAIL was given (the sender may be "")
  std::span<const std::string> recipients;  // smtp: at RCPT the one being added, later all of them
  std::string_view helo;                    // smtp
  std::string_view user;                    // pop3: the login name
  std::string_view name;                    // dns: the query name without its trailing dot
  std::string_view type;                    // dns: "MX", "A", "P", "TYPE65280", ...
};

/// One rule as parsed from the file.
struct Rule {
  std::string name;        // `name`, or its 1-based position
  Protocol protocol = Protocol::smtp;
  std::string stage;       // upper-case verb or lower-case stage name; dns: "query", "udp" or "tcp"
  std::string when;        // as written, for the log
  std::vector<util::Cidr> clients;
  std::string sender, recipient, helo, user, name_pattern, type;  // globs; "" = any
  bool match_sender = false, match_recipient = false, match_helo = false, match_user = false,
       match_name = false, match_type = false;
  Action action;
  std::uint64_t first = 0;      // 0 = not set
  std::uint64_t every = 0;      // 0 = not set
  double probability = 0;       // 0 = not set
  std::uint64_t seed = 1;
  std::vector<std::string> per;  // keys of Event counted separately
};

/// A parsed rule file: immutable.
class Rules {
 public:
  /// `file` read as TOML (or JSON for `.json`); errors are one line `file:LINE: key: reason`.
  static Result<Rules> load(const std::filesystem::path& file);
  static Result<Rules> parse(const config::Document& doc);
  /// The same, but a rule for another protocol than the `allowed` ones is an error naming its `when`.
  static Result<Rules> load(const std::filesystem::path& file, std::span<const Protocol> allowed);

  const std::vector<Rule>& rules() const noexcept { return rules_; }
  bool empty() const noexcept { return rules_.empty(); }

 private:
  std::vector<Rule> rules_;
};

/// True when `text` matches the glob `pattern` (`*` any run, `?` one character), ignoring ASCII case.
bool glob_match(std::string_view pattern, std::string_view text);

/// The key an event is counted under for a rule's `per` list: the values joined, or, when longer than
/// kMaxKeyLength octets, a 16-octet digest of them (so memory per key stays small whatever the client sends).
std::string tuple_key(std::span<const std::string> per, const Event& event);
constexpr std::size_t kMaxKeyLength = 64;

/// What applied: the rule (for the log) and its action. Valid until the next replace().
struct Applied {
  const Rule* rule = nullptr;
  const Action* action = nullptr;
  /// `rule=NAME when="..." do="..." client=... sender=...`: the fields of the `event=fault` log line.
  std::vector<std::pair<std::string, std::string>> fields;
};

/// An applied rule as a session's driver needs it: what to perform and the `event=fault` fields. It owns
/// its data, so it outlives a replace() (a SIGHUP during a delay). A `reply` was already turned into
/// the session's reply by the core: the driver only logs it.
struct Fault {
  Kind kind = Kind::reply;
  std::chrono::milliseconds delay{0};
  std::uint64_t rate = 0;
  std::vector<std::pair<std::string, std::string>> fields;

  static Fault of(Applied applied) {
    return {applied.action->kind, applied.action->delay, applied.action->rate, std::move(applied.fields)};
  }
};

/// The rules of one server and their counters. One per process; sessions share it (mailsrv and fdns run
/// one io_context thread, so there is no locking).
class Injector {
 public:
  Injector() = default;
  explicit Injector(Rules rules) { replace(std::move(rules)); }

  /// New rules (SIGHUP): every counter and random sequence starts afresh.
  void replace(Rules rules);
  bool empty() const noexcept { return rules_.empty(); }
  std::size_t size() const noexcept { return rules_.rules().size(); }

  /// Tries the rules in order: each rule whose `when` and `match` fit counts the event; the first whose
  /// first/every/probability lets it apply is returned, and later rules are neither tried nor counted.
  std::optional<Applied> check(const Event& event);

  /// Counters kept per rule at most (with `per`, one per distinct tuple): the oldest are forgotten.
  static constexpr std::size_t kMaxKeys = 100000;

 private:
  struct Counter {
    std::uint64_t matches = 0;
    std::uint64_t random = 0;  // splitmix64 state
  };
  struct State {
    std::unordered_map<std::string, std::list<std::pair<std::string, Counter>>::iterator> index;
    std::list<std::pair<std::string, Counter>> order;  // oldest first
  };
  Counter& counter(std::size_t rule, const std::string& key);

  Rules rules_;
  std::vector<State> states_;
};

std::string_view to_string(Protocol p) noexcept;

}  // namespace mail::fault
