#include "pop3/server_session.hpp"

#include <charconv>
#include <utility>

#include "util/auth.hpp"
#include "util/text.hpp"

namespace mail::pop3 {
namespace {

// ---- The reply catalog (RFC 2449 response codes in brackets) ----
namespace catalog {
std::string ok(std::string_view text = {}) { return text.empty() ? "+OK\r\n" : "+OK " + std::string(text) + "\r\n"; }
std::string err(std::string_view text) { return "-ERR " + std::string(text) + "\r\n"; }
constexpr const char* kUnknown = "unknown command";
constexpr const char* kWrongState = "command not valid in this state";
constexpr const char* kLineTooLong = "line too long";
constexpr const char* kNoUser = "USER first";
constexpr const char* kMissingUser = "missing user name";
constexpr const char* kBadLogin = "[AUTH] invalid user name or password";
constexpr const char* kInUse = "[IN-USE] maildrop already locked by another session";
constexpr const char* kLoginFailed = "[SYS/TEMP] cannot open the maildrop, try again later";
constexpr const char* kThrottled = "[SYS/TEMP] too many failed logins, try again later";
constexpr const char* kNoSuchMessage = "no such message";
constexpr const char* kBadNumber = "invalid message number";
constexpr const char* kDeleted = "message is deleted";
constexpr const char* kBadMechanism = "unsupported authentication mechanism";
constexpr const char* kCancelled = "authentication cancelled";
constexpr const char* kBadSasl = "[AUTH] invalid authentication data";
constexpr const char* kNoStls = "STLS not available";
constexpr const char* kTooManyErrors = "too many errors, closing";
constexpr const char* kNotRemoved = "[SYS/TEMP] some deleted messages not removed";
std::string gone(std::size_t n) { return "message " + std::to_string(n) + " was removed by another client"; }
std::string unreadable(std::size_t n) { return "[SYS/TEMP] message " + std::to_string(n) + " cannot be read, try again later"; }
std::string gone_before_update(std::size_t n) {
  return "; " + std::to_string(n) + (n == 1 ? " deleted message had" : " deleted messages had") +
         " already been removed by another client";
}
}  // namespace catalog

constexpr unsigned bit(Phase p) { return 1u << static_cast<unsigned>(p); }
constexpr unsigned kAuth = bit(Phase::authorization);
constexpr unsigned kTrans = bit(Phase::transaction);

// "N X\r\n", appended without temporaries: LIST and UIDL write one such line per message (10^5 in a
// big maildrop).
void append_row(std::string& out, std::size_t n, std::string_view x) {
  char num[24];
  auto end = std::to_chars(num, num + sizeof num, n).ptr;
  out.append(num, end);
  out += ' ';
  out.append(x);
  out += "\r\n";
}
void append_row(std::string& out, std::size_t n, std::uint64_t x) {
  char num[24];
  append_row(out, n, std::string_view(num, std::to_chars(num, num + sizeof num, x).ptr));
}

std::string count_line(std::size_t n, std::uint64_t octets) {
  return std::to_string(n) + " messages (" + std::to_string(octets) + " octets)";
}

// How a command line may be logged: as it came, or with its secret argument masked (docs/development.md
// "Logging": credentials never reach a log).
std::string logged(const ServerSession::Row& row, std::string_view line, std::string_view arg) {
  using Secret = ServerSession::Secret;
  if (row.secret == Secret::none) return std::string(line);
  std::string verb(row.verb);
  if (row.secret == Secret::sasl) {
    // The mechanism when we know it (RFC 5034: PLAIN here), never the initial response.
    auto sp = arg.find(' ');
    if (util::iequals(arg.substr(0, sp), "PLAIN")) return verb + (sp == std::string_view::npos ? " PLAIN" : " PLAIN ***");
  }
  return verb + (arg.empty() ? "" : " ***");
}

}  // namespace

const char* to_string(Phase p) noexcept {
  switch (p) {
    case Phase::authorization: return "authorization";
    case Phase::transaction: return "transaction";
    case Phase::update: return "update";
    case Phase::closed: return "closed";
  }
  return "?";
}

// The verb table, in the order of the CAPA reply. A user name is a secret: it is where passwords get
// typed by mistake, and the login event names the account once it resolves.
std::span<const ServerSession::Row> ServerSession::table() noexcept {
  using S = ServerSession;
  static const Row kTable[] = {
      {.verb = "USER", .phases = kAuth, .proceed = &S::on_user, .secret = Secret::argument, .capa = "USER"},
      {.verb = "TOP", .phases = kTrans, .proceed = &S::on_top, .capa = "TOP"},
      {.verb = "UIDL", .phases = kTrans, .proceed = &S::on_uidl, .capa = "UIDL"},
      {.capa = "RESP-CODES"},      // RFC 2449 6.4
      {.capa = "AUTH-RESP-CODE"},  // RFC 3206
      {.capa = "PIPELINING"},      // RFC 2449 6.6
      {.verb = "STLS", .phases = kAuth, .proceed = &S::on_stls, .capa = "STLS", .offered = &S::stls_offered},
      {.verb = "AUTH", .phases = kAuth, .proceed = &S::on_auth, .secret = Secret::sasl, .capa = "SASL PLAIN",
       .offered = &S::sasl_offered},
      {.capa = "IMPLEMENTATION mailworld"},
      {.verb = "PASS", .phases = kAuth, .proceed = &S::on_pass, .secret = Secret::argument},
      {.verb = "CAPA", .phases = kAuth | kTrans, .proceed = &S::on_capa},
      {.verb = "QUIT", .phases = kAuth | kTrans, .proceed = &S::on_quit},
      {.verb = "STAT", .phases = kTrans, .proceed = &S::on_stat},
      {.verb = "LIST", .phases = kTrans, .proceed = &S::on_list},
      {.verb = "RETR", .phases = kTrans, .proceed = &S::on_retr},
      {.verb = "DELE", .phases = kTrans, .proceed = &S::on_dele},
      {.verb = "NOOP", .phases = kTrans, .proceed = &S::on_noop},
      {.verb = "RSET", .phases = kTrans, .proceed = &S::on_rset},
  };
  return kTable;
}

bool ServerSession::allowed(const Row& row, Phase p) noexcept { return (row.phases & bit(p)) != 0; }

const ServerSession::Row* ServerSession::find(std::string_view verb) noexcept {
  if (verb.empty()) return nullptr;  // CAPA-only rows have no verb
  for (const auto& row : table())
    if (util::iequals(row.verb, verb)) return &row;
  return nullptr;
}

void ServerSession::enter(Phase next) {
  if (next == phase_) return;
  Phase old = std::exchange(phase_, next);
  if (phase_hook_) phase_hook_(old, next);
}

std::string ServerSession::greeting() const { return catalog::ok(opts_.server_name + " POP3 server ready"); }
std::string ServerSession::too_many_sessions(const std::string& server_name) {
  return catalog::err("[SYS/TEMP] " + server_name + " too many sessions, try again later");
}
std::string ServerSession::too_many_from_peer(const std::string& server_name) {
  return catalog::err("[SYS/TEMP] " + server_name + " too many connections from your address");
}

Step ServerSession::error(std::string text) {
  Step s{catalog::err(text), Effect::none};
  if (++errors_ >= opts_.max_errors) {
    s.out += catalog::err(catalog::kTooManyErrors);
    s.effect = Effect::close;
    enter(Phase::closed);
  }
  return s;
}

void ServerSession::clear_credentials() {
  // Overwrite, then drop: the password should not linger in memory.
  std::fill(password_.begin(), password_.end(), '\0');
  password_.clear();
  user_.clear();
}

Step ServerSession::on_line(std::string_view line, bool too_long) {
  if (phase_ == Phase::closed || phase_ == Phase::update) return {};
  std::optional<fault::Fault> pending;
  if (faults_on() && !too_long && !awaiting_sasl_)  // checked before the session handles the command
    if (auto s = command_fault(line, pending)) return std::move(*s);
  Step s = take_line(line, too_long);
  s.log_line = std::move(log_line_);
  if (pending) s.fault = std::move(pending);
  return s;
}

// One command line. Each way out sets log_line_ from what this parse made of the line: the driver
// logs that and nothing else (docs/development.md "Logging": credentials never reach a log).
Step ServerSession::take_line(std::string_view line, bool too_long) {
  // A line not taken apart shows only its verb (when it starts with one) and its length.
  auto unparsed = [&] { log_line_ = util::unparsed_line(line, [](std::string_view w) { return find(w) != nullptr; }); };
  if (awaiting_sasl_) log_line_ = "***";  // a SASL response is a secret, whatever it looks like
  if (too_long) {
    if (!awaiting_sasl_) unparsed();
    awaiting_sasl_ = false;
    return error(catalog::kLineTooLong);
  }
  if (awaiting_sasl_) return sasl_response(line);
  auto sp = line.find(' ');
  std::string_view verb = line.substr(0, sp);
  std::string_view arg = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  const Row* row = find(verb);
  if (row == nullptr) {
    unparsed();
    return error(catalog::kUnknown);
  }
  log_line_ = logged(*row, line, arg);
  if (!allowed(*row, phase_)) return error(catalog::kWrongState);
  return (this->*(row->proceed))(arg);
}

Step ServerSession::on_user(std::string_view arg) {
  arg = util::trim(arg);
  if (arg.empty()) return error(catalog::kMissingUser);
  user_ = std::string(arg);  // never "no such user": the reply to PASS decides, without telling which
  return {catalog::ok("send PASS")};
}

Step ServerSession::on_pass(std::string_view arg) {
  if (user_.empty()) return error(catalog::kNoUser);
  password_ = std::string(arg);  // the whole rest of the line: passwords may hold spaces
  return {{}, Effect::login};
}

Step ServerSession::on_auth(std::string_view arg) {
  auto sp = arg.find(' ');
  std::string_view mech = arg.substr(0, sp);
  if (!sasl_offered() || !util::iequals(mech, "PLAIN")) return error(catalog::kBadMechanism);
  if (sp == std::string_view::npos) {
    awaiting_sasl_ = true;
    return {"+ \r\n"};  // RFC 5034 4: an empty challenge
  }
  return sasl_response(util::trim(arg.substr(sp + 1)));
}

Step ServerSession::sasl_response(std::string_view line) {
  awaiting_sasl_ = false;
  if (line == "*") return error(catalog::kCancelled);
  auto decoded = util::base64_decode(line);
  auto creds = decoded ? util::parse_sasl_plain(*decoded) : std::nullopt;
  if (!creds || (!creds->authzid.empty() && creds->authzid != creds->user)) return error(catalog::kBadSasl);
  user_ = std::move(creds->user);
  password_ = std::move(creds->password);
  return {{}, Effect::login};
}

Step ServerSession::on_login(LoginResult result, Listing listing) {
  if (result == LoginResult::ok) logged_in_ = user_;
  clear_credentials();
  switch (result) {
    case LoginResult::ok: break;
    case LoginResult::bad_credentials: return error(catalog::kBadLogin);
    case LoginResult::in_use: return {catalog::err(catalog::kInUse)};
    case LoginResult::failed: return {catalog::err(catalog::kLoginFailed)};
    case LoginResult::throttled: return error(catalog::kThrottled);  // says nothing of the password
  }
  listing_ = std::move(listing);
  deleted_.assign(listing_.size(), false);
  visible_ = listing_.size();
  visible_octets_ = 0;
  for (std::size_t i = 0; i < listing_.size(); ++i) visible_octets_ += listing_.octets(i);
  enter(Phase::transaction);
  return {catalog::ok("maildrop has " + count_line(visible_, visible_octets_))};
}

Step ServerSession::on_capa(std::string_view) {
  std::string out = catalog::ok("Capability list follows");
  for (const auto& row : table()) {
    if (row.capa.empty() || (row.offered != nullptr && !(this->*(row.offered))())) continue;
    out += row.capa;
    out += "\r\n";
  }
  out += ".\r\n";
  return {out};
}

Step ServerSession::on_stls(std::string_view) {
  if (!opts_.tls_available) return error(catalog::kNoStls);
  if (tls_active_) return error("TLS already active");
  return {catalog::ok("Begin TLS negotiation"), Effect::start_tls};
}

void ServerSession::on_tls_started() {
  tls_active_ = true;
  clear_credentials();  // a USER given in the clear does not count
  awaiting_sasl_ = false;
}

Step ServerSession::on_quit(std::string_view) {
  if (phase_ == Phase::authorization) {
    enter(Phase::closed);
    return {catalog::ok(opts_.server_name + " POP3 server signing off"), Effect::close};
  }
  enter(Phase::update);
  return {{}, Effect::update};
}

Step ServerSession::on_updated(bool all_removed, std::size_t already_gone) {
  enter(Phase::closed);
  if (!all_removed) return {catalog::err(catalog::kNotRemoved), Effect::close};
  std::string left = std::to_string(visible_) + " messages left";
  if (already_gone > 0) left += catalog::gone_before_update(already_gone);
  return {catalog::ok(opts_.server_name + " POP3 server signing off (" + left + ")"), Effect::close};
}

Step ServerSession::on_send_failed(SendFailure why) const {
  if (why == SendFailure::gone) return {catalog::err(catalog::gone(send_index_ + 1))};
  return {catalog::err(catalog::unreadable(send_index_ + 1))};
}

std::optional<std::size_t> ServerSession::message(std::string_view arg, Step& bad) {
  auto n = util::parse_uint(util::trim(arg), 1u << 30);
  if (!n || *n == 0) {
    bad = error(n ? catalog::kNoSuchMessage : catalog::kBadNumber);
    return std::nullopt;
  }
  if (*n > listing_.size()) {
    bad = error(catalog::kNoSuchMessage);
    return std::nullopt;
  }
  if (deleted_[*n - 1]) {
    bad = error(catalog::kDeleted);
    return std::nullopt;
  }
  return *n - 1;
}

Step ServerSession::on_stat(std::string_view) {
  return {catalog::ok(std::to_string(visible_) + " " + std::to_string(visible_octets_))};
}

Step ServerSession::on_list(std::string_view arg) {
  if (!util::trim(arg).empty()) {
    Step bad;
    auto i = message(arg, bad);
    if (!i) return bad;
    return {catalog::ok(std::to_string(*i + 1) + " " + std::to_string(listing_.octets(*i)))};
  }
  std::string out = catalog::ok(count_line(visible_, visible_octets_));
  out.reserve(out.size() + visible_ * 16 + 3);
  for (std::size_t i = 0; i < listing_.size(); ++i)
    if (!deleted_[i]) append_row(out, i + 1, listing_.octets(i));
  out += ".\r\n";
  return {out};
}

Step ServerSession::on_uidl(std::string_view arg) {
  if (!util::trim(arg).empty()) {
    Step bad;
    auto i = message(arg, bad);
    if (!i) return bad;
    return {catalog::ok(std::to_string(*i + 1) + " " + std::string(listing_.uid(*i)))};
  }
  std::string out = catalog::ok();
  out.reserve(out.size() + visible_ * 40 + 3);
  for (std::size_t i = 0; i < listing_.size(); ++i)
    if (!deleted_[i]) append_row(out, i + 1, listing_.uid(i));
  out += ".\r\n";
  return {out};
}

Step ServerSession::on_retr(std::string_view arg) {
  Step bad;
  auto i = message(arg, bad);
  if (!i) return bad;
  send_index_ = *i;
  send_lines_.reset();
  return {catalog::ok(std::to_string(listing_.octets(*i)) + " octets"), Effect::send};
}

Step ServerSession::on_top(std::string_view arg) {
  arg = util::trim(arg);
  auto sp = arg.find(' ');
  if (sp == std::string_view::npos) return error("Syntax: TOP message lines");
  Step bad;
  auto i = message(arg.substr(0, sp), bad);
  if (!i) return bad;
  auto lines = util::parse_uint(util::trim(arg.substr(sp + 1)), UINT64_MAX);
  if (!lines) return error("invalid number of lines");
  send_index_ = *i;
  send_lines_ = *lines;
  return {catalog::ok("top of message follows"), Effect::send};
}

Step ServerSession::on_dele(std::string_view arg) {
  Step bad;
  auto i = message(arg, bad);
  if (!i) return bad;
  deleted_[*i] = true;
  --visible_;
  visible_octets_ -= listing_.octets(*i);
  return {catalog::ok("message " + std::to_string(*i + 1) + " deleted")};
}

Step ServerSession::on_noop(std::string_view) { return {catalog::ok()}; }

Step ServerSession::on_rset(std::string_view) {
  for (std::size_t i = 0; i < deleted_.size(); ++i) {
    if (deleted_[i]) {
      deleted_[i] = false;
      ++visible_;
      visible_octets_ += listing_.octets(i);
    }
  }
  return {catalog::ok("maildrop has " + count_line(visible_, visible_octets_))};
}

std::vector<std::size_t> ServerSession::deleted() const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < deleted_.size(); ++i)
    if (deleted_[i]) out.push_back(i);
  return out;
}

Step ServerSession::on_timeout() {
  enter(Phase::closed);
  return {catalog::err("timeout, closing (nothing was deleted)"), Effect::close};
}

Step ServerSession::on_shutdown() {
  enter(Phase::closed);
  return {catalog::err(opts_.server_name + " POP3 server shutting down (nothing was deleted)"), Effect::close};
}

}  // namespace mail::pop3
