#include "pop3/server_session.hpp"

#include <array>

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
}  // namespace catalog

constexpr unsigned bit(Phase p) { return 1u << static_cast<unsigned>(p); }
constexpr unsigned kAuth = bit(Phase::authorization);
constexpr unsigned kTrans = bit(Phase::transaction);

std::string count_line(std::size_t n, std::uint64_t octets) {
  return std::to_string(n) + " messages (" + std::to_string(octets) + " octets)";
}

}  // namespace

// Dispatch: verb -> handler, the states where it is allowed, and whether its argument is a secret
// (logged as "VERB ***"; the handler may show more of what it parsed). A user name is one: it is where
// passwords get typed by mistake, and the login event names the account once it resolves.
struct ServerSession::Entry {
  std::string_view verb;
  Handler handler;
  unsigned phases;
  bool secret = false;
};

const ServerSession::Entry* ServerSession::find(std::string_view verb) {
  static const std::array<Entry, 14> kTable{{
      {"USER", &ServerSession::on_user, kAuth, true}, {"PASS", &ServerSession::on_pass, kAuth, true},
      {"AUTH", &ServerSession::on_auth, kAuth, true}, {"STLS", &ServerSession::on_stls, kAuth},
      {"CAPA", &ServerSession::on_capa, kAuth | kTrans}, {"QUIT", &ServerSession::on_quit, kAuth | kTrans},
      {"STAT", &ServerSession::on_stat, kTrans}, {"LIST", &ServerSession::on_list, kTrans},
      {"UIDL", &ServerSession::on_uidl, kTrans}, {"RETR", &ServerSession::on_retr, kTrans},
      {"TOP", &ServerSession::on_top, kTrans},   {"DELE", &ServerSession::on_dele, kTrans},
      {"NOOP", &ServerSession::on_noop, kTrans}, {"RSET", &ServerSession::on_rset, kTrans},
  }};
  for (const auto& e : kTable)
    if (util::iequals(e.verb, verb)) return &e;
  return nullptr;
}

std::string ServerSession::greeting() const { return catalog::ok(opts_.server_name + " POP3 server ready"); }

Step ServerSession::error(std::string text) {
  Step s{catalog::err(text), Effect::none};
  if (++errors_ >= opts_.max_errors) {
    s.out += catalog::err(catalog::kTooManyErrors);
    s.effect = Effect::close;
    phase_ = Phase::closed;
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
  Step s = take_line(line, too_long);
  s.log_line = std::move(log_line_);
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
  const Entry* e = find(verb);
  if (e == nullptr) {
    unparsed();
    return error(catalog::kUnknown);
  }
  if (e->secret) log_line_ = std::string(e->verb) + (arg.empty() ? "" : " ***");
  else log_line_.assign(line);
  if ((e->phases & bit(phase_)) == 0) return error(catalog::kWrongState);
  return (this->*(e->handler))(arg);
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
  // The log shows the mechanism when we know it, never the initial response.
  if (util::iequals(mech, "PLAIN")) log_line_ = sp == std::string_view::npos ? "AUTH PLAIN" : "AUTH PLAIN ***";
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
  phase_ = Phase::transaction;
  return {catalog::ok("maildrop has " + count_line(visible_, visible_octets_))};
}

Step ServerSession::on_capa(std::string_view) {
  std::string out = catalog::ok("Capability list follows");
  out += "USER\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n";
  if (phase_ == Phase::authorization && opts_.tls_available && !tls_active_) out += "STLS\r\n";
  if (sasl_offered()) out += "SASL PLAIN\r\n";
  out += "IMPLEMENTATION mailworld\r\n.\r\n";
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
    phase_ = Phase::closed;
    return {catalog::ok(opts_.server_name + " POP3 server signing off"), Effect::close};
  }
  phase_ = Phase::update;
  return {{}, Effect::update};
}

Step ServerSession::on_updated(bool ok) {
  phase_ = Phase::closed;
  if (!ok) return {catalog::err(catalog::kNotRemoved), Effect::close};
  return {catalog::ok(opts_.server_name + " POP3 server signing off (" + std::to_string(visible_) + " messages left)"),
          Effect::close};
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
  for (std::size_t i = 0; i < listing_.size(); ++i)
    if (!deleted_[i]) out += std::to_string(i + 1) + " " + std::to_string(listing_.octets(i)) + "\r\n";
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
  for (std::size_t i = 0; i < listing_.size(); ++i)
    if (!deleted_[i]) out += std::to_string(i + 1) + " " + std::string(listing_.uid(i)) + "\r\n";
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
  phase_ = Phase::closed;
  return {catalog::err("timeout, closing (nothing was deleted)"), Effect::close};
}

Step ServerSession::on_shutdown() {
  phase_ = Phase::closed;
  return {catalog::err(opts_.server_name + " POP3 server shutting down (nothing was deleted)"), Effect::close};
}

}  // namespace mail::pop3
