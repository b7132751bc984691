// mailview's pure part: event lines as the servers send them (docs/reference.md "Event feed") in, the
// API's sessions and journeys out (docs/view.md).
#include <doctest/doctest.h>

#include "model.hpp"
#include "util/log.hpp"

using namespace mail;
using namespace mailview;

namespace {

constexpr std::string_view kConfig = R"([server]
"exmail.qq.com" = { smtp = 1025, pop = 3110 }
"gmail.com" = { smtp = 2025, pop = 2110 }
[accounts."exmail.qq.com"]
"usr1@mail.sustech.edu.cn" = "pass1"
[accounts."gmail.com"]
"usr@gmail.com" = "pass"
[fdns]
listen = "127.0.0.1:10053"
)";

std::vector<ServerInfo> servers() {
  auto cfg = config::parse(kConfig, "config.toml");
  REQUIRE(cfg);
  return servers_of(*cfg);
}

// One event line as a server formats it: ts, prog, event, then the fields (values quoted by the log).
std::string ev(std::string ts, std::string prog, std::string event, log::Fields fields) {
  auto line = log::format(log::Level::info, "", event, fields);
  // log::format writes its own ts, prog and lvl: put the event's in their place, as the feed does.
  auto at = line.find(" event=");
  return "ts=2026-12-01T10:00:" + ts + "Z prog=" + prog + line.substr(at);
}

// The issue's scenario, as the design's events: the agent submits one message for usr@gmail.com and
// error@gmail.com to exmail.qq.com; the relay looks up gmail.com and relays; gmail.com stores one copy
// and refuses error@; exmail.qq.com bounces; the agent retrieves from gmail.com with POP3.
std::vector<std::string> scenario() {
  const std::string qq = "exmail.qq.com", gm = "gmail.com", id = "<m1@sustech>";
  return {
      ev("00.000", qq, "open", {{"sid", "a1"}, {"proto", "smtp"}, {"side", "server"}, {"local", "127.0.0.1:1025"}, {"peer", "127.0.0.1:50001"}}),
      ev("00.001", qq, "c", {{"sid", "a1"}, {"line", "AUTH PLAIN ****"}}),
      ev("00.002", qq, "s", {{"sid", "a1"}, {"line", "235 2.7.0 Authentication successful"}}),
      ev("00.003", qq, "c", {{"sid", "a1"}, {"line", "<message 1234 octets>"}}),
      ev("00.004", qq, "message", {{"sid", "a1"}, {"id", "Q1"}, {"msgid", id}, {"from", "usr1@mail.sustech.edu.cn"},
                                   {"to", "usr@gmail.com,error@gmail.com"}, {"local", ""}, {"queued", "2"}, {"files", ""},
                                   {"result", "stored"}, {"size", "1234"}}),
      ev("00.005", qq, "queued", {{"id", "Q1"}, {"msgid", id}, {"from", "usr1@mail.sustech.edu.cn"}, {"to", "usr@gmail.com,error@gmail.com"}}),
      ev("00.006", qq, "close", {{"sid", "a1"}}),
      ev("00.100", qq, "open", {{"sid", "r1"}, {"proto", "relay"}, {"side", "client"}, {"local", "127.0.0.1:40000"},
                                {"peer", "127.0.0.1:2025"}, {"host", "gmail-smtp-in.l.google.com"}, {"domain", "gmail.com"}, {"id", "Q1"}}),
      ev("00.050", qq, "lookup", {{"sid", "r1"}, {"id", "Q1"}, {"name", "gmail.com"}, {"type", "MX"}, {"server", "127.0.0.1:10053"},
                                  {"answer", "10 gmail-smtp-in.l.google.com"}, {"rcode", "NOERROR"}}),
      ev("00.051", "fdns", "query", {{"peer", "127.0.0.1:41000"}, {"transport", "udp"}, {"name", "gmail.com"}, {"type", "MX"},
                                     {"rcode", "NOERROR"}, {"answer", "10 gmail-smtp-in.l.google.com"}}),
      ev("00.101", gm, "open", {{"sid", "g1"}, {"proto", "smtp"}, {"side", "server"}, {"local", "127.0.0.1:2025"}, {"peer", "127.0.0.1:40000"}}),
      ev("00.102", qq, "c", {{"sid", "r1"}, {"line", "EHLO exmail.qq.com"}}),
      ev("00.103", gm, "c", {{"sid", "g1"}, {"line", "EHLO exmail.qq.com"}}),
      ev("00.104", gm, "message", {{"sid", "g1"}, {"id", "G1"}, {"msgid", id}, {"from", "usr1@mail.sustech.edu.cn"}, {"to", "usr@gmail.com"},
                                   {"local", "usr@gmail.com"}, {"queued", "0"}, {"files", "1795316797.M1P2Q3.gm"}, {"result", "stored"}, {"size", "1300"}}),
      ev("00.105", qq, "attempt", {{"sid", "r1"}, {"id", "Q1"}, {"to", "usr@gmail.com"}, {"result", "delivered"}, {"reply", "250 2.0.0 OK"}}),
      ev("00.106", qq, "attempt", {{"sid", "r1"}, {"id", "Q1"}, {"to", "error@gmail.com"}, {"result", "bounced"}, {"reply", "550 5.1.1 no such user"}}),
      ev("00.107", qq, "close", {{"sid", "r1"}}),
      ev("00.108", qq, "bounced", {{"id", "Q1"}, {"bounce_id", "B1"}, {"to", "error@gmail.com"}}),
      ev("00.109", qq, "delivered", {{"id", "B1"}, {"msgid", "<b1@exmail.qq.com>"}, {"to", "usr1@mail.sustech.edu.cn"}, {"files", "1795316798.M9P2Q4.qq"}}),
      ev("01.000", gm, "open", {{"sid", "p1"}, {"proto", "pop3"}, {"side", "server"}, {"local", "127.0.0.1:2110"}, {"peer", "127.0.0.1:50002"}}),
      ev("01.001", gm, "c", {{"sid", "p1"}, {"line", "PASS ****"}}),
      ev("01.002", gm, "retr", {{"sid", "p1"}, {"user", "usr@gmail.com"}, {"n", "1"}, {"file", "1795316797.M1P2Q3.gm"}}),
  };
}

}  // namespace

TEST_CASE("mailview: the scenario's journey, in time order with the parties' names") {
  Model m(Parties(servers()), 200);
  for (const auto& l : scenario()) m.feed(l);
  auto j = m.journey("<m1@sustech>");
  REQUIRE(j.is_object());
  std::vector<std::string> kinds, from, to;
  for (const auto& s : j["steps"]) {
    kinds.push_back(s["kind"]);
    from.push_back(s["from"]);
    to.push_back(s["to"]);
  }
  CHECK(kinds == std::vector<std::string>{"submission", "dns", "relay", "delivery", "bounce", "delivery", "pop3"});
  CHECK(from == std::vector<std::string>{"agent 127.0.0.1", "exmail.qq.com", "exmail.qq.com", "gmail.com", "exmail.qq.com",
                                         "exmail.qq.com", "gmail.com"});
  CHECK(to == std::vector<std::string>{"exmail.qq.com", "fdns", "gmail.com", "gmail.com", "exmail.qq.com", "exmail.qq.com",
                                       "agent 127.0.0.1"});
  // The hop is shown once, from the sender's side, linked to the receiver's session.
  CHECK(j["steps"][2]["sid"] == "r1");
  CHECK(j["steps"][2]["peer_sid"] == "g1");
  CHECK(j["steps"][2]["summary"].get<std::string>().find("550 5.1.1") != std::string::npos);
  CHECK(m.journey("<b1@exmail.qq.com>").is_null());  // the bounce is part of the message's journey
  auto list = m.journeys(10);
  REQUIRE(list.size() == 1);
  CHECK(list[0]["steps"] == 7);
  CHECK(list[0]["from"] == "usr1@mail.sustech.edu.cn");
}

TEST_CASE("mailview: sessions with their arrows and parties, newest first") {
  Model m(Parties(servers()), 200);
  for (const auto& l : scenario()) m.feed(l);
  CHECK(m.received() == scenario().size());
  auto all = m.sessions("", "", 100);
  REQUIRE(all.size() == 5);  // a1, r1, the fdns query, g1, p1
  CHECK(all[0]["sid"] == "p1");
  auto relay = m.session("exmail.qq.com", "r1");
  CHECK(relay["from_party"] == "exmail.qq.com");
  CHECK(relay["to_party"] == "gmail.com");
  CHECK(relay["msgids"] == std::vector<std::string>{"<m1@sustech>"});
  auto g1 = m.session("gmail.com", "g1");
  CHECK(g1["from_party"] == "exmail.qq.com");  // the relay's local end names its sender
  CHECK(g1["to_party"] == "gmail.com");
  auto a1 = m.session("exmail.qq.com", "a1");
  CHECK(a1["from_party"] == "agent 127.0.0.1");
  REQUIRE(a1["events"].size() == 4);
  CHECK(a1["events"][0]["dir"] == "c");
  CHECK(a1["events"][0]["line"] == "AUTH PLAIN ****");
  CHECK(a1["events"][1]["dir"] == "s");
  CHECK(a1["events"][3]["dir"] == "note");
  CHECK(a1["ended"] == "2026-12-01T10:00:00.006Z");
  auto q = m.sessions("fdns", "dns", 10);
  REQUIRE(q.size() == 1);
  CHECK(q[0]["from_party"] == "agent 127.0.0.1");  // a resolver's UDP port is nobody's listener
  CHECK(m.session("gmail.com", "nope").is_null());
}

TEST_CASE("mailview: history bounds: N sessions per server, at most M journeys, dropped lines counted") {
  Model m(Parties(servers()), 3, 2);
  for (int i = 0; i < 5; ++i) {
    auto sid = "s" + std::to_string(i);
    m.feed(ev("00.00" + std::to_string(i), "gmail.com", "open", {{"sid", sid}, {"proto", "smtp"}, {"side", "server"},
                                                                 {"local", "127.0.0.1:2025"}, {"peer", "127.0.0.1:5000"}}));
    m.feed(ev("00.00" + std::to_string(i), "gmail.com", "message", {{"sid", sid}, {"id", "G" + std::to_string(i)},
                                                                    {"msgid", "<" + std::to_string(i) + "@x>"}, {"files", ""}}));
  }
  auto s = m.sessions("gmail.com", "", 100);
  REQUIRE(s.size() == 3);
  CHECK(s[0]["sid"] == "s4");
  CHECK(s[2]["sid"] == "s2");
  CHECK(m.journeys(100).size() == 2);
  CHECK(m.journey("<0@x>").is_null());
  CHECK(m.journey("<4@x>").is_object());
  // A late event of a dropped message's id starts a journey of its own (named by server and id).
  CHECK(m.feed(ev("00.009", "gmail.com", "queued", {{"id", "G1"}, {"msgid", ""}})) == "queue");
  CHECK(m.journey("<gmail.com/G1>").is_object());
  CHECK(m.journey("<3@x>").is_null());
  CHECK(m.journeys(100).size() == 2);
  m.feed("ts=2026-12-01T10:00:01.000Z prog=gmail.com event=dropped lines=17");
  CHECK(m.dropped() == 17);
  CHECK(m.feed("not a line \"") == "");
  // Anyone may write to the socket: a name that is no server of the config makes no history.
  CHECK(m.feed(ev("00.010", "intruder", "open", {{"sid", "x"}, {"proto", "smtp"}, {"side", "server"}})) == "");
  CHECK(m.sessions("intruder", "", 10).empty());
}

TEST_CASE("mailview: party names from the config's listeners") {
  Parties p(servers());
  CHECK(p.name("127.0.0.1:2025") == "gmail.com");
  CHECK(p.name("127.0.0.1:3110") == "exmail.qq.com");
  CHECK(p.name("127.0.0.1:10053") == "fdns");
  CHECK(p.name("127.0.0.1:43210") == "agent 127.0.0.1");
  CHECK(p.name("10.0.0.1:2025") == "agent 10.0.0.1");  // the port on another address is someone else
  p.add_relay_end("127.0.0.1:43210", "gmail.com");
  CHECK(p.name("127.0.0.1:43210") == "gmail.com");
  CHECK(p.listener("127.0.0.1:43210") == "");
}

TEST_CASE("every mail server offers TLS (STARTTLS and STLS with the lab CA); fdns does not") {
  auto s = servers();
  REQUIRE(s.size() == 3);
  CHECK(s[0].name == "fdns");
  CHECK_FALSE(s[0].tls);
  CHECK(s[1].tls);  // no smtps/pop3s port, no cert: STARTTLS all the same (apps/mailsrv/services.cpp)
  CHECK(s[2].tls);
}

TEST_CASE("mailview: one Message-ID reused by many messages keeps its journey's index bounded") {
  // Anyone who can send mail picks the Message-ID: 5000 messages with the same one must not grow the
  // journey's id and file index (nor the index behind it) without end.
  Journeys js;
  for (int i = 0; i < 5000; ++i) {
    auto n = std::to_string(i);
    js.add(Fact{"gmail.com", "message", "2026-12-01T10:00:00.000Z",
                {{"id", "G" + n}, {"msgid", "<same@x>"}, {"files", "17953." + n + ".gm"}}, "", "", ""});
  }
  const Journey* j = js.find("<same@x>");
  REQUIRE(j != nullptr);
  CHECK(j->facts.size() == Journeys::kMaxFacts);
  CHECK(j->keys.size() <= Journeys::kMaxKeys);
}

TEST_CASE("mailview: a session's stored lines are bounded in octets, all of them counted") {
  // A client may send 2000 long lines in one session (each refused, each still an event): the history
  // keeps N sessions per server, so each must stay small.
  Model m(Parties(servers()), 200);
  m.feed(ev("00.000", "gmail.com", "open", {{"sid", "big"}, {"proto", "smtp"}, {"side", "server"},
                                            {"local", "127.0.0.1:2025"}, {"peer", "127.0.0.1:5000"}}));
  const std::string line(30000, 'x');
  for (int i = 0; i < 2000; ++i) m.feed(ev("00.001", "gmail.com", "c", {{"sid", "big"}, {"line", line}}));
  auto s = m.session("gmail.com", "big");
  CHECK(s["lines"] == 2000);
  std::size_t octets = 0;
  for (const auto& e : s["events"]) octets += e["line"].get<std::string>().size();
  CHECK(octets <= History::kMaxSessionOctets);
  CHECK(s["events"].size() >= 2);  // the first lines are kept
}

TEST_CASE("mailview: a journey keeps each fact's values short (a message to 100 long addresses)") {
  // 10,000 journeys of 64 facts each: a fact must stay small, whatever a sender put in its envelope.
  Journeys js;
  const std::string to(100000, 'a');
  for (int i = 0; i < 64; ++i)
    js.add(Fact{"gmail.com", "message", "2026-12-01T10:00:00.000Z", {{"id", "G1"}, {"msgid", "<big@x>"}, {"to", to}}, "", "", ""});
  const Journey* j = js.find("<big@x>");
  REQUIRE(j != nullptr);
  std::size_t octets = 0;
  for (const auto& f : j->facts)
    for (const auto& [k, v] : f.fields) octets += k.size() + v.size();
  CHECK(octets <= Journeys::kMaxFacts * 3 * (Journeys::kMaxValue + 8));
  CHECK(j->facts.front().get("to").size() == Journeys::kMaxValue);
}

// A relay attempt that takes a cached connection (issue 15) looks up with a sid of its own that no
// session has: the page must know not to ask for that session (its 404 was a console error).
TEST_CASE("mailview: each journey step says whether its session is in the history") {
  Model m(Parties(servers()), 200);
  for (const auto& l : scenario()) m.feed(l);
  const std::string qq = "exmail.qq.com", id = "<m2@sustech>";
  m.feed(ev("02.000", qq, "message", {{"sid", "a2"}, {"id", "Q2"}, {"msgid", id}, {"from", "usr1@mail.sustech.edu.cn"},
                                      {"to", "usr@gmail.com"}, {"local", ""}, {"queued", "1"}, {"files", ""},
                                      {"result", "stored"}, {"size", "99"}}));
  m.feed(ev("02.001", qq, "lookup", {{"sid", "x9"}, {"id", "Q2"}, {"name", "gmail.com"}, {"type", "MX"}, {"server", "127.0.0.1:10053"},
                                     {"answer", "10 gmail-smtp-in.l.google.com"}, {"rcode", "NOERROR"}}));
  auto j = m.journey(id);
  REQUIRE(j.is_object());
  REQUIRE(j["steps"].size() == 2);
  CHECK(j["steps"][1]["kind"] == "dns");
  CHECK(j["steps"][1]["session"] == false);  // x9: no session opened with it
  auto first = m.journey("<m1@sustech>");
  CHECK(first["steps"][2]["session"] == true);  // r1, the relay session
}
