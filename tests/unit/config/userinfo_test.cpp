// [accounts."NAME"] file = "userinfo.txt": accounts from a users file, merged with the inline ones.
#include <fstream>

#include <doctest/doctest.h>

#include "config/config.hpp"
#include "config/userinfo.hpp"
#include "../../temp_dir.hpp"

using namespace mail;

namespace {

const std::string kServers = "[server]\n\"a\" = { smtp = 1, pop = 2 }\n\"b\" = { smtp = 3, pop = 4 }\n";

struct Files {
  TempDir dir{"mw-userinfo"};
  std::string write(const std::string& name, const std::string& text) {
    auto p = (dir.path / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  Result<config::Config> load(const std::string& config_text, const std::string& name = "w.toml") {
    return config::load(write(name, config_text));
  }
};

}  // namespace

TEST_CASE("userinfo.txt: bare logins get the domain, full addresses stay, merged after the inline accounts") {
  Files f;
  auto users = f.write("userinfo.txt", "# the course's users\nalice  pw1\n\n  bob\t\tpw2\r\ncarol@Other.org pw3\r\n   \n");
  auto c = f.load(kServers + "[accounts.\"a\"]\n\"zed@example.com\" = \"z\"\nfile = \"" + users +
                  "\"\ndomain = \"example.com\"\n");
  REQUIRE_MESSAGE(c.has_value(), (c ? std::string() : c.error().detail));
  const auto& list = c->accounts.at("a");
  REQUIRE(list.size() == 4);
  CHECK(list[0].address == "zed@example.com");
  CHECK(list[1].address == "alice@example.com");
  CHECK(list[1].password == "pw1");
  CHECK(list[2].address == "bob@example.com");
  CHECK(list[2].password == "pw2");  // tabs separate, the CR is not part of the password
  CHECK(list[3].address == "carol@Other.org");
  auto s = c->server_settings("a");
  REQUIRE(s);
  CHECK(s->domains == std::vector<std::string>{"example.com", "other.org"});
}

TEST_CASE("userinfo.txt in a JSON config") {
  Files f;
  auto users = f.write("u.txt", "alice pw1\n");
  auto c = f.load(R"({"server": {"a": {"smtp": 1, "pop": 2}}, "accounts": {"a": {"file": ")" + users +
                      R"(", "domain": "example.com"}}})",
                  "w.json");
  REQUIRE_MESSAGE(c.has_value(), (c ? std::string() : c.error().detail));
  REQUIRE(c->accounts.at("a").size() == 1);
  CHECK(c->accounts.at("a")[0].address == "alice@example.com");
}

TEST_CASE("userinfo.txt: a bad line is one error line naming the file and the line") {
  Files f;
  auto cfg = [&](const std::string& users_text, const std::string& extra = "domain = \"example.com\"\n") {
    auto users = f.write("userinfo.txt", users_text);
    auto c = f.load(kServers + "[accounts.\"a\"]\nfile = \"" + users + "\"\n" + extra);
    REQUIRE_FALSE(c);
    auto users_prefix = users + ":";
    REQUIRE_MESSAGE(c.error().detail.rfind(users_prefix, 0) == 0, c.error().detail);
    return c.error().detail.substr(users_prefix.size());
  };
  CHECK(cfg("alice pw\nbob\n") == "2: a login without a password (expected: LOGIN PASSWORD)");
  CHECK(cfg("a p\nb q\nbob my secret\n") ==
        "3: expected a login and a password separated by spaces, got 3 words (a password may not contain spaces)");
  CHECK(cfg("bob pw\n", "") == "1: login \"bob\" has no @domain and the accounts table gives no domain");
  CHECK(cfg("bob@ pw\n") == "1: expected an address like user@example.com");
  CHECK(cfg("<bob>@x.org pw\n") == "1: an address may not contain spaces, '<', '>' or control bytes");
  CHECK(cfg("bob\x01 pw\n") == "1: the login contains a control byte");
  CHECK(cfg("bob pw\x7f\n") == "1: the password contains a control byte");
  CHECK(cfg("bob pw1\n\nbob pw2\n") ==
        "3: bob@example.com: duplicate account, also on line 1 (domains compare case-insensitively, local parts exactly)");
}

TEST_CASE("userinfo.txt: a duplicate of an inline account, or a domain of another server, is an error naming both places") {
  Files f;
  auto users = f.write("userinfo.txt", "x y\nbob pw\n");
  auto c = f.load(kServers + "[accounts.\"a\"]\n\"bob@Example.com\" = \"inline\"\nfile = \"" + users +
                  "\"\ndomain = \"example.com\"\n");
  REQUIRE_FALSE(c);
  CHECK(c.error().detail == users + ":2: bob@example.com: duplicate account, also at " + f.dir.path.string() +
                                "/w.toml:5: accounts.a.\"bob@Example.com\" (domains compare case-insensitively, local parts exactly)");
  // Tables are read in the order of their names: a's inline account first, then b's file.
  c = f.load(kServers + "[accounts.\"a\"]\n\"u@example.com\" = \"p\"\n[accounts.\"b\"]\nfile = \"" + users +
             "\"\ndomain = \"example.com\"\n");
  REQUIRE_FALSE(c);
  CHECK(c.error().detail == users + ":1: x@example.com: domain example.com is already served by a");
}

TEST_CASE("userinfo.txt: the reserved keys are checked where they are written") {
  Files f;
  auto base = kServers + "[accounts.\"a\"]\n";
  auto error = [&](const std::string& text) {
    auto c = f.load(base + text);
    REQUIRE_FALSE(c);
    auto prefix = (f.dir.path / "w.toml:").string();
    REQUIRE_MESSAGE(c.error().detail.rfind(prefix, 0) == 0, c.error().detail);
    return c.error().detail.substr(prefix.size());
  };
  CHECK(error("file = \"" + (f.dir.path / "missing.txt").string() + "\"\n") ==
        "5: accounts.a.file: " + (f.dir.path / "missing.txt").string() + ": cannot open: No such file or directory");
  CHECK(error("file = \"\"\n") == "5: accounts.a.file: must not be empty");
  CHECK(error("file = 3\n") == "5: accounts.a.file: expected a string");
  CHECK(error("domain = \"example.com\"\n") == "5: accounts.a.domain: only with file (the domain of the file's bare logins)");
  auto users = f.write("u.txt", "a b\n");
  CHECK(error("file = \"" + users + "\"\ndomain = \"ex ample.com\"\n") ==
        "6: accounts.a.domain: expected a domain such as example.com");
}

TEST_CASE("parse_userinfo: blank lines, comments, CRLF, tabs; a password may start with # but hold no space") {
  auto u = config::parse_userinfo("\n# c\n\t# indented comment\r\nal pw#1\r\nbo@x.org\t {SHA512-CRYPT}$6$a$b \r\n", "u.txt",
                                  "d.org");
  REQUIRE(u);
  REQUIRE(u->size() == 2);
  CHECK(((*u)[0].address == "al@d.org" && (*u)[0].password == "pw#1" && (*u)[0].line == 4));
  CHECK(((*u)[1].address == "bo@x.org" && (*u)[1].password == "{SHA512-CRYPT}$6$a$b" && (*u)[1].line == 5));
  CHECK(config::parse_userinfo("", "u.txt", "")->empty());
  CHECK(config::parse_userinfo("a b", "u.txt", "d.org")->size() == 1);  // no final line end
  auto bad = config::parse_userinfo("a b\r\r\n", "u.txt", "d.org");     // a second CR is a control byte
  REQUIRE_FALSE(bad);
  CHECK(bad.error().detail == "u.txt:1: the password contains a control byte");
  bad = config::parse_userinfo("a secret x\n", "u.txt", "d.org");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().detail.find("secret") == std::string::npos);  // passwords never reach an error line
}

TEST_CASE("config::parse reads the users file through the given reader, relative paths as written") {
  std::string asked;
  auto read = [&](const std::string& path) -> Result<std::string> {
    asked = path;
    return std::string("ann pw\n");
  };
  auto c = config::parse(kServers + "[accounts.\"b\"]\nfile = \"users/userinfo.txt\"\ndomain = \"B.org\"\n", "w.toml",
                         false, read);
  REQUIRE_MESSAGE(c.has_value(), (c ? std::string() : c.error().detail));
  CHECK(asked == "users/userinfo.txt");
  CHECK(c->accounts.at("b")[0].address == "ann@B.org");
  CHECK(c->server_settings("b")->domains == std::vector<std::string>{"b.org"});
}

TEST_CASE("userinfo.txt: a UTF-8 byte order mark (Windows Notepad) is not part of the first login") {
  auto users = config::parse_userinfo("\xEF\xBB\xBF" "alice pw1\r\nbob pw2\r\n", "userinfo.txt", "example.com");
  REQUIRE(users);
  REQUIRE(users->size() == 2);
  CHECK((*users)[0].address == "alice@example.com");
  CHECK((*users)[0].line == 1);
}
