// The agent's command table without sockets: the words typed -> the POP3 line (or a one-line
// complaint), and a server response -> what prints on stdout/stderr, as text and --json, at the
// [pop]>>> prompt and in scripts, with the exit status.
#include "agent/commands.hpp"

#include <doctest/doctest.h>

#include <set>
#include <sstream>

#include "smtp/dsn.hpp"

using namespace agent;
using mail::pop3::Response;

namespace {

struct Printed {
  std::string out, err;
  int status = -1;
};

// Plans `words`; when a line is due, answers it with `reply` (nullopt: the connection failed).
Printed run(const std::vector<std::string>& words, std::optional<Response> reply, bool json = false,
            bool interactive = false, std::string* sent = nullptr) {
  std::ostringstream out, err;
  View v{out, err, json, interactive};
  Printed p;
  auto plan = plan_pop_command(words, v);
  if (plan.command == nullptr) {
    p.status = plan.status;
  } else if (plan.request.line.empty()) {
    plan.command->show(plan.request, {}, v);
    p.status = 0;
  } else {
    if (sent) *sent = plan.request.line;
    mail::Result<Response> r = reply ? mail::Result<Response>(*reply)
                                     : mail::Result<Response>(mail::fail(mail::Errc::closed, "the POP3 server closed the connection"));
    p.status = show_pop_result(plan, r, v);
  }
  p.out = out.str();
  p.err = err.str();
  return p;
}

std::string line_for(const std::vector<std::string>& words) {
  std::string sent;
  run(words, Response{true, "+OK 1 2", {}}, false, false, &sent);
  return sent;
}

Response ok(std::string status, std::vector<std::string> lines = {}) { return Response{true, std::move(status), std::move(lines)}; }

}  // namespace

TEST_CASE("the words typed become one POP3 line; case of the command does not matter") {
  CHECK(line_for({"stat"}) == "STAT");
  CHECK(line_for({"STAT", "extra"}) == "STAT");  // extra words are ignored, as before
  CHECK(line_for({"list"}) == "LIST");
  CHECK(line_for({"List", "3"}) == "LIST 3");
  CHECK(line_for({"uidl", "2"}) == "UIDL 2");
  CHECK(line_for({"retr", "2"}) == "RETR 2");
  CHECK(line_for({"retr", "--raw", "7"}) == "RETR 7");
  CHECK(line_for({"top", "1", "0"}) == "TOP 1 0");
  CHECK(line_for({"dele", "4"}) == "DELE 4");
  CHECK(line_for({"rset"}) == "RSET");
  CHECK(line_for({"Noop"}) == "NOOP");
  CHECK(line_for({"quit"}) == "QUIT");
  CHECK(line_for({}).empty());
}

TEST_CASE("an unknown command or bad arguments: one line on stderr, status 2, nothing sent") {
  struct Case {
    std::vector<std::string> words;
    std::string err;
  };
  const Case cases[] = {
      {{"bogus"}, "agent: unknown command 'bogus' (try help)\n"},
      {{"list", "x"}, "agent: usage: list [N]\n"},
      {{"UIDL", "0x1"}, "agent: usage: uidl [N]\n"},
      {{"retr"}, "agent: usage: retr N [--raw] [--save-attachments DIR]\n"},
      {{"retr", "1", "2"}, "agent: usage: retr N [--raw] [--save-attachments DIR]\n"},
      {{"retr", "1", "--bogus"}, "agent: usage: retr N [--raw] [--save-attachments DIR]\n"},
      {{"retr", "one"}, "agent: usage: retr N [--raw] [--save-attachments DIR]\n"},
      {{"top", "1"}, "agent: usage: top N LINES\n"},
      {{"top", "1", "-1"}, "agent: usage: top N LINES\n"},
      {{"dele"}, "agent: usage: dele N\n"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.words[0]);
    std::string sent;
    auto p = run(c.words, ok("+OK"), false, false, &sent);
    CHECK(p.status == 2);
    CHECK(p.err == c.err);
    CHECK(p.out.empty());
    CHECK(sent.empty());
  }
  auto none = run({}, ok("+OK"));
  CHECK(none.status == 0);
  CHECK((none.out + none.err).empty());
}

TEST_CASE("help lists every command; agent --help lists the scripted ones") {
  CHECK(pop_help() == "commands: stat, list, uidl, retr N [--raw] [--save-attachments DIR], top N LINES, dele N, rset, "
                      "noop, quit, help");
  CHECK(pop_usage() == "stat | list | uidl | retr N [--raw] [--save-attachments DIR] | top N LINES | dele N");
  auto p = run({"HELP"}, std::nullopt);  // sends nothing: a dead connection does not matter
  CHECK(p.status == 0);
  CHECK(p.out == pop_help() + "\n");
  std::set<std::string_view> names;
  for (const auto& c : pop_commands()) {
    names.insert(c.name);
    CHECK(find_pop_command(c.name) == &c);
    CHECK(pop_help().find(c.help) != std::string::npos);
    CHECK(c.ends_session == (c.name == "quit"));
  }
  CHECK(names.size() == pop_commands().size());
  CHECK(find_pop_command("capa") == nullptr);
}

TEST_CASE("stat, list, uidl, top: text and JSON") {
  struct Case {
    std::vector<std::string> words;
    Response reply;
    std::string text, json;
  };
  const Case cases[] = {
      {{"stat"}, ok("+OK 2 320"), "2 messages (320 bytes)\n", "{\"bytes\":320,\"messages\":2}\n"},
      {{"list"}, ok("+OK 2 messages", {"1 120", "2 200"}), "1 120\n2 200\n",
       "[{\"message\":1,\"size\":120},{\"message\":2,\"size\":200}]\n"},
      {{"list", "2"}, ok("+OK 2 200"), "2 200\n", "[{\"message\":2,\"size\":200}]\n"},
      {{"uidl"}, ok("+OK", {"1 a1", "2 b2"}), "1 a1\n2 b2\n", "[{\"message\":1,\"uid\":\"a1\"},{\"message\":2,\"uid\":\"b2\"}]\n"},
      {{"uidl", "1"}, ok("+OK 1 a1"), "1 a1\n", "[{\"message\":1,\"uid\":\"a1\"}]\n"},
      {{"top", "1", "0"}, ok("+OK", {"Subject: x", ""}), "Subject: x\n\n", "{\"lines\":[\"Subject: x\",\"\"]}\n"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.words[0]);
    auto text = run(c.words, c.reply);
    CHECK(text.status == 0);
    CHECK(text.out == c.text);
    CHECK(text.err.empty());
    auto json = run(c.words, c.reply, true);
    CHECK(json.out == c.json);
    // At the prompt the server's reply line comes first (not with --json).
    CHECK(run(c.words, c.reply, false, true).out == c.reply.status + "\n" + c.text);
    CHECK(run(c.words, c.reply, true, true).out == c.json);
  }
}

TEST_CASE("retr: the message shown, or as received with --raw") {
  const Response msg = ok("+OK 60 octets", {"Subject: =?UTF-8?B?R3LDvMOfZQ==?=", "From: a@b.c", "", "hello", ".dot"});
  auto shown = run({"retr", "1"}, msg);
  CHECK(shown.out == "From: a@b.c\nSubject: Grüße\n\nhello\n.dot\n");
  auto json = nlohmann::json::parse(run({"retr", "1"}, msg, true).out);
  CHECK(json["subject"] == "Grüße");
  CHECK(json["text"] == "hello\n.dot\n");
  CHECK(run({"retr", "1", "--raw"}, msg).out == "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\nFrom: a@b.c\n\nhello\n.dot\n");
  CHECK(nlohmann::json::parse(run({"retr", "--raw", "1"}, msg, true).out)["raw"] ==
        "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\nFrom: a@b.c\r\n\r\nhello\r\n.dot\r\n");
}

TEST_CASE("retr of a delivery report: the delivery-status fields and the returned headers, as text and JSON") {
  mail::smtp::DsnInput in;
  in.reporting_mta = "exmail.qq.com";
  in.original_sender = "usr1@mail.sustech.edu.cn";
  in.queue_id = "Q1";
  in.arrival = 1795316797;
  in.now = 1795316800;
  in.message_id = "b.1@exmail.qq.com";
  in.boundary = "=_dsn_1";
  in.failed.emplace_back("error@gmail.com", "gmail-smtp-in.l.google.com[127.0.0.1]", "550 5.1.1 no such user", "RCPT TO");
  in.failed.emplace_back("x@nowhere.example", "", "5.1.2 domain not found", "");
  in.original_headers = "From: usr1@mail.sustech.edu.cn\nSubject: to nobody\n";
  Response msg = ok("+OK");
  std::string dsn = mail::smtp::build_dsn(in);
  for (std::size_t at = 0, nl; (nl = dsn.find('\n', at)) != std::string::npos; at = nl + 1) msg.lines.push_back(dsn.substr(at, nl - at));
  auto shown = run({"retr", "1"}, msg).out;
  CHECK(shown.find("be delivered to one or more recipients. It's attached below.\n\n<error@gmail.com>: host ") != std::string::npos);
  auto tail = shown.substr(shown.find("\nDelivery status:"));
  CHECK(tail ==
        "\nDelivery status:\n"
        "  Reporting MTA: exmail.qq.com\n"
        "  Arrival date: Sun, 22 Nov 2026 03:06:37 +0000\n"
        "  Recipient: error@gmail.com\n"
        "    Action: failed\n"
        "    Status: 5.1.1\n"
        "    Remote MTA: gmail-smtp-in.l.google.com\n"
        "    Diagnostic: smtp; 550 5.1.1 no such user\n"
        "  Recipient: x@nowhere.example\n"
        "    Action: failed\n"
        "    Status: 5.1.2\n"
        "    Diagnostic: x-mailworld; 5.1.2 domain not found\n"
        "\nReturned headers:\n"
        "  From: usr1@mail.sustech.edu.cn\n"
        "  Subject: to nobody\n");
  auto json = nlohmann::json::parse(run({"retr", "1"}, msg, true).out);
  CHECK(json["delivery_status"]["reporting_mta"] == "exmail.qq.com");
  CHECK(json["delivery_status"]["arrival_date"] == "Sun, 22 Nov 2026 03:06:37 +0000");
  REQUIRE(json["delivery_status"]["recipients"].size() == 2);
  CHECK(json["delivery_status"]["recipients"][0] == nlohmann::json{{"recipient", "error@gmail.com"},
                                                                   {"original_recipient", "error@gmail.com"},
                                                                   {"action", "failed"},
                                                                   {"status", "5.1.1"},
                                                                   {"remote_mta", "gmail-smtp-in.l.google.com"},
                                                                   {"diagnostic", "smtp; 550 5.1.1 no such user"},
                                                                   {"last_attempt", ""}});
  CHECK(json["returned_headers"] == nlohmann::json::parse(
                                        R"([{"name":"From","value":"usr1@mail.sustech.edu.cn"},{"name":"Subject","value":"to nobody"}])"));
  // An ordinary message's JSON has neither key.
  auto plain = nlohmann::json::parse(run({"retr", "1"}, ok("+OK", {"From: a@b.c", "", "hi"}), true).out);
  CHECK(!plain.contains("delivery_status"));
  CHECK(!plain.contains("returned_headers"));
}

TEST_CASE("dele, rset, noop, quit: the reply in scripts; at the prompt only the reply line") {
  for (std::string verb : {"dele", "rset", "noop", "quit"}) {
    CAPTURE(verb);
    std::vector<std::string> words{verb};
    if (verb == "dele") words.push_back("1");
    auto text = run(words, ok("+OK done"));
    CHECK(text.out == "+OK done\n");
    CHECK(run(words, ok("+OK done"), true).out == "{\"reply\":\"+OK done\"}\n");
    CHECK(run(words, ok("+OK done"), false, true).out == "+OK done\n");
    CHECK(run(words, ok("+OK done"), true, true).out.empty());
  }
}

TEST_CASE("failures: -ERR on stderr in scripts, on stdout at the prompt; a lost connection in one line") {
  const Response err{false, "-ERR no such message", {}};
  auto scripted = run({"retr", "9"}, err);
  CHECK(scripted.status == 1);
  CHECK(scripted.out.empty());
  CHECK(scripted.err == "-ERR no such message\n");
  auto prompt = run({"retr", "9"}, err, false, true);
  CHECK(prompt.status == 1);
  CHECK(prompt.out == "-ERR no such message\n");
  CHECK(prompt.err.empty());
  auto json_prompt = run({"stat"}, err, true, true);
  CHECK(json_prompt.status == 1);
  CHECK((json_prompt.out + json_prompt.err).empty());
  auto lost = run({"stat"}, std::nullopt);
  CHECK(lost.status == 1);
  CHECK(lost.err == "agent: the POP3 server closed the connection\n");
  CHECK(lost.out.empty());
}
