// STARTTLS and AUTH in the SMTP core (RFC 3207, RFC 4954), STLS in the POP3 core (RFC 2595), the
// client side of both, and password checks.
#include <doctest/doctest.h>

#include "pop3/server_session.hpp"
#include "smtp/client_session.hpp"
#include "smtp/server_session.hpp"
#include "util/auth.hpp"
#include "util/text.hpp"

using namespace mail;
using namespace mail::smtp;

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

ServerSession tls_server(bool allow_plaintext = false, bool requires_auth = false) {
  return ServerSession({"gmail.com", "127.0.0.1", requires_auth, true, false, allow_plaintext}, {}, kDir);
}

std::string lines(const Step& s) {
  std::string out;
  for (const auto& r : s.replies) out += format(r);
  return out;
}

std::string b64(std::string_view s) { return util::base64_encode(s); }

}  // namespace

TEST_CASE("STARTTLS: offered before TLS only, resets the session, AUTH offered after it") {
  auto s = tls_server();
  auto ehlo = lines(s.on_line("EHLO c"));
  CHECK(ehlo.find("250 STARTTLS\r\n") != std::string::npos);
  CHECK(ehlo.find("AUTH") == std::string::npos);
  CHECK(lines(s.on_line("AUTH PLAIN " + b64(std::string("\0usr@gmail.com\0pass", 19)))) ==
        "503 5.5.1 Error: authentication not enabled\r\n");
  CHECK(lines(s.on_line("MAIL FROM:<x@y.org>")) == "250 2.1.0 Ok\r\n");
  CHECK(lines(s.on_line("STARTTLS")) == "503 5.5.1 Error: MAIL transaction in progress\r\n");
  s.on_line("RSET");
  CHECK(lines(s.on_line("STARTTLS now")) == "501 5.5.4 Syntax: STARTTLS\r\n");
  auto st = s.on_line("STARTTLS");
  CHECK(lines(st) == "220 2.0.0 Ready to start TLS\r\n");
  CHECK(st.effect == Effect::start_tls);
  s.on_tls_started();
  CHECK(s.tls_active());
  CHECK(s.phase() == Phase::greeted);  // EHLO again
  CHECK(lines(s.on_line("MAIL FROM:<x@y.org>")) == "503 5.5.1 Error: send HELO/EHLO first\r\n");
  auto again = lines(s.on_line("EHLO c"));
  CHECK(again.find("STARTTLS") == std::string::npos);
  CHECK(again.find("250 AUTH PLAIN LOGIN\r\n") != std::string::npos);
  CHECK(lines(s.on_line("STARTTLS")) == "503 5.5.1 Error: TLS already active\r\n");
}

TEST_CASE("no certificate: no STARTTLS; allow_plaintext_auth offers AUTH in the clear") {
  ServerSession plain({"g", "1.2.3.4", false, false, false, false}, {}, kDir);
  CHECK(lines(plain.on_line("EHLO c")).find("STARTTLS") == std::string::npos);
  CHECK(lines(plain.on_line("STARTTLS")) == "502 5.5.1 Error: STARTTLS not available\r\n");
  auto demo = tls_server(true);
  CHECK(lines(demo.on_line("EHLO c")).find("AUTH PLAIN LOGIN") != std::string::npos);
}

TEST_CASE("AUTH PLAIN with and without an initial response; LOGIN in two steps") {
  auto s = tls_server(true);
  s.on_line("EHLO c");
  auto a = s.on_line("AUTH PLAIN " + b64(std::string("\0usr@gmail.com\0pa ss", 20)));
  CHECK(a.effect == Effect::authenticate);
  CHECK(s.auth_user() == "usr@gmail.com");
  CHECK(s.auth_password() == "pa ss");
  CHECK(lines(s.on_auth_result(std::nullopt)) == "535 5.7.8 Error: authentication failed\r\n");
  CHECK(s.auth_password().empty());

  CHECK(lines(s.on_line("AUTH PLAIN")) == "334 \r\n");
  CHECK(s.expects_secret());
  CHECK(s.on_line(b64(std::string("\0usr@gmail.com\0pass", 19))).effect == Effect::authenticate);
  CHECK(lines(s.on_auth_result(std::string("usr@gmail.com"))) == "235 2.7.0 Authentication successful\r\n");
  CHECK(s.authenticated() == std::string("usr@gmail.com"));
  CHECK(lines(s.on_line("AUTH PLAIN x")) == "503 5.5.1 Error: already authenticated\r\n");

  auto t = tls_server(true);
  t.on_line("EHLO c");
  CHECK(lines(t.on_line("AUTH LOGIN")) == "334 VXNlcm5hbWU6\r\n");
  CHECK(lines(t.on_line(b64("usr@gmail.com"))) == "334 UGFzc3dvcmQ6\r\n");
  CHECK(t.expects_secret());
  CHECK(t.on_line(b64("pass")).effect == Effect::authenticate);
  CHECK(t.auth_user() == "usr@gmail.com");
  CHECK(t.auth_password() == "pass");
  auto u = tls_server(true);
  u.on_line("EHLO c");
  CHECK(lines(u.on_line("AUTH LOGIN " + b64("usr@gmail.com"))) == "334 UGFzc3dvcmQ6\r\n");  // initial response
}

TEST_CASE("bad SASL data: bad base64, wrong shapes, embedded NULs, cancel, unknown mechanism") {
  auto s = tls_server(true);
  s.on_line("EHLO c");
  CHECK(lines(s.on_line("AUTH PLAIN !!!")) == "501 5.5.2 Cannot decode response\r\n");
  CHECK(lines(s.on_line("AUTH PLAIN " + b64("no nuls at all"))) == "501 5.5.2 Cannot decode response\r\n");
  CHECK(lines(s.on_line("AUTH PLAIN " + b64(std::string("\0\0pw", 4)))) == "501 5.5.2 Cannot decode response\r\n");
  CHECK(lines(s.on_line("AUTH PLAIN " + b64(std::string("a\0b\0c\0d", 7)))) == "501 5.5.2 Cannot decode response\r\n");
  CHECK(lines(s.on_line("AUTH PLAIN " + b64(std::string("admin\0usr@gmail.com\0p", 22)))) ==
        "501 5.5.2 Cannot decode response\r\n");  // no authorization as someone else
  CHECK(lines(s.on_line("AUTH LOGIN")) == "334 VXNlcm5hbWU6\r\n");
  CHECK(lines(s.on_line(b64(std::string("us\0er", 5)))) == "501 5.5.2 Cannot decode response\r\n");
  CHECK(lines(s.on_line("AUTH LOGIN")) == "334 VXNlcm5hbWU6\r\n");
  CHECK(lines(s.on_line("*")) == "501 5.0.0 Authentication aborted\r\n");
  CHECK_FALSE(s.expects_secret());
  CHECK(lines(s.on_line("AUTH CRAM-MD5")) == "504 5.5.4 Unrecognized authentication type\r\n");
  CHECK(lines(s.on_line("NOOP")) == "250 2.0.0 Ok\r\n");  // the session goes on
}

TEST_CASE("submission_requires_auth: AUTH first, then only one's own address") {
  auto s = tls_server(true, true);
  s.on_line("EHLO c");
  CHECK(lines(s.on_line("MAIL FROM:<usr@gmail.com>")) == "530 5.7.0 Authentication required\r\n");
  s.on_line("AUTH PLAIN " + b64(std::string("\0usr@gmail.com\0pass", 19)));
  s.on_auth_result(std::string("usr@gmail.com"));
  CHECK(lines(s.on_line("MAIL FROM:<other@gmail.com>")) == "553 5.7.1 Sender address rejected: not owned by user\r\n");
  CHECK(lines(s.on_line("MAIL FROM:<usr@gmail.com>")) == "250 2.1.0 Ok\r\n");
  CHECK(lines(s.on_line("RCPT TO:<anyone@yahoo.com>")) == "250 2.1.5 Ok\r\n");
}

TEST_CASE("POP3 STLS: listed before TLS only, a fresh AUTHORIZATION after it, SASL PLAIN under TLS") {
  pop3::ServerSession p({"g", false, 20, true, false});
  auto capa = p.on_line("CAPA").out;
  CHECK(capa.find("STLS\r\n") != std::string::npos);
  CHECK(capa.find("SASL PLAIN") == std::string::npos);
  CHECK(p.on_line("USER usr@gmail.com").out == "+OK send PASS\r\n");
  auto st = p.on_line("STLS");
  CHECK(st.out == "+OK Begin TLS negotiation\r\n");
  CHECK(st.effect == pop3::Effect::start_tls);
  p.on_tls_started();
  CHECK(p.tls_active());
  CHECK(p.on_line("PASS pass").out == "-ERR USER first\r\n");  // the USER sent in the clear is forgotten
  auto after = p.on_line("CAPA").out;
  CHECK(after.find("STLS") == std::string::npos);
  CHECK(after.find("SASL PLAIN") != std::string::npos);
  CHECK(p.on_line("STLS").out == "-ERR TLS already active\r\n");
  pop3::ServerSession none({"g", false, 20, false, false});
  CHECK(none.on_line("STLS").out == "-ERR STLS not available\r\n");
}

TEST_CASE("the client side: STARTTLS, EHLO again, AUTH PLAIN or LOGIN") {
  ClientSession c("me");
  ReplyParser rp;
  auto feed = [&](const std::string& text) {
    std::optional<Reply> r;
    std::size_t pos = 0;
    while (pos < text.size()) {
      auto end = text.find("\r\n", pos);
      r = rp.feed(std::string_view(text).substr(pos, end - pos));
      pos = end + 2;
    }
    return c.on_reply(*r);
  };
  feed("220 hi\r\n");
  CHECK(feed("250-x\r\n250-STARTTLS\r\n250 SIZE 10\r\n").event == ClientEvent::ready);
  CHECK(c.offers_starttls());
  CHECK_FALSE(c.offers_auth());
  CHECK(c.starttls() == "STARTTLS\r\n");
  CHECK(feed("220 go\r\n").event == ClientEvent::tls);
  CHECK(c.restart() == "EHLO me\r\n");
  CHECK_FALSE(c.size_limit());  // what the server said before TLS is forgotten
  CHECK(feed("250-x\r\n250 AUTH LOGIN\r\n").event == ClientEvent::ready);
  CHECK(c.authenticate("u", "p") == "AUTH LOGIN\r\n");
  CHECK(feed("334 VXNlcm5hbWU6\r\n").out == util::base64_encode("u") + "\r\n");
  CHECK(feed("334 UGFzc3dvcmQ6\r\n").out == util::base64_encode("p") + "\r\n");
  CHECK(feed("235 ok\r\n").event == ClientEvent::auth_done);
  CHECK(c.authenticated());

  ClientSession d("me");
  d.on_reply(reply(220, "hi"));
  d.on_reply(Reply{250, {"x", "AUTH PLAIN LOGIN"}});
  CHECK(d.authenticate("u", "p") == "AUTH PLAIN " + util::base64_encode(std::string("\0u\0p", 4)) + "\r\n");
  CHECK(d.on_reply(reply(535, "5.7.8 no")).event == ClientEvent::auth_done);
  CHECK_FALSE(d.authenticated());
  CHECK(d.failure().code == 535);
  CHECK(d.starttls() == "STARTTLS\r\n");
  CHECK(d.on_reply(reply(454, "4.7.0 TLS not available")).event == ClientEvent::ready);  // refused: go on in the clear
}

TEST_CASE("password checks: plaintext, {PLAIN}, crypt hashes, unknown schemes") {
  CHECK(util::verify_password("pass1", "pass1"));
  CHECK_FALSE(util::verify_password("pass1", "pass2"));
  CHECK(util::verify_password("{PLAIN}secret", "secret"));
  CHECK_FALSE(util::verify_password("{PLAIN}secret", "{PLAIN}secret"));
  auto h = util::hash_password("s3cret pw");
  CHECK(h.rfind("{SHA512-CRYPT}$6$", 0) == 0);
  CHECK(util::verify_password(h, "s3cret pw"));
  CHECK_FALSE(util::verify_password(h, "s3cret"));
  CHECK(util::hash_password("x") != util::hash_password("x"));  // salted
  // crypt(3) of "pass" with salt "saltsalt", as Python's crypt module and doveadm pw write it.
  CHECK(util::verify_password("{SHA512-CRYPT}$6$saltsalt$KN.twvCyfwE67paW76hS2/bacYkY9PxIhxqYG9vL5bZmIwWBGDJ6mu4HlCosKUBfQwVXKXxXVXPcqdwd1Ip0X/", "pass"));
  CHECK_FALSE(util::verify_password("{ARGON9}whatever", "whatever"));
}

TEST_CASE("a login the throttle refuses says 'try again later' and nothing about the password") {
  auto s = tls_server(true);
  s.on_line("EHLO c");
  REQUIRE(s.on_line("AUTH PLAIN " + b64(std::string("\0usr@gmail.com\0pass", 19))).effect == Effect::authenticate);
  CHECK(lines(s.on_auth_result(std::string("usr@gmail.com"), true)) ==
        "454 4.7.0 Temporary authentication failure, try again later\r\n");
  CHECK_FALSE(s.authenticated());
  CHECK(s.auth_password().empty());
  CHECK(lines(s.on_line("MAIL FROM:<usr@gmail.com>")) == "250 2.1.0 Ok\r\n");  // the session goes on

  pop3::ServerSession p({"g", false, 20});
  p.on_line("USER usr@gmail.com");
  REQUIRE(p.on_line("PASS pass").effect == pop3::Effect::login);
  CHECK(p.on_login(pop3::LoginResult::throttled).out == "-ERR [SYS/TEMP] too many failed logins, try again later\r\n");
  CHECK(p.login_password().empty());
  CHECK(p.phase() == pop3::Phase::authorization);
}
