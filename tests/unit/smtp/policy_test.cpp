// Who may send what (issue 10, defects 3 and 12): sender ownership compares addresses (local part
// exact, domain in any case), duplicate recipients are the same address, and the three listeners
// (the course's SMTP port, an MX-only port, an RFC 6409 submission port) apply their own rules.
#include <doctest/doctest.h>

#include "smtp/server_session.hpp"
#include "util/text.hpp"

using namespace mail;
using namespace mail::smtp;

namespace {

// The course's accounts on exmail.qq.com: local parts exact, the domain in any case.
class CourseDirectory final : public Directory {
 public:
  bool is_local(std::string_view d) const override { return util::iequals(d, "mail.sustech.edu.cn"); }
  std::optional<std::string> account(std::string_view a) const override {
    for (const char* acc : {"usr1@mail.sustech.edu.cn", "usr2@mail.sustech.edu.cn", "Usr1@mail.sustech.edu.cn"}) {
      std::string_view s(acc);
      auto at = s.rfind('@');
      if (a.size() == s.size() && a.substr(0, at) == s.substr(0, at) && util::iequals(a.substr(at), s.substr(at)))
        return std::string(acc);
    }
    return std::nullopt;
  }
};
const CourseDirectory kDir;

ServerSession session(Listener listener = Listener::smtp) {
  SessionInfo info{"exmail.qq.com", "127.0.0.1", false, true, true, false};
  info.listener = listener;
  return ServerSession(info, {}, kDir);
}

std::string say(ServerSession& s, std::string_view line) {
  auto step = s.on_line(line);
  std::string out;
  for (const auto& r : step.replies) out += (out.empty() ? "" : " | ") + std::to_string(r.code) + " " + r.lines.front();
  return out;
}

// AUTH PLAIN as `account` (the driver's check said yes).
void login(ServerSession& s, const std::string& account) {
  REQUIRE(s.on_line("AUTH PLAIN AHVzcjEAcGFzczE=").effect == Effect::authenticate);
  REQUIRE(s.on_auth_result(account).replies.at(0).code == 235);
}

constexpr const char* kNotOwned = "553 5.7.1 Sender address rejected: not owned by user";
constexpr const char* kRelayDenied = "550 5.7.1 Relay access denied";
constexpr const char* kAuthRequired = "530 5.7.0 Authentication required";

}  // namespace

TEST_CASE("defect 3: an authenticated sender owns its address, local part exact, domain in any case") {
  for (auto listener : {Listener::smtp, Listener::mx_only, Listener::submission}) {
    CAPTURE(static_cast<int>(listener));
    auto s = session(listener);
    say(s, "EHLO c");
    login(s, "usr1@mail.sustech.edu.cn");
    CHECK(say(s, "MAIL FROM:<Usr1@mail.sustech.edu.cn>") == kNotOwned);  // another account
    CHECK(say(s, "MAIL FROM:<USR1@mail.sustech.edu.cn>") == kNotOwned);  // no account at all
    CHECK(say(s, "MAIL FROM:<usr2@mail.sustech.edu.cn>") == kNotOwned);
    CHECK(say(s, "MAIL FROM:<usr1@example.org>") == kNotOwned);
    CHECK(say(s, "MAIL FROM:<usr1@MAIL.Sustech.EDU.cn>") == "250 2.1.0 Ok");
    say(s, "RSET");
    CHECK(say(s, "MAIL FROM:<\"usr1\"@mail.sustech.edu.cn>") == "250 2.1.0 Ok");  // the same mailbox, quoted
    say(s, "RSET");
    CHECK(say(s, "MAIL FROM:<usr1@mail.sustech.edu.cn>") == "250 2.1.0 Ok");
  }
}

TEST_CASE("defect 3: duplicate recipients are the same address, not the same letters in any case") {
  auto s = session();
  say(s, "EHLO c");
  REQUIRE(say(s, "MAIL FROM:<usr1@mail.sustech.edu.cn>") == "250 2.1.0 Ok");
  for (const char* to : {"<bob@yahoo.com>", "<Bob@yahoo.com>", "<bob@YAHOO.com>", "<\"bob\"@yahoo.com>",
                         "<usr1@mail.sustech.edu.cn>", "<usr1@MAIL.sustech.edu.cn>", "<Usr1@mail.sustech.edu.cn>"})
    CHECK(say(s, std::string("RCPT TO:") + to) == "250 2.1.5 Ok");
  CHECK(s.envelope().remote == std::vector<std::string>{"bob@yahoo.com", "Bob@yahoo.com"});
  CHECK(s.envelope().local == std::vector<std::string>{"usr1@mail.sustech.edu.cn", "Usr1@mail.sustech.edu.cn"});
}

TEST_CASE("defect 12: the course's SMTP port relays for a local sender without AUTH (its rule, kept)") {
  auto s = session(Listener::smtp);
  say(s, "EHLO c");
  CHECK(say(s, "MAIL FROM:<usr1@mail.sustech.edu.cn>") == "250 2.1.0 Ok");
  CHECK(say(s, "RCPT TO:<usr@gmail.com>") == "250 2.1.5 Ok");
  CHECK(s.envelope().remote == std::vector<std::string>{"usr@gmail.com"});
  say(s, "RSET");
  CHECK(say(s, "MAIL FROM:<someone@yahoo.com>") == "250 2.1.0 Ok");
  CHECK(say(s, "RCPT TO:<usr@gmail.com>") == kRelayDenied);
}

TEST_CASE("defect 12: an MX-only port takes mail for local accounts only and never relays, whoever sends") {
  for (const char* from : {"<usr1@mail.sustech.edu.cn>", "<someone@yahoo.com>", "<>"}) {
    CAPTURE(from);
    auto s = session(Listener::mx_only);
    say(s, "EHLO c");
    CHECK(say(s, std::string("MAIL FROM:") + from) == "250 2.1.0 Ok");
    CHECK_FALSE(s.envelope().submission);
    for (const char* to : {"<usr@gmail.com>", "<usr@GMAIL.COM>", "<@mail.sustech.edu.cn:usr@gmail.com>", "<usr@[127.0.0.1]>"})
      CHECK(say(s, std::string("RCPT TO:") + to) == kRelayDenied);
    CHECK(say(s, "RCPT TO:<usr%gmail.com@mail.sustech.edu.cn>") == "550 5.1.1 Recipient address rejected: user unknown");
    CHECK(say(s, "RCPT TO:<\"usr@gmail.com\"@mail.sustech.edu.cn>") == "550 5.1.1 Recipient address rejected: user unknown");
    CHECK(say(s, "RCPT TO:<usr@gmail.com.>") == "501 5.5.4 Bad address syntax");
    CHECK(say(s, "RCPT TO:<usr2@MAIL.sustech.edu.cn>") == "250 2.1.5 Ok");
    CHECK(s.envelope().remote.empty());
    CHECK(s.envelope().local == std::vector<std::string>{"usr2@mail.sustech.edu.cn"});
  }
  SUBCASE("a local sender must still exist") {
    auto s = session(Listener::mx_only);
    say(s, "EHLO c");
    CHECK(say(s, "MAIL FROM:<ghost@mail.sustech.edu.cn>") == "550 5.1.0 Sender address rejected: user unknown");
  }
  SUBCASE("AUTH is offered but grants no relaying") {
    auto s = session(Listener::mx_only);
    CHECK(format(s.on_line("EHLO c").replies.at(0)).find("AUTH PLAIN LOGIN") != std::string::npos);
    login(s, "usr1@mail.sustech.edu.cn");
    CHECK(say(s, "MAIL FROM:<usr2@mail.sustech.edu.cn>") == kNotOwned);
    CHECK(say(s, "MAIL FROM:<usr1@mail.sustech.edu.cn>") == "250 2.1.0 Ok");
    CHECK(say(s, "RCPT TO:<usr@gmail.com>") == kRelayDenied);
    CHECK(say(s, "RCPT TO:<usr2@mail.sustech.edu.cn>") == "250 2.1.5 Ok");
  }
}

TEST_CASE("defect 12: the submission port (RFC 6409) wants AUTH before MAIL, then relays") {
  auto s = session(Listener::submission);
  auto ehlo = format(s.on_line("EHLO c").replies.at(0));
  CHECK(ehlo.find("AUTH PLAIN LOGIN") != std::string::npos);
  for (const char* from : {"<usr1@mail.sustech.edu.cn>", "<someone@yahoo.com>", "<>", "<ghost@mail.sustech.edu.cn>"})
    CHECK(say(s, std::string("MAIL FROM:") + from) == kAuthRequired);
  CHECK(s.phase() == Phase::ready);
  login(s, "usr1@mail.sustech.edu.cn");
  CHECK(say(s, "MAIL FROM:<Usr1@mail.sustech.edu.cn>") == kNotOwned);
  CHECK(say(s, "MAIL FROM:<usr1@mail.sustech.edu.cn>") == "250 2.1.0 Ok");
  CHECK(say(s, "RCPT TO:<usr@gmail.com>") == "250 2.1.5 Ok");
  CHECK(say(s, "RCPT TO:<usr2@mail.sustech.edu.cn>") == "250 2.1.5 Ok");
  CHECK(s.envelope().remote == std::vector<std::string>{"usr@gmail.com"});

  SUBCASE("before TLS, AUTH follows [tls] allow_plaintext_auth as on the SMTP port") {
    SessionInfo info{"exmail.qq.com", "127.0.0.1", false, true, false, false};
    info.listener = Listener::submission;
    ServerSession t(info, {}, kDir);
    auto plain = format(t.on_line("EHLO c").replies.at(0));
    CHECK(plain.find("STARTTLS") != std::string::npos);
    CHECK(plain.find("AUTH") == std::string::npos);
    CHECK(say(t, "MAIL FROM:<usr1@mail.sustech.edu.cn>") == kAuthRequired);
  }
}
