// The SMTP verb table (issue 11, "one row per verb"): every verb in every phase, the checks that come
// before the phase test, HELP and the EHLO keywords as the table offers them, log masking of every
// secret row, and phase changes seen through the one function that makes them.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <utility>

#include "smtp/command.hpp"
#include "smtp/server_session.hpp"
#include "util/text.hpp"

using namespace mail;
using namespace mail::smtp;
using Ending = util::LineSplitter::Ending;

namespace {

class OneAccount final : public Directory {
 public:
  bool is_local(std::string_view d) const override { return util::iequals(d, "gmail.com"); }
  std::optional<std::string> account(std::string_view a) const override {
    if (a == "usr@gmail.com") return std::string(a);
    return std::nullopt;
  }
};
const OneAccount kDir;

// A session with STARTTLS available and AUTH offered in the clear, so that every verb can succeed.
SessionInfo full_info() { return {"gmail.com", "127.0.0.1", false, true, false, true}; }

ServerSession in_phase(Phase p) {
  ServerSession s(full_info(), {}, kDir);
  if (p == Phase::greeted) return s;
  if (p == Phase::closed) {
    REQUIRE(s.on_line("QUIT").effect == Effect::close);
    return s;
  }
  REQUIRE(s.on_line("EHLO c").replies.at(0).code == 250);
  if (p == Phase::ready) return s;
  REQUIRE(s.on_line("MAIL FROM:<a@example.org>").replies.at(0).code == 250);
  if (p == Phase::mail) return s;
  REQUIRE(s.on_line("RCPT TO:<usr@gmail.com>").replies.at(0).code == 250);
  if (p == Phase::rcpt) return s;
  REQUIRE(s.on_line("DATA").effect == Effect::begin_data);
  REQUIRE(s.on_data_started(true).replies.at(0).code == 354);
  REQUIRE(s.phase() == Phase::data);
  return s;
}

// "503 5.5.1 Error: ..." (the first line of the first reply), "[begin_data]" for a step with no reply.
std::string first(const Step& step) {
  if (step.replies.empty()) return step.effect == Effect::begin_data ? "[begin_data]" : "";
  const auto& r = step.replies.front();
  return std::to_string(r.code) + " " + r.lines.front();
}

std::string all_lines(const Reply& r) {
  std::string out;
  for (const auto& l : r.lines) out += l + "|";
  return out;
}

struct Expect {
  std::string reply;
  Phase after;
};

constexpr Phase kCommandPhases[] = {Phase::greeted, Phase::ready, Phase::mail, Phase::rcpt};
constexpr unsigned bit_of(Phase p) { return 1u << static_cast<unsigned>(p); }

}  // namespace

TEST_CASE("every verb of the table in every phase: the reply and the phase after it") {
  // verb -> the line sent -> for greeted, ready, mail, rcpt: {first reply line, phase after}
  const std::string helo_first = "503 5.5.1 Error: send HELO/EHLO first";
  const std::string in_transaction = "503 5.5.1 Error: MAIL transaction in progress";
  const std::map<std::string, std::pair<std::string, std::vector<Expect>>> matrix = {
      {"HELO", {"HELO c", {{"250 gmail.com", Phase::ready}, {"250 gmail.com", Phase::ready},
                           {"250 gmail.com", Phase::ready}, {"250 gmail.com", Phase::ready}}}},
      {"EHLO", {"EHLO c", {{"250 gmail.com Hello c [127.0.0.1]", Phase::ready}, {"250 gmail.com Hello c [127.0.0.1]", Phase::ready},
                           {"250 gmail.com Hello c [127.0.0.1]", Phase::ready}, {"250 gmail.com Hello c [127.0.0.1]", Phase::ready}}}},
      {"MAIL", {"MAIL FROM:<b@example.org>", {{helo_first, Phase::greeted}, {"250 2.1.0 Ok", Phase::mail},
                                              {"503 5.5.1 Error: nested MAIL command", Phase::mail},
                                              {"503 5.5.1 Error: nested MAIL command", Phase::rcpt}}}},
      {"RCPT", {"RCPT TO:<usr@gmail.com>", {{"503 5.5.1 Error: need MAIL command", Phase::greeted},
                                            {"503 5.5.1 Error: need MAIL command", Phase::ready},
                                            {"250 2.1.5 Ok", Phase::rcpt}, {"250 2.1.5 Ok", Phase::rcpt}}}},
      {"DATA", {"DATA", {{"503 5.5.1 Error: need RCPT command", Phase::greeted},
                         {"503 5.5.1 Error: need RCPT command", Phase::ready},
                         {"554 5.5.1 Error: no valid recipients", Phase::mail}, {"[begin_data]", Phase::rcpt}}}},
      {"RSET", {"RSET", {{"250 2.0.0 Ok", Phase::greeted}, {"250 2.0.0 Ok", Phase::ready},
                         {"250 2.0.0 Ok", Phase::ready}, {"250 2.0.0 Ok", Phase::ready}}}},
      {"NOOP", {"NOOP", {{"250 2.0.0 Ok", Phase::greeted}, {"250 2.0.0 Ok", Phase::ready},
                         {"250 2.0.0 Ok", Phase::mail}, {"250 2.0.0 Ok", Phase::rcpt}}}},
      {"QUIT", {"QUIT", {{"221 2.0.0 Bye", Phase::closed}, {"221 2.0.0 Bye", Phase::closed},
                         {"221 2.0.0 Bye", Phase::closed}, {"221 2.0.0 Bye", Phase::closed}}}},
      {"VRFY", {"VRFY usr", {{"252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery", Phase::greeted},
                             {"252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery", Phase::ready},
                             {"252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery", Phase::mail},
                             {"252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery", Phase::rcpt}}}},
      {"HELP", {"HELP", {{"214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA", Phase::greeted},
                         {"214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA", Phase::ready},
                         {"214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA", Phase::mail},
                         {"214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA", Phase::rcpt}}}},
      {"EXPN", {"EXPN list", {{"502 5.5.1 Error: command not implemented", Phase::greeted},
                              {"502 5.5.1 Error: command not implemented", Phase::ready},
                              {"502 5.5.1 Error: command not implemented", Phase::mail},
                              {"502 5.5.1 Error: command not implemented", Phase::rcpt}}}},
      {"STARTTLS", {"STARTTLS", {{helo_first, Phase::greeted}, {"220 2.0.0 Ready to start TLS", Phase::ready},
                                 {in_transaction, Phase::mail}, {in_transaction, Phase::rcpt}}}},
      {"AUTH", {"AUTH PLAIN", {{helo_first, Phase::greeted}, {"334 ", Phase::ready},
                               {in_transaction, Phase::mail}, {in_transaction, Phase::rcpt}}}},
  };
  std::set<std::string> seen;
  for (const auto& row : ServerSession::table()) {
    if (row.verb == Verb::unknown) continue;  // an EHLO keyword without a verb
    const std::string verb(verb_name(row.verb));
    CAPTURE(verb);
    CHECK(seen.insert(verb).second);  // one row per verb
    CHECK(row.proceed != nullptr);
    CHECK((row.wrong_phase != nullptr) == (row.phases != (bit_of(Phase::greeted) | bit_of(Phase::ready) |
                                                           bit_of(Phase::mail) | bit_of(Phase::rcpt))));
    auto it = matrix.find(verb);
    REQUIRE_MESSAGE(it != matrix.end(), "a verb of the table has no expectations here");
    const auto& [line, expected] = it->second;
    for (std::size_t i = 0; i < 4; ++i) {
      CAPTURE(i);
      auto s = in_phase(kCommandPhases[i]);
      auto step = s.on_line(line);
      CHECK(first(step) == expected[i].reply);
      CHECK(s.phase() == expected[i].after);
      CHECK(step.log_line == line);  // none of these arguments is secret
      // The table says where the verb is allowed; elsewhere the reply is its wrong-phase reply.
      CHECK(ServerSession::allowed(row, kCommandPhases[i]) == (expected[i].reply.rfind("503 ", 0) != 0 &&
                                                              expected[i].reply.rfind("554 ", 0) != 0));
    }
    // During DATA and after the end a line is no command: no reply, nothing to log.
    for (Phase p : {Phase::data, Phase::closed}) {
      auto s = in_phase(p);
      auto step = s.on_line(line);
      CHECK(step.replies.empty());
      CHECK(step.log_line.empty());
      CHECK(s.phase() == p);
    }
  }
  CHECK(seen.size() == matrix.size());
  // Every verb the command parser knows has its row.
  for (const auto& [verb, unused] : matrix) CHECK(parse_command(verb).verb != Verb::unknown);
}

TEST_CASE("checks before the phase: STARTTLS and AUTH not offered are refused as such in any phase") {
  for (Phase p : kCommandPhases) {
    CAPTURE(static_cast<int>(p));
    ServerSession plain({"g", "1.2.3.4", false, false, false, false}, {}, kDir);
    if (p != Phase::greeted) REQUIRE(plain.on_line("EHLO c").replies.at(0).code == 250);
    if (p == Phase::mail || p == Phase::rcpt) REQUIRE(plain.on_line("MAIL FROM:<a@example.org>").replies.at(0).code == 250);
    if (p == Phase::rcpt) REQUIRE(plain.on_line("RCPT TO:<usr@gmail.com>").replies.at(0).code == 250);
    CHECK(first(plain.on_line("STARTTLS")) == "502 5.5.1 Error: STARTTLS not available");
    CHECK(first(plain.on_line("AUTH PLAIN")) == "503 5.5.1 Error: authentication not enabled");
    CHECK(first(plain.on_line("STARTTLS now")) == "502 5.5.1 Error: STARTTLS not available");
    auto tls = in_phase(p);
    CHECK(first(tls.on_line("STARTTLS now")) == "501 5.5.4 Syntax: STARTTLS");  // syntax before the phase
  }
}

TEST_CASE("HELP lists STARTTLS and AUTH when they are offered") {
  auto help = [](SessionInfo info) {
    ServerSession s(std::move(info), {}, kDir);
    auto step = s.on_line("HELP");
    REQUIRE(step.replies.size() == 1);
    CHECK(step.replies[0].code == 214);
    return all_lines(step.replies[0]);
  };
  const std::string base = "2.0.0 Commands: HELO EHLO MAIL RCPT DATA|2.0.0 RSET NOOP QUIT VRFY HELP|";
  CHECK(help({"g", "1.2.3.4", false, false, false, false}) == base);  // no certificate, no AUTH
  CHECK(help({"g", "1.2.3.4", false, true, false, false}) == base + "2.0.0 STARTTLS|");
  CHECK(help({"g", "1.2.3.4", false, true, false, true}) == base + "2.0.0 STARTTLS AUTH|");
  CHECK(help({"g", "1.2.3.4", false, true, true, false}) == base + "2.0.0 AUTH|");  // implicit TLS
  ServerSession s({"g", "1.2.3.4", false, true, false, false}, {}, kDir);
  REQUIRE(s.on_line("EHLO c").replies.at(0).code == 250);
  REQUIRE(s.on_line("STARTTLS").effect == Effect::start_tls);
  s.on_tls_started();
  CHECK(all_lines(s.on_line("HELP").replies.at(0)) == base + "2.0.0 AUTH|");  // RFC 3207 4.2: no STARTTLS again
}

TEST_CASE("the EHLO reply is the table's keywords, in its order, each under its condition") {
  struct Variant {
    bool tls_available, tls_active, plaintext_auth;
  };
  for (auto v : {Variant{false, false, false}, Variant{true, false, false}, Variant{true, false, true},
                 Variant{true, true, false}}) {
    CAPTURE(v.tls_available);
    CAPTURE(v.tls_active);
    CAPTURE(v.plaintext_auth);
    ServerSession s({"g", "1.2.3.4", false, v.tls_available, v.tls_active, v.plaintext_auth}, {}, kDir);
    auto step = s.on_line("EHLO c");
    REQUIRE(step.replies.size() == 1);
    // What the table says: every keyword row, STARTTLS before TLS only (RFC 3207 4.2), AUTH under TLS
    // or with allow_plaintext_auth; SIZE carries the limit (RFC 1870).
    std::string want = "g Hello c [1.2.3.4]|";
    for (const auto& row : ServerSession::table()) {
      if (row.keyword.empty()) continue;
      if (row.verb == Verb::starttls && !(v.tls_available && !v.tls_active)) continue;
      if (row.verb == Verb::auth && !(v.tls_active || v.plaintext_auth)) continue;
      want += std::string(row.keyword) + (row.keyword == "SIZE" ? " 33554432" : "") + "|";
    }
    CHECK(all_lines(step.replies[0]) == want);
    CHECK((want.find("|STARTTLS|") != std::string::npos) == (v.tls_available && !v.tls_active));
    CHECK((want.find("|AUTH PLAIN LOGIN|") != std::string::npos) == (v.tls_active || v.plaintext_auth));
    CHECK(want.find("|PIPELINING|SIZE 33554432|8BITMIME|ENHANCEDSTATUSCODES|") != std::string::npos);
  }
  // Keyword rows are not verbs: "PIPELINING" as a command is unknown.
  ServerSession s({"g", "1.2.3.4"}, {}, kDir);
  CHECK(first(s.on_line("PIPELINING")) == "500 5.5.2 Error: command not recognized");
}

TEST_CASE("every secret row's argument is masked in the log line, whatever the phase") {
  int secret_rows = 0;
  for (const auto& row : ServerSession::table()) {
    if (row.verb == Verb::unknown || row.secret == ServerSession::Secret::none) continue;
    ++secret_rows;
    const std::string verb(verb_name(row.verb));
    for (Phase p : kCommandPhases) {
      auto s = in_phase(p);
      auto step = s.on_line(verb + " hunter2");
      CAPTURE(verb);
      CHECK(step.log_line == verb + " ***");
      CHECK(step.log_line.find("hunter2") == std::string::npos);
    }
  }
  CHECK(secret_rows == 1);  // AUTH
}

TEST_CASE("phase changes go through one function: a hook sees each old -> new") {
  std::vector<std::pair<Phase, Phase>> seen;
  ServerSession s(full_info(), {}, kDir);
  s.watch_phases([&seen](Phase from, Phase to) { seen.emplace_back(from, to); });
  s.on_line("NOOP");  // no change: not reported
  s.on_line("EHLO c");
  s.on_line("MAIL FROM:<a@example.org>");
  s.on_line("RCPT TO:<usr@gmail.com>");
  REQUIRE(s.on_line("DATA").effect == Effect::begin_data);
  s.on_data_started(true);
  REQUIRE(s.on_data_line(".", Ending::crlf, false).end);
  REQUIRE(s.end_of_data().effect == Effect::deliver);
  s.on_delivered(std::string("Q1"));
  s.on_line("STARTTLS");
  s.on_tls_started();
  s.on_line("QUIT");
  const std::vector<std::pair<Phase, Phase>> want = {
      {Phase::greeted, Phase::ready}, {Phase::ready, Phase::mail}, {Phase::mail, Phase::rcpt},
      {Phase::rcpt, Phase::data},     {Phase::data, Phase::ready}, {Phase::ready, Phase::greeted},
      {Phase::greeted, Phase::closed}};
  CHECK(seen == want);
  CHECK(std::string(to_string(Phase::rcpt)) == "rcpt");
}

TEST_CASE("the error limit comes from Limits and closes with 421 whichever reply reached it") {
  Limits l;
  l.max_errors = 2;
  ServerSession s(full_info(), l, kDir);
  REQUIRE(s.on_line("EHLO c").replies.at(0).code == 250);
  REQUIRE(s.on_line("AUTH PLAIN").replies.at(0).code == 334);
  REQUIRE(s.on_line("*").replies.at(0).code == 501);  // error 1: cancelled
  REQUIRE(s.on_line("AUTH LOGIN").replies.at(0).code == 334);
  REQUIRE(s.on_line("dXNy").replies.at(0).code == 334);
  auto auth = s.on_line("cGFzcw==");
  REQUIRE(auth.effect == Effect::authenticate);
  auto failed = s.on_auth_result(std::nullopt);  // error 2: the limit
  REQUIRE(failed.replies.size() == 2);
  CHECK(failed.replies[0].code == 535);
  CHECK(failed.replies[1].code == 421);
  CHECK(failed.effect == Effect::close);
  CHECK(s.phase() == Phase::closed);
}

TEST_CASE("MAIL parameters come from the rows of the extensions that define them") {
  // The extension row that advertises a keyword also takes its MAIL parameter: SIZE= (RFC 1870 6)
  // and BODY= (RFC 6152 2); anything no row names is 555 (RFC 5321 4.1.1.11).
  std::map<std::string, std::string> by_param;
  for (const auto& row : ServerSession::table()) {
    if (row.mail_param.empty()) continue;
    CHECK(row.on_mail_param != nullptr);
    CHECK(!row.keyword.empty());  // a parameter is only ever one of an advertised extension
    CHECK(by_param.emplace(std::string(row.mail_param), std::string(row.keyword)).second);
  }
  // Today's two (a new extension adds its own row; this test need not change for it).
  CHECK(by_param["SIZE"] == "SIZE");
  CHECK(by_param["BODY"] == "8BITMIME");
  auto mail = [](const std::string& params) {
    auto s = in_phase(Phase::ready);
    auto step = s.on_line("MAIL FROM:<a@example.org> " + params);
    return std::make_pair(first(step), s);
  };
  CHECK(mail("size=10").first == "250 2.1.0 Ok");  // keywords are case-insensitive
  CHECK(mail("SIZE=x").first == "501 5.5.4 Bad SIZE parameter");
  CHECK(mail("SIZE=33554433").first == "552 5.3.4 Error: message too big");
  CHECK(mail("BODY=9BIT").first == "501 5.5.4 Bad BODY parameter");
  CHECK(mail("XFOO").first == "555 5.5.4 Unsupported parameter: XFOO");
  CHECK(mail("SIZE=10 FOO=1").first == "555 5.5.4 Unsupported parameter: FOO");  // in the order given
  CHECK(mail("FOO=1 SIZE=x").first == "555 5.5.4 Unsupported parameter: FOO");
  auto [reply, s] = mail("BODY=8bitmime SIZE=10");
  CHECK(reply == "250 2.1.0 Ok");
  CHECK(s.envelope().eight_bit);
  CHECK(!mail("BODY=7BIT").second.envelope().eight_bit);
}

TEST_CASE("the listener's refusals before a session are the core's replies too") {
  CHECK(format(ServerSession::too_many_sessions("g")) == "421 4.3.2 g Too many sessions, try again later\r\n");
  CHECK(format(ServerSession::too_many_from_peer("g")) == "421 4.7.0 g Error: too many connections from your address\r\n");
}
