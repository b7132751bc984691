#include "config/config.hpp"

#include <doctest/doctest.h>

using namespace mail;

namespace {

constexpr const char* kCourse = R"([agent]
"mail.sustech.edu.cn" = { smtp = "smtp.exmail.qq.com", pop = "pop.exmail.qq.com" }
"gmail.com" = { smtp = "smtp.gmail.com", pop = "pop.gmail.com" }

[server]
"exmail.qq.com" = { smtp = 1025, pop = 3110 }
"gmail.com" = { smtp = 2025, pop = 2110 }

[accounts."exmail.qq.com"]
"usr1@mail.sustech.edu.cn" = "pass1"
"usr2@mail.sustech.edu.cn" = "pass2"

[accounts."gmail.com"]
"usr@gmail.com" = "pass"
)";

std::string error_of(std::string_view text, bool json = false) {
  auto c = config::parse(text, json ? "w.json" : "w.toml", json);
  REQUIRE_FALSE(c);
  return c.error().detail;
}

}  // namespace

TEST_CASE("[fdns] faults names fdns's fault rule file") {
  auto c = config::parse("[fdns]\nfaults = \"tests/dns-faults.toml\"\n", "w.toml");
  REQUIRE(c);
  CHECK(c->fdns_faults == "tests/dns-faults.toml");
  CHECK(error_of("[fdns]\nfaults = 3\n").rfind("w.toml:2: fdns.faults: ", 0) == 0);
  CHECK(error_of("[fdns]\nfaults = \"\"\n") == "w.toml:2: fdns.faults: must not be empty");
}

TEST_CASE("[view] listen: where the web view serves (issue 14)") {
  auto c = config::parse("[view]\nlisten = \"127.0.0.1:18025\"\n", "w.toml");
  REQUIRE(c);
  CHECK(c->view_listen == "127.0.0.1:18025");
  CHECK(error_of("[view]\nlisten = \"localhost:8025\"\n").rfind("w.toml:2: view.listen: expected IP:PORT", 0) == 0);
  CHECK(error_of("[view]\nport = 8025\n").rfind("w.toml:2: view.port: ", 0) == 0);
}

TEST_CASE("the course's file is complete: every extension key has its default") {
  auto c = config::parse(kCourse, "config.toml");
  REQUIRE(c);
  CHECK(c->agent.at("gmail.com").smtp == "smtp.gmail.com");
  CHECK(c->agent.at("mail.sustech.edu.cn").pop == "pop.exmail.qq.com");
  CHECK(c->server.at("exmail.qq.com").smtp == 1025);
  CHECK(c->server.at("gmail.com").pop == 2110);
  REQUIRE(c->accounts.at("exmail.qq.com").size() == 2);
  CHECK(c->fdns_listen == "127.0.0.1:10053");
  CHECK(c->fdns_faults.empty());  // no fault rules
  CHECK(c->view_listen == "127.0.0.1:8025");
  CHECK(c->var == "var");
  CHECK(c->limits.command_line == 512);
  CHECK(c->limits.text_line == 0);  // no limit (RFC 5321 4.5.3.1: impose none where possible)
  CHECK(c->limits.message_size == 33554432u);
  CHECK(c->limits.recipients == 100);
  CHECK(c->limits.sessions == 10000);
  CHECK(c->limits.smtp_idle.count() == 300);
  CHECK(c->limits.pop3_idle.count() == 600);
  CHECK(c->limits.min_data_rate == 500);
  CHECK(c->limits.per_peer == 50);
  REQUIRE(c->limits.per_peer_exempt.size() == 1);
  CHECK(c->limits.per_peer_exempt.front().text() == "127.0.0.0/8");
  CHECK(c->queue.retry_first.count() == 5);
  CHECK(c->queue.retry_max.count() == 600);
  CHECK(c->queue.lifetime.count() == 432000);
  CHECK(c->queue.delay_warning.count() == 0);
  CHECK(c->queue.connection_cache.count() == 5);
  CHECK(c->tls.ca_dir == "var/ca");
  CHECK_FALSE(c->tls.allow_plaintext_auth);
  CHECK(c->tls.relay == config::RelayTls::may);
  CHECK_FALSE(c->policy.submission_requires_auth);
  CHECK_FALSE(c->policy.mx_only);

  auto s = c->server_settings("exmail.qq.com");
  REQUIRE(s);
  CHECK(s->listen == "127.0.0.1");
  CHECK(s->submission == 0);
  CHECK(s->domains == std::vector<std::string>{"mail.sustech.edu.cn"});
  CHECK(s->accounts.size() == 2);
  auto missing = c->server_settings("nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().detail == "config.toml: no [server] entry \"nope\" (known: exmail.qq.com, gmail.com)");
}

TEST_CASE("precedence: [mailsrv.NAME] over the world table over the default") {
  std::string text = std::string(kCourse) + R"(
[limits]
recipients = 50
smtp_idle = 60

[tls]
relay = "verify"

[mailsrv."gmail.com"]
listen = "0.0.0.0"
smtps = 2465
limits.recipients = 7
limits.per_peer_exempt = []
policy.submission_requires_auth = true
policy.mx_only = true
submission = 1587
)";
  auto c = config::parse(text, "w.toml");
  REQUIRE(c);
  auto g = c->server_settings("gmail.com");
  auto q = c->server_settings("exmail.qq.com");
  REQUIRE(g);
  REQUIRE(q);
  CHECK(g->limits.recipients == 7);          // per server
  CHECK(g->limits.smtp_idle.count() == 60);  // world
  CHECK(g->limits.text_line == 0);           // default
  CHECK(g->tls.relay == config::RelayTls::verify);
  CHECK(g->policy.submission_requires_auth);
  CHECK(g->policy.mx_only);
  CHECK(g->submission == 1587);
  CHECK(g->limits.per_peer_exempt.empty());
  CHECK(q->limits.per_peer_exempt.size() == 1);
  CHECK_FALSE(q->policy.mx_only);
  CHECK(q->submission == 0);
  CHECK(g->listen == "0.0.0.0");
  CHECK(g->smtps == 2465);
  CHECK(q->limits.recipients == 50);
  CHECK_FALSE(q->policy.submission_requires_auth);
  CHECK(q->smtps == 0);
}

TEST_CASE("[mailsrv.NAME] faults: the fault rule file of one server, as written") {
  auto c = config::parse(std::string(kCourse) + "[mailsrv.\"gmail.com\"]\nfaults = \"faults/gmail.toml\"\n", "w.toml");
  REQUIRE(c);
  CHECK(c->server_settings("gmail.com")->faults == "faults/gmail.toml");
  CHECK(c->server_settings("exmail.qq.com")->faults.empty());
  CHECK(error_of(std::string(kCourse) + "[mailsrv.\"gmail.com\"]\nfaults = \"\"\n").find(
            "mailsrv.\"gmail.com\".faults: must not be empty") != std::string::npos);
}

TEST_CASE("TOML errors name the file, the line and the key") {
  CHECK(error_of("[limits]\nrecipients = 10\nrecipents = 5\n") ==
        "w.toml:3: limits.recipents: unknown key (allowed here: command_line, text_line, message_size, recipients, "
        "sessions, smtp_idle, pop3_idle, min_data_rate, per_peer, per_peer_exempt, errors)");
  CHECK(error_of("[limits]\nper_peer_exempt = [\"127.0.0.0/8\", \"10.0.0/8\"]\n") ==
        "w.toml:2: limits.per_peer_exempt[1]: '10.0.0/8' is not an address range such as 127.0.0.0/8");
  CHECK(error_of("[limits]\nper_peer_exempt = \"127.0.0.0/8\"\n") ==
        "w.toml:2: limits.per_peer_exempt: expected an array");
  CHECK(error_of("[limits]\ntext_line = 20\n") == "w.toml:2: limits.text_line: 0 (no limit) or 80..1048576, got 20");
  CHECK(error_of("[server]\n\"gmail.com\" = { smtp = \"x25\", pop = 2110 }\n") ==
        "w.toml:2: server.\"gmail.com\".smtp: expected a number from 1 to 65535, got \"x25\"");
  CHECK(error_of("[server]\n\"gmail.com\" = { smtp = 70000, pop = 2110 }\n") ==
        "w.toml:2: server.\"gmail.com\".smtp: value 70000 is out of range 1..65535");
  CHECK(error_of("[server]\n\"gmail.com\" = { smtp = 25 }\n") == "w.toml:2: server.\"gmail.com\": missing key \"pop\"");
  CHECK(error_of("\n\n[tls]\nrelay = \"maybe\"\n") == "w.toml:4: tls.relay: expected \"may\", \"verify\" or \"off\"");
  CHECK(error_of("[policy]\nsubmission_requires_auth = \"yes\"\n") ==
        "w.toml:2: policy.submission_requires_auth: expected true or false");
  CHECK(error_of("[mystery]\nx = 1\n").rfind("w.toml:1: mystery: unknown key", 0) == 0);
  CHECK(error_of("[fdns]\nlisten = \"localhost\"\n") == "w.toml:2: fdns.listen: expected IP:PORT such as \"127.0.0.1:10053\"");
  CHECK(error_of("[queue]\nretry_first = 60\nretry_max = 10\n") == "w.toml:1: queue: retry_max is smaller than retry_first");
  CHECK(error_of("[queue]\nconnection_cache_seconds = 301\n") ==
        "w.toml:2: queue.connection_cache_seconds: value 301 is out of range 0..300");
  // A syntax error: toml++'s own message, with the line.
  CHECK(error_of("[server\n").rfind("w.toml:1: ", 0) == 0);
}

TEST_CASE("accounts and per-server tables must name a configured server; domains belong to one server") {
  std::string base = "[server]\n\"a\" = { smtp = 1, pop = 2 }\n\"b\" = { smtp = 3, pop = 4 }\n";
  CHECK(error_of(base + "[accounts.\"c\"]\n\"u@x.org\" = \"p\"\n") == "w.toml:4: accounts.c: no [server] entry has this name");
  CHECK(error_of(base + "[accounts.\"a\"]\n\"nobody\" = \"p\"\n") ==
        "w.toml:5: accounts.a.nobody: expected an address like user@example.com");
  CHECK(error_of(base + "[accounts.\"a\"]\n\"u@X.org\" = \"p\"\n[accounts.\"b\"]\n\"v@x.ORG\" = \"p\"\n") ==
        "w.toml:7: accounts.b.\"v@x.ORG\": domain x.org is already served by a");
  // Both places are named (keys are read in byte order: "u@X.org" first).
  CHECK(error_of(base + "[accounts.\"a\"]\n\"u@x.org\" = \"p\"\n\"u@X.org\" = \"q\"\n") ==
        "w.toml:5: accounts.a.\"u@x.org\": duplicate account, also at w.toml:6: accounts.a.\"u@X.org\" (domains compare "
        "case-insensitively, local parts exactly)");
  // The one address rule (util::canonical_address): a quoted local part and a trailing dot name the same account.
  CHECK(error_of(base + R"([accounts."a"]
"u@x.org" = "p"
"\"u\"@x.org." = "q"
)").find("duplicate account") != std::string::npos);
  auto cased = config::parse(base + "[accounts.\"a\"]\n\"u@x.org\" = \"p\"\n\"U@x.org\" = \"q\"\n", "w.toml");
  REQUIRE(cased);  // local parts are exact: two accounts
  CHECK(cased->accounts.at("a").size() == 2);
  CHECK(error_of(base + "[mailsrv.\"z\"]\nsmtps = 1\n") == "w.toml:4: mailsrv.z: no [server] entry has this name");
  CHECK(error_of(base + "[mailsrv.\"a\"]\nlisten = \"example.com\"\n") ==
        "w.toml:5: mailsrv.a.listen: expected an IP address such as 127.0.0.1 or 0.0.0.0");
  CHECK(error_of(base + "[mailsrv.\"a\"]\ncert = \"c.pem\"\n") == "w.toml:4: mailsrv.a: cert and key must be given together");
  CHECK(error_of("[server]\n\"a\" = { smtp = 5, pop = 5 }\n") == "w.toml:2: server.a: smtp and pop use the same port 5");
  CHECK(error_of("[agent]\n\"Gmail.com\" = { smtp = \"s\", pop = \"p\" }\n\"gmail.com\" = { smtp = \"s\", pop = \"p\" }\n")
            .find("duplicate domain") != std::string::npos);
}

TEST_CASE("the same schema in JSON, with errors naming the JSON pointer") {
  auto c = config::parse(R"({"server": {"gmail.com": {"smtp": 2025, "pop": 2110}},
      "accounts": {"gmail.com": {"usr@gmail.com": "pass"}},
      "mailsrv": {"gmail.com": {"limits": {"recipients": 3}}}})",
                         "w.json", true);
  REQUIRE(c);
  CHECK(c->server.at("gmail.com").smtp == 2025);
  CHECK(c->server_settings("gmail.com")->limits.recipients == 3);
  CHECK(error_of(R"({"server": {"gmail.com": {"smtp": "x", "pop": 2110}}})", true) ==
        "w.json: /server/gmail.com/smtp: expected a number from 1 to 65535, got \"x\"");
  CHECK(error_of(R"({"limits": {"a/b": 1}})", true).rfind("w.json: /limits/a~1b: unknown key", 0) == 0);
  CHECK(error_of("{\n\"server\": {\n}\n,,}", true).rfind("w.json:4: ", 0) == 0);
  CHECK(error_of("[1, 2]", true) == "w.json: the top level must be an object");
}

TEST_CASE("a JSON number too large for a double is one line, not an exception") {
  // Found by fuzz_config: nlohmann's out_of_range (number overflow) escaped config::parse.
  CHECK(error_of(R"({"limits": {"sessions": 1e400}})", true).rfind("w.json: ", 0) == 0);
  CHECK(error_of("31e331", true).rfind("w.json: ", 0) == 0);
}

TEST_CASE("errors stay one line when the file's text or a key holds line breaks") {
  // Found by fuzz_config: toml++ quotes the bad token ("expected 'true', saw 'tr\n'"), and quoted
  // keys may hold any character, so a config error could span lines.
  auto e = error_of("[policy]\nmx_only = tr\nue\n");
  CHECK(e.rfind("w.toml:2: ", 0) == 0);
  CHECK(e.find('\n') == std::string::npos);
  auto key = error_of("[limits]\n\"bad\\nkey\\r\" = 1\n");
  CHECK(key.find("unknown key") != std::string::npos);
  CHECK(key.find("bad\\nkey\\r") != std::string::npos);  // shown escaped
  CHECK(key.find_first_of("\r\n") == std::string::npos);
  auto json = error_of("{\"limits\": {\"a\\tb\": 1}}", true);
  CHECK(json.find_first_of("\t\n") == std::string::npos);
}

TEST_CASE("a missing file is one line naming it") {
  auto c = config::load("/nonexistent/config.toml");
  REQUIRE_FALSE(c);
  CHECK(c.error().detail.rfind("/nonexistent/config.toml: cannot open", 0) == 0);
}

TEST_CASE("[limits] errors: error replies before a session is closed, world-wide or per server") {
  auto c = config::parse(kCourse, "config.toml");
  REQUIRE(c);
  CHECK(c->limits.errors == 20);  // Postfix's smtpd_hard_error_limit
  auto d = config::parse(std::string(kCourse) + "\n[limits]\nerrors = 5\n\n[mailsrv.\"gmail.com\"]\nlimits.errors = 1\n",
                         "w.toml");
  REQUIRE(d);
  CHECK(d->limits.errors == 5);
  CHECK(d->server_settings("exmail.qq.com")->limits.errors == 5);
  CHECK(d->server_settings("gmail.com")->limits.errors == 1);
  CHECK(error_of("[limits]\nerrors = 0\n") == "w.toml:2: limits.errors: value 0 is out of range 1..1000");
  CHECK(error_of("[limits]\nerrors = \"many\"\n") == "w.toml:2: limits.errors: expected an integer from 1 to 1000");
}
