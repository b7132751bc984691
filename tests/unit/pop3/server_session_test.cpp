#include "pop3/server_session.hpp"

#include <doctest/doctest.h>

#include "util/auth.hpp"

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

ServerSession logged_in(bool sasl = false) {
  ServerSession s({"gmail.com", sasl, 20});
  REQUIRE(s.on_line("USER usr@gmail.com").out == "+OK send PASS\r\n");
  auto st = s.on_line("PASS pass");
  REQUIRE(st.effect == Effect::login);
  REQUIRE(s.on_login(LoginResult::ok, three()).out == "+OK maildrop has 3 messages (167 octets)\r\n");
  return s;
}

std::string say(ServerSession& s, std::string_view line) { return s.on_line(line).out; }

}  // namespace

TEST_CASE("AUTHORIZATION: greeting, USER/PASS, credentials handed to the driver and then forgotten") {
  ServerSession s({"gmail.com", false, 20});
  CHECK(s.greeting() == "+OK gmail.com POP3 server ready\r\n");
  CHECK(say(s, "PASS x") == "-ERR USER first\r\n");
  CHECK(say(s, "USER") == "-ERR missing user name\r\n");
  CHECK(say(s, "STAT") == "-ERR command not valid in this state\r\n");
  CHECK(say(s, "user usr@gmail.com") == "+OK send PASS\r\n");
  auto st = s.on_line("pass two words");
  CHECK(st.effect == Effect::login);
  CHECK(st.out.empty());
  CHECK(s.login_user() == "usr@gmail.com");
  CHECK(s.login_password() == "two words");
  CHECK(s.on_login(LoginResult::bad_credentials).out == "-ERR [AUTH] invalid user name or password\r\n");
  CHECK(s.login_password().empty());
  CHECK(s.login_user().empty());
  CHECK(s.phase() == Phase::authorization);
  CHECK(say(s, "PASS again") == "-ERR USER first\r\n");  // USER must come again after a failure
  CHECK(say(s, "USER usr@gmail.com") == "+OK send PASS\r\n");
  CHECK(s.on_line("PASS x").effect == Effect::login);
  CHECK(s.on_login(LoginResult::in_use).out == "-ERR [IN-USE] maildrop already locked by another session\r\n");
  CHECK(say(s, "USER usr@gmail.com") == "+OK send PASS\r\n");
  CHECK(s.on_line("PASS x").effect == Effect::login);
  CHECK(s.on_login(LoginResult::failed).out.rfind("-ERR [SYS/TEMP] ", 0) == 0);
  auto q = s.on_line("QUIT");
  CHECK(q.out == "+OK gmail.com POP3 server signing off\r\n");
  CHECK(q.effect == Effect::close);
}

TEST_CASE("CAPA lists AUTH PLAIN only when offered") {
  ServerSession s({"g", false, 20});
  auto capa = say(s, "CAPA");
  CHECK(capa == "+OK Capability list follows\r\nUSER\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
                "IMPLEMENTATION mailworld\r\n.\r\n");
  CHECK(say(s, "AUTH PLAIN") == "-ERR unsupported authentication mechanism\r\n");
  ServerSession t({"g", true, 20});
  CHECK(say(t, "CAPA").find("SASL PLAIN\r\n") != std::string::npos);
  CHECK(say(t, "STLS") == "-ERR STLS not available\r\n");
}

TEST_CASE("AUTH PLAIN with and without an initial response; * cancels; bad data is refused") {
  ServerSession s({"g", true, 20});
  auto ir = util::base64_encode(std::string("\0usr@gmail.com\0pass", 19));
  auto st = s.on_line("AUTH PLAIN " + ir);
  CHECK(st.effect == Effect::login);
  CHECK(s.login_user() == "usr@gmail.com");
  CHECK(s.login_password() == "pass");
  CHECK(s.on_login(LoginResult::bad_credentials).out.rfind("-ERR [AUTH]", 0) == 0);

  CHECK(say(s, "AUTH PLAIN") == "+ \r\n");
  CHECK(s.expects_secret());
  CHECK(s.on_line(ir).effect == Effect::login);
  CHECK_FALSE(s.expects_secret());
  CHECK(s.on_login(LoginResult::bad_credentials).out.rfind("-ERR", 0) == 0);

  CHECK(say(s, "AUTH PLAIN") == "+ \r\n");
  CHECK(say(s, "*") == "-ERR authentication cancelled\r\n");
  CHECK(say(s, "AUTH PLAIN !!notbase64") == "-ERR [AUTH] invalid authentication data\r\n");
  CHECK(say(s, "AUTH PLAIN " + util::base64_encode("no nul here")) == "-ERR [AUTH] invalid authentication data\r\n");
  auto other = util::base64_encode(std::string("admin\0usr@gmail.com\0pass", 24));
  CHECK(say(s, "AUTH PLAIN " + other) == "-ERR [AUTH] invalid authentication data\r\n");  // no proxying
  CHECK(say(s, "AUTH CRAM-MD5") == "-ERR unsupported authentication mechanism\r\n");
}

TEST_CASE("TRANSACTION: STAT, LIST, UIDL with and without a number") {
  auto s = logged_in();
  CHECK(say(s, "STAT") == "+OK 3 167\r\n");
  CHECK(say(s, "LIST") == "+OK 3 messages (167 octets)\r\n1 104\r\n2 52\r\n3 11\r\n.\r\n");
  CHECK(say(s, "LIST 2") == "+OK 2 52\r\n");
  CHECK(say(s, "LIST 4") == "-ERR no such message\r\n");
  CHECK(say(s, "LIST 0") == "-ERR no such message\r\n");
  CHECK(say(s, "LIST x") == "-ERR invalid message number\r\n");
  CHECK(say(s, "LIST -1") == "-ERR invalid message number\r\n");
  CHECK(say(s, "UIDL") == "+OK\r\n1 1795316797.M1P1Q1.vm\r\n2 1795316798.M2P1Q2.vm\r\n3 1795316799.M3P1Q3.vm\r\n.\r\n");
  CHECK(say(s, "UIDL 3") == "+OK 3 1795316799.M3P1Q3.vm\r\n");
  CHECK(say(s, "NOOP") == "+OK\r\n");
  CHECK(say(s, "USER x") == "-ERR command not valid in this state\r\n");
  CHECK(say(s, "XYZZY") == "-ERR unknown command\r\n");
}

TEST_CASE("RETR and TOP: the octet count from the listing, the message streamed by the driver") {
  auto s = logged_in();
  auto r = s.on_line("RETR 1");
  CHECK(r.out == "+OK 104 octets\r\n");
  CHECK(r.effect == Effect::send);
  CHECK(s.send_index() == 0);
  CHECK_FALSE(s.send_body_lines());
  auto t = s.on_line("TOP 2 5");
  CHECK(t.out == "+OK top of message follows\r\n");
  CHECK(t.effect == Effect::send);
  CHECK(s.send_index() == 1);
  CHECK(s.send_body_lines() == 5u);
  CHECK(s.on_line("TOP 2 0").effect == Effect::send);
  CHECK(say(s, "TOP 2") == "-ERR Syntax: TOP message lines\r\n");
  CHECK(say(s, "TOP 2 x") == "-ERR invalid number of lines\r\n");
  CHECK(say(s, "RETR 9") == "-ERR no such message\r\n");
}

TEST_CASE("DELE marks, hides and refuses; RSET unmarks; QUIT asks to remove what is marked") {
  auto s = logged_in();
  CHECK(say(s, "DELE 2") == "+OK message 2 deleted\r\n");
  CHECK(say(s, "DELE 2") == "-ERR message is deleted\r\n");
  CHECK(say(s, "STAT") == "+OK 2 115\r\n");
  CHECK(say(s, "LIST") == "+OK 2 messages (115 octets)\r\n1 104\r\n3 11\r\n.\r\n");
  CHECK(say(s, "LIST 2") == "-ERR message is deleted\r\n");
  CHECK(say(s, "RETR 2") == "-ERR message is deleted\r\n");
  CHECK(say(s, "TOP 2 1") == "-ERR message is deleted\r\n");
  CHECK(say(s, "UIDL") == "+OK\r\n1 1795316797.M1P1Q1.vm\r\n3 1795316799.M3P1Q3.vm\r\n.\r\n");
  CHECK(say(s, "RSET") == "+OK maildrop has 3 messages (167 octets)\r\n");
  CHECK(say(s, "RETR 2").rfind("+OK 52 octets", 0) == 0);
  CHECK(say(s, "DELE 1") == "+OK message 1 deleted\r\n");
  CHECK(say(s, "DELE 3") == "+OK message 3 deleted\r\n");
  CHECK(s.deleted() == std::vector<std::size_t>{0, 2});
  auto q = s.on_line("QUIT");
  CHECK(q.effect == Effect::update);
  CHECK(s.phase() == Phase::update);
  CHECK(s.on_line("NOOP").out.empty());  // no commands in UPDATE
  auto done = s.on_updated(true);
  CHECK(done.out == "+OK gmail.com POP3 server signing off (1 messages left)\r\n");
  CHECK(done.effect == Effect::close);
  auto t = logged_in();
  t.on_line("DELE 1");
  t.on_line("QUIT");
  CHECK(t.on_updated(false).out == "-ERR [SYS/TEMP] some deleted messages not removed\r\n");
  // Removed first by another client (Dovecot, mutt): gone as asked, but not claimed as ours.
  auto u = logged_in();
  u.on_line("DELE 1");
  u.on_line("DELE 2");
  u.on_line("QUIT");
  CHECK(u.on_updated(true, 1).out ==
        "+OK gmail.com POP3 server signing off (1 messages left; 1 deleted message had already been removed by another client)\r\n");
  auto v = logged_in();
  v.on_line("DELE 1");
  v.on_line("QUIT");
  CHECK(v.on_updated(false, 1).out == "-ERR [SYS/TEMP] some deleted messages not removed\r\n");
}

TEST_CASE("timeouts and shutdowns say -ERR and remove nothing") {
  auto s = logged_in();
  s.on_line("DELE 1");
  auto t = s.on_timeout();
  CHECK(t.out == "-ERR timeout, closing (nothing was deleted)\r\n");
  CHECK(t.effect == Effect::close);
  auto u = logged_in();
  CHECK(u.on_shutdown().out == "-ERR gmail.com POP3 server shutting down (nothing was deleted)\r\n");
}

TEST_CASE("overlong lines and too many errors") {
  ServerSession s({"g", false, 3});
  CHECK(s.on_line("", true).out == "-ERR line too long\r\n");
  CHECK(say(s, "BOGUS") == "-ERR unknown command\r\n");
  auto last = s.on_line("BOGUS");
  CHECK(last.out == "-ERR unknown command\r\n-ERR too many errors, closing\r\n");
  CHECK(last.effect == Effect::close);
}

TEST_CASE("a listing packs names: uid is a prefix, octets per message") {
  auto l = three();
  CHECK(l.size() == 3);
  CHECK(l.uid(1) == "1795316798.M2P1Q2.vm");
  CHECK(l.name(2) == "1795316799.M3P1Q3.vm,S=10,W=11:2,S");
  CHECK(l.octets(0) == 104);
  Listing big;
  big.reserve(1000, 45000);
  for (int i = 0; i < 1000; ++i) big.add("1795316797.M" + std::to_string(i) + "P1234Q" + std::to_string(i) + ".vm,S=2048,W=2079:2,", 28, 2079);
  CHECK(big.memory() < 64 * 1000);  // the memory goal: under 64 octets per message
}
