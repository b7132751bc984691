// Credentials never reach a log (STYLE.md 6; issue 10, defect 6): each core says how a command line
// may be logged (Step::log_line), from the same parse that decides the reply, and the drivers log only
// that. Covered: AUTH arguments and initial responses, SASL exchange lines, PASS, USER, and lines the
// cores cannot take apart (a TAB for a space, a leading space, an overlong line).
#include <doctest/doctest.h>

#include "pop3/server_session.hpp"
#include "smtp/server_session.hpp"
#include "util/auth.hpp"
#include "util/text.hpp"

using namespace mail;

namespace {

class OneAccount final : public smtp::Directory {
 public:
  bool is_local(std::string_view d) const override { return util::iequals(d, "mail.sustech.edu.cn"); }
  std::optional<std::string> account(std::string_view a) const override {
    if (a == "usr2@mail.sustech.edu.cn") return std::string(a);
    return std::nullopt;
  }
};
const OneAccount kDir;

const std::string kPlain = util::base64_encode(std::string("\0usr2@mail.sustech.edu.cn\0pass2", 31));
const std::string kPassAsUser = util::base64_encode(std::string("\0pass2\0pass2", 12));

smtp::ServerSession smtp_session() {
  smtp::ServerSession s({"exmail.qq.com", "127.0.0.1", false, true, true, false}, {}, kDir);
  REQUIRE(s.on_line("EHLO c").replies.at(0).code == 250);
  return s;
}

// What each SMTP line may be logged as; none of them may show "pass2" or the base64 credentials.
struct Case {
  std::vector<std::string> before;  // lines fed first (their log lines are checked too)
  std::string line;
  std::string logged;
};

void check_never_logged(const std::string& logged) {
  for (const auto& secret : {std::string("pass2"), kPlain, kPassAsUser, util::base64_encode("pass2")})
    CHECK_MESSAGE(logged.find(secret) == std::string::npos, (std::string("logged: ") + logged));
}

}  // namespace

TEST_CASE("SMTP: AUTH arguments and SASL lines are masked, however the line is written") {
  const std::vector<Case> cases = {
      // The reproduction: TABs for spaces. The core cannot take the line apart: only its verb and length.
      {{}, "AUTH\tPLAIN\t" + kPlain, "AUTH <unparsed, " + std::to_string(11 + kPlain.size()) + " octets>"},
      {{}, " AUTH PLAIN " + kPlain, "AUTH <unparsed, " + std::to_string(12 + kPlain.size()) + " octets>"},
      {{}, "AUTH PLAIN " + kPlain, "AUTH PLAIN ***"},
      {{}, "auth plain " + kPassAsUser, "AUTH PLAIN ***"},
      {{}, "AUTH LOGIN " + util::base64_encode("pass2"), "AUTH LOGIN ***"},
      {{}, "AUTH pass2", "AUTH ***"},  // an unknown mechanism may be anything typed
      {{}, "AUTH PLAIN", "AUTH PLAIN"},
      {{"AUTH PLAIN"}, kPlain, "***"},
      {{"AUTH PLAIN"}, "pass2 with spaces\tand tabs", "***"},
      {{"AUTH LOGIN"}, util::base64_encode("pass2"), "***"},
      {{"AUTH LOGIN", util::base64_encode("usr2@mail.sustech.edu.cn")}, util::base64_encode("pass2"), "***"},
      {{}, "pass2", "<unparsed, 5 octets>"},  // a password typed at the command prompt
      {{}, "PASS pass2", "<unparsed, 10 octets>"},
      {{}, "\x01pass2", "<unparsed, 6 octets>"},
      {{}, "NOOP", "NOOP"},
      {{}, "MAIL FROM:<usr2@mail.sustech.edu.cn>", "MAIL FROM:<usr2@mail.sustech.edu.cn>"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    auto s = smtp_session();
    for (const auto& b : c.before) check_never_logged(s.on_line(b).log_line);
    auto step = s.on_line(c.line);
    CHECK(step.log_line == c.logged);
    check_never_logged(step.log_line);
  }
  SUBCASE("an overlong line is never shown") {
    auto s = smtp_session();
    auto step = s.on_line("AUTH PLAIN " + kPlain + std::string(600, 'A'), true);
    CHECK(step.log_line == "AUTH <unparsed, " + std::to_string(611 + kPlain.size()) + " octets>");
  }
  SUBCASE("lines during DATA or after the end are not command lines") {
    auto s = smtp_session();
    CHECK(s.on_line("QUIT").log_line == "QUIT");
    CHECK(s.on_line("pass2").log_line.empty());
  }
}

TEST_CASE("POP3: PASS, USER, AUTH and SASL lines are masked, however the line is written") {
  const std::vector<Case> cases = {
      {{}, " PASS pass2", "PASS <unparsed, 11 octets>"},  // the reproduction: a leading space
      {{"USER usr2"}, "PASS pass2", "PASS ***"},
      {{"USER usr2"}, "pass pass2 with spaces", "PASS ***"},
      {{"USER usr2"}, "PASS\tpass2", "PASS <unparsed, 10 octets>"},
      {{}, "USER pass2", "USER ***"},  // a password typed as the user name
      {{}, "USER\tpass2", "USER <unparsed, 10 octets>"},
      {{}, "AUTH PLAIN " + kPassAsUser, "AUTH PLAIN ***"},
      {{}, "AUTH pass2", "AUTH ***"},
      {{}, "AUTH PLAIN", "AUTH PLAIN"},
      {{"AUTH PLAIN"}, kPlain, "***"},
      {{"AUTH PLAIN"}, "PASS pass2", "***"},
      {{}, "pass2", "<unparsed, 5 octets>"},
      {{}, "CAPA", "CAPA"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    pop3::ServerSession s({"exmail.qq.com", true, 20, true, true});
    for (const auto& b : c.before) check_never_logged(s.on_line(b).log_line);
    auto step = s.on_line(c.line);
    CHECK(step.log_line == c.logged);
    check_never_logged(step.log_line);
  }
  SUBCASE("an overlong line is never shown") {
    pop3::ServerSession s({"exmail.qq.com", true, 20, true, true});
    CHECK(s.on_line("PASS pass2" + std::string(600, 'x'), true).log_line == "PASS <unparsed, 610 octets>");
  }
}
