// The POP3 verb table (issue 11, "one row per verb"): every verb in every state, CAPA as the table
// offers it, log masking of every secret row, and state changes seen through the one function that
// makes them.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <utility>

#include "pop3/server_session.hpp"

using namespace mail;
using namespace mail::pop3;

namespace {

Listing three() {
  Listing l;
  l.add("1795316797.M1P1Q1.vm,S=100,W=104:2,", 20, 104);
  l.add("1795316798.M2P1Q2.vm,S=50,W=52:2,", 20, 52);
  l.add("1795316799.M3P1Q3.vm,S=10,W=11:2,S", 20, 11);
  return l;
}

// STLS available and AUTH PLAIN offered in the clear, so that every verb can succeed.
Options full() { return {"g", true, 20, true, false}; }

ServerSession in_phase(Phase p) {
  ServerSession s(full());
  if (p == Phase::authorization) return s;
  if (p == Phase::closed) {
    REQUIRE(s.on_line("QUIT").effect == Effect::close);
    return s;
  }
  REQUIRE(s.on_line("USER usr@gmail.com").out == "+OK send PASS\r\n");
  REQUIRE(s.on_line("PASS pass").effect == Effect::login);
  REQUIRE(s.on_login(LoginResult::ok, three()).out.rfind("+OK ", 0) == 0);
  if (p == Phase::transaction) return s;
  REQUIRE(s.on_line("QUIT").effect == Effect::update);
  REQUIRE(s.phase() == Phase::update);
  return s;
}

// The first line of the reply, or "[effect]" for a step that has none yet.
std::string first(const Step& step) {
  if (step.out.empty()) return step.effect == Effect::update ? "[update]" : step.effect == Effect::login ? "[login]" : "";
  return step.out.substr(0, step.out.find("\r\n"));
}

struct Expect {
  std::string reply;
  Phase after;
};

}  // namespace

TEST_CASE("every POP3 verb of the table in every state: the reply and the state after it") {
  const std::string wrong = "-ERR command not valid in this state";
  const auto A = Phase::authorization;
  const auto T = Phase::transaction;
  // verb -> the line sent -> {AUTHORIZATION, TRANSACTION}: {first reply line, state after}
  const std::map<std::string, std::pair<std::string, std::vector<Expect>>> matrix = {
      {"USER", {"USER usr@gmail.com", {{"+OK send PASS", A}, {wrong, T}}}},
      {"PASS", {"PASS pass", {{"-ERR USER first", A}, {wrong, T}}}},
      {"AUTH", {"AUTH PLAIN", {{"+ ", A}, {wrong, T}}}},
      {"STLS", {"STLS", {{"+OK Begin TLS negotiation", A}, {wrong, T}}}},
      {"CAPA", {"CAPA", {{"+OK Capability list follows", A}, {"+OK Capability list follows", T}}}},
      {"QUIT", {"QUIT", {{"+OK g POP3 server signing off", Phase::closed}, {"[update]", Phase::update}}}},
      {"STAT", {"STAT", {{wrong, A}, {"+OK 3 167", T}}}},
      {"LIST", {"LIST", {{wrong, A}, {"+OK 3 messages (167 octets)", T}}}},
      {"UIDL", {"UIDL", {{wrong, A}, {"+OK", T}}}},
      {"RETR", {"RETR 1", {{wrong, A}, {"+OK 104 octets", T}}}},
      {"TOP", {"TOP 1 0", {{wrong, A}, {"+OK top of message follows", T}}}},
      {"DELE", {"DELE 1", {{wrong, A}, {"+OK message 1 deleted", T}}}},
      {"NOOP", {"NOOP", {{wrong, A}, {"+OK", T}}}},
      {"RSET", {"RSET", {{wrong, A}, {"+OK maildrop has 3 messages (167 octets)", T}}}},
  };
  std::set<std::string> seen;
  for (const auto& row : ServerSession::table()) {
    if (row.verb.empty()) continue;  // a CAPA line without a verb
    const std::string verb(row.verb);
    CAPTURE(verb);
    CHECK(seen.insert(verb).second);  // one row per verb
    auto it = matrix.find(verb);
    REQUIRE_MESSAGE(it != matrix.end(), "a verb of the table has no expectations here");
    const auto& [line, expected] = it->second;
    const Phase phases[] = {A, T};
    for (std::size_t i = 0; i < 2; ++i) {
      CAPTURE(i);
      auto s = in_phase(phases[i]);
      auto step = s.on_line(line);
      CHECK(first(step) == expected[i].reply);
      CHECK(s.phase() == expected[i].after);
      CHECK(ServerSession::allowed(row, phases[i]) == (expected[i].reply != wrong));
    }
    // In UPDATE (removing) and after the end a line is no command: no reply, nothing to log.
    for (Phase p : {Phase::update, Phase::closed}) {
      auto s = in_phase(p);
      auto step = s.on_line(line);
      CHECK(step.out.empty());
      CHECK(step.effect == Effect::none);
      CHECK(step.log_line.empty());
    }
  }
  CHECK(seen.size() == matrix.size());
}

TEST_CASE("CAPA is the table's lines, in its order, each under its condition") {
  const std::string head = "+OK Capability list follows\r\nUSER\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n";
  const std::string tail = "IMPLEMENTATION mailworld\r\n.\r\n";
  ServerSession s(full());
  CHECK(s.on_line("CAPA").out == head + "STLS\r\nSASL PLAIN\r\n" + tail);
  ServerSession no_tls({"g", false, 20, false, false});
  CHECK(no_tls.on_line("CAPA").out == head + tail);
  auto t = in_phase(Phase::transaction);
  CHECK(t.on_line("CAPA").out == head + "SASL PLAIN\r\n" + tail);  // STLS only in AUTHORIZATION
  ServerSession tls({"g", false, 20, true, false});
  REQUIRE(tls.on_line("STLS").effect == Effect::start_tls);
  tls.on_tls_started();
  CHECK(tls.on_line("CAPA").out == head + "SASL PLAIN\r\n" + tail);
  // CAPA lines are not verbs.
  CHECK(s.on_line("PIPELINING").out == "-ERR unknown command\r\n");
}

TEST_CASE("every secret POP3 row's argument is masked in the log line, in either state") {
  int secret_rows = 0;
  for (const auto& row : ServerSession::table()) {
    if (row.verb.empty() || row.secret == ServerSession::Secret::none) continue;
    ++secret_rows;
    const std::string verb(row.verb);
    for (Phase p : {Phase::authorization, Phase::transaction}) {
      auto s = in_phase(p);
      auto step = s.on_line(verb + " hunter2");
      CAPTURE(verb);
      CHECK(step.log_line == verb + " ***");
    }
  }
  CHECK(secret_rows == 3);  // USER, PASS, AUTH
}

TEST_CASE("POP3 state changes go through one function: a hook sees each old -> new") {
  std::vector<std::pair<Phase, Phase>> seen;
  ServerSession s(full());
  s.watch_phases([&seen](Phase from, Phase to) { seen.emplace_back(from, to); });
  s.on_line("USER usr@gmail.com");
  s.on_line("PASS x");
  s.on_login(LoginResult::bad_credentials);  // no change
  s.on_line("USER usr@gmail.com");
  s.on_line("PASS pass");
  s.on_login(LoginResult::ok, three());
  s.on_line("DELE 1");
  REQUIRE(s.on_line("QUIT").effect == Effect::update);
  s.on_updated(true);
  const std::vector<std::pair<Phase, Phase>> want = {
      {Phase::authorization, Phase::transaction}, {Phase::transaction, Phase::update}, {Phase::update, Phase::closed}};
  CHECK(seen == want);
  CHECK(std::string(to_string(Phase::transaction)) == "transaction");
}

TEST_CASE("the POP3 error limit closes whichever reply reached it, a failed login included") {
  ServerSession s({"g", false, 2});
  CHECK(s.on_line("BOGUS").out == "-ERR unknown command\r\n");
  s.on_line("USER usr@gmail.com");
  REQUIRE(s.on_line("PASS x").effect == Effect::login);
  auto last = s.on_login(LoginResult::bad_credentials);
  CHECK(last.out == "-ERR [AUTH] invalid user name or password\r\n-ERR too many errors, closing\r\n");
  CHECK(last.effect == Effect::close);
  CHECK(s.phase() == Phase::closed);
}

TEST_CASE("RETR of a message removed behind the session's back: the core's reply, not the driver's") {
  auto s = in_phase(Phase::transaction);
  auto step = s.on_line("RETR 2");
  REQUIRE(step.effect == Effect::send);
  CHECK(s.on_send_failed(SendFailure::gone).out == "-ERR message 2 was removed by another client\r\n");
  CHECK(s.phase() == Phase::transaction);
  s.on_line("TOP 3 0");
  CHECK(s.on_send_failed(SendFailure::unreadable).out == "-ERR [SYS/TEMP] message 3 cannot be read, try again later\r\n");
}

TEST_CASE("the listener's refusals before a session are the core's replies too") {
  CHECK(ServerSession::too_many_sessions("g") == "-ERR [SYS/TEMP] g too many sessions, try again later\r\n");
  CHECK(ServerSession::too_many_from_peer("g") == "-ERR [SYS/TEMP] g too many connections from your address\r\n");
}
