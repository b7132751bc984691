#include "mime/message.hpp"

#include <doctest/doctest.h>

#include <random>

#include "mime/codec.hpp"

using namespace mail::mime;

namespace {

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

Outgoing sample() {
  Outgoing m;
  m.from = "usr1@mail.sustech.edu.cn";
  m.to = {"usr@gmail.com"};
  m.cc = {"usr2@mail.sustech.edu.cn"};
  m.subject = "Test";
  m.text = "Hello,\n.a line with a dot\nBye\n";
  m.date = 1795316797;
  m.message_id = "abc.123@mail.sustech.edu.cn";
  m.boundary_seed = "seed1";
  return m;
}

}  // namespace

TEST_CASE("a plain message: the headers of RFC 5322, no Bcc, a 7bit text part") {
  auto raw = build(sample());
  CHECK(raw.rfind("From: usr1@mail.sustech.edu.cn\r\nTo: usr@gmail.com\r\nCc: usr2@mail.sustech.edu.cn\r\nSubject: Test\r\n", 0) == 0);
  CHECK(raw.find("Date: Sun, 22 Nov 2026 03:06:37 +0000\r\n") != std::string::npos);
  CHECK(raw.find("Message-ID: <abc.123@mail.sustech.edu.cn>\r\n") != std::string::npos);
  CHECK(raw.find("MIME-Version: 1.0\r\n") != std::string::npos);
  CHECK(raw.find("Content-Transfer-Encoding: 7bit\r\n\r\nHello,\r\n.a line with a dot\r\nBye\r\n") != std::string::npos);
  CHECK(raw.find("Bcc") == std::string::npos);
  auto p = parse(raw);
  CHECK(p.subject == "Test");
  CHECK(p.from == "usr1@mail.sustech.edu.cn");
  CHECK(p.cc == "usr2@mail.sustech.edu.cn");
  CHECK(p.text == "Hello,\n.a line with a dot\nBye\n");
  CHECK(p.attachments.empty());
  CHECK(p.problems.empty());
}

TEST_CASE("round trips of binary attachments of 0 B, 1 B and 1 MB, and non-ASCII names and subject") {
  auto m = sample();
  m.subject = "测试 — ünïcode subject that is long enough to need more than one encoded word";
  m.text = "Grüße, 你好\nline two\n";
  m.attachments = {{"empty.bin", "application/octet-stream", ""},
                   {"one.bin", "application/octet-stream", std::string(1, '\xff')},
                   {"big photo.jpg", "image/jpeg", random_bytes(1 << 20, 7)},
                   {"报告.pdf", "application/pdf", random_bytes(1000, 9)}};
  auto raw = build(m);
  CHECK(raw.find("Content-Type: multipart/mixed; boundary=\"=_mixed_seed1\"\r\n") != std::string::npos);
  CHECK(raw.find("filename*=utf-8''%E6%8A%A5%E5%91%8A.pdf") != std::string::npos);  // RFC 2231
  CHECK(raw.find("Subject: =?UTF-8?B?") != std::string::npos);
  CHECK(raw.find("quoted-printable") != std::string::npos);
  for (std::size_t pos = 0; (pos = raw.find("\r\n", pos)) != std::string::npos; pos += 2) {}
  auto p = parse(raw);
  CHECK(p.problems.empty());
  CHECK(p.subject == m.subject);
  CHECK(p.text == m.text);
  REQUIRE(p.attachments.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    CAPTURE(i);
    CHECK(p.attachments[i].filename == m.attachments[i].filename);
    CHECK(p.attachments[i].content_type == m.attachments[i].content_type);
    CHECK(p.attachments[i].data == m.attachments[i].data);
  }
}

TEST_CASE("an HTML alternative") {
  auto m = sample();
  m.html = "<p>Hello</p>\n";
  auto p = parse(build(m));
  CHECK(p.text == m.text);
  CHECK(p.html == "<p>Hello</p>\n");
}

TEST_CASE("messages from other mailers: nested multiparts, Q-encoded words, Latin-1, RFC 2231 pieces") {
  std::string raw =
      "From: =?ISO-8859-1?Q?J=F6rg?= <j@x.org>\r\n"
      "Subject: =?utf-8?q?caf=C3=A9?= =?utf-8?b?IOKYlQ==?=\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
      "--outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n"
      "--inner\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
      "Gr=FC=DFe=\r\n aus Berlin\r\n"
      "--inner\r\nContent-Type: text/html\r\n\r\n<b>x</b>\r\n--inner--\r\n"
      "--outer\r\nContent-Type: application/octet-stream\r\n"
      "Content-Disposition: attachment; filename*0*=utf-8''%E4%B8%AD; filename*1=\"-part.txt\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--outer--\r\n";
  auto p = parse(raw);
  CHECK(p.subject == "café ☕");
  CHECK(p.from == "Jörg <j@x.org>");
  CHECK(p.text == "Grüße aus Berlin\n");
  CHECK(p.html == "<b>x</b>\n");
  REQUIRE(p.attachments.size() == 1);
  CHECK(p.attachments[0].filename == "中-part.txt");
  CHECK(p.attachments[0].data == "hello");
  CHECK(p.problems.empty());
}

TEST_CASE("broken MIME: shows what it can and says what is wrong") {
  auto no_boundary = parse("Subject: x\r\nContent-Type: multipart/mixed\r\n\r\nsome text\r\n");
  CHECK(no_boundary.text == "some text\n");
  REQUIRE(no_boundary.problems.size() == 1);
  CHECK(no_boundary.problems[0].find("without a boundary") != std::string::npos);

  auto bad_b64 = parse("Subject: y\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
                       "--b\r\nContent-Type: image/png; name=a.png\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs!!bG8\r\n--b--\r\n");
  CHECK(bad_b64.text == "hi\n");
  REQUIRE(bad_b64.attachments.size() == 1);
  CHECK(bad_b64.attachments[0].filename == "a.png");
  REQUIRE_FALSE(bad_b64.problems.empty());
  CHECK(bad_b64.problems[0].find("bad base64") != std::string::npos);

  auto missing = parse("Subject: z\r\nContent-Type: multipart/mixed; boundary=nothere\r\n\r\njust text\r\n");
  CHECK_FALSE(missing.problems.empty());

  auto plain = parse("Subject: no mime at all\r\n\r\nbody\r\n");
  CHECK(plain.text == "body\n");
  CHECK(plain.problems.empty());
  CHECK(parse("").problems.size() <= 1);  // nothing to show, and no crash
}

TEST_CASE("codecs: quoted-printable, header words, parameters, types and safe names") {
  std::string text = "a=b\ttrailing space \n" + std::string(200, 'x') + "\n.\n";
  auto qp = qp_encode(text);
  for (std::size_t pos = 0, next; (next = qp.find("\r\n", pos)) != std::string::npos; pos = next + 2) CHECK(next - pos <= 76);
  std::string crlf_back = qp_decode(qp);
  std::string lf;
  for (std::size_t i = 0; i < crlf_back.size(); ++i)
    if (!(crlf_back[i] == '\r' && i + 1 < crlf_back.size() && crlf_back[i + 1] == '\n')) lf += crlf_back[i];
  CHECK(lf == text);
  bool ok = true;
  CHECK(qp_decode("bad =ZZ escape", &ok) == "bad =ZZ escape");
  CHECK_FALSE(ok);
  CHECK(decode_header(encode_header("中文 subject")) == "中文 subject");
  CHECK(decode_header("plain text") == "plain text");
  CHECK(header_param("filename", "a \"b\".txt") == "filename=\"a \\\"b\\\".txt\"");
  auto hv = parse_header_value("Multipart/Mixed; Boundary=\"abc\"; x=1");
  CHECK(hv.value == "multipart/mixed");
  CHECK(hv.params.at("boundary") == "abc");
  CHECK(hv.params.at("x") == "1");
  CHECK(content_type_for("photo.JPG") == "image/jpeg");
  CHECK(content_type_for("noext") == "application/octet-stream");
  CHECK(safe_filename("../../etc/passwd") == "passwd");
  CHECK(safe_filename("C:\\dir\\file.txt") == "file.txt");
  CHECK(safe_filename("..") == "attachment");
  CHECK(safe_filename("a\nb\x01.txt") == "ab.txt");
  CHECK(safe_filename(".hidden") == "hidden");
}

TEST_CASE("40 attachments are all read; nesting and part counts have their own caps (issue 10, defect 7)") {
  auto m = sample();
  for (int i = 0; i < 40; ++i) m.attachments.push_back({"f" + std::to_string(i) + ".txt", "text/plain", "data " + std::to_string(i)});
  auto p = parse(build(m));
  REQUIRE(p.attachments.size() == 40);
  CHECK(p.attachments[39].filename == "f39.txt");
  CHECK(p.attachments[39].data == "data 39");
  CHECK(p.problems.empty());

  // 60 levels of multipart/mixed, a text part at the bottom: read down to 50, then said.
  auto nested = [](int levels) {
    std::string head = "Subject: deep\r\nMIME-Version: 1.0\r\n", tail;
    for (int i = 0; i < levels; ++i) {
      head += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" + std::to_string(i) + "\r\n";
      tail = "\r\n--b" + std::to_string(i) + "--\r\n" + tail;
    }
    return head + "Content-Type: text/plain\r\n\r\nbottom" + tail;
  };
  auto ok = parse(nested(48));
  CHECK(ok.text == "bottom\n");
  CHECK(ok.problems.empty());
  auto deep = parse(nested(60));
  CHECK(deep.text.empty());
  REQUIRE(deep.problems.size() == 1);
  CHECK(deep.problems[0].find("nested deeper than 50 levels") != std::string::npos);

  // 1200 attachments: 1000 parts are read (the multipart itself is one), then one line says so.
  auto many = sample();
  for (int i = 0; i < 1200; ++i) many.attachments.push_back({"a" + std::to_string(i), "application/octet-stream", "x"});
  auto q = parse(build(many));
  CHECK(q.attachments.size() == 998);  // 1000 - the multipart - the text part
  REQUIRE(q.problems.size() == 1);
  CHECK(q.problems[0].rfind("more than 1000 parts", 0) == 0);
}

TEST_CASE("a header value that is not UTF-8 is still encoded, in words of at most 75 octets") {
  // Found by fuzz_mime: 45 octets without a UTF-8 boundary made encode_header loop, growing forever.
  for (const std::string& s : {"*" + std::string(60, '\x95'), std::string(100, '\x80'), "ab" + std::string(50, '\xbf') + "c"}) {
    auto words = encode_header(s);
    CHECK(decode_header(words) == s);
    for (std::size_t pos = 0, next; pos < words.size(); pos = next + 3) {
      next = words.find("\r\n ", pos);
      if (next == std::string::npos) next = words.size();
      CHECK(next - pos <= 75);
    }
  }
}

TEST_CASE("text parts keep their trailing blank lines: a CRLF before each boundary belongs to it") {
  // Found by fuzz_mime: RFC 2046 5.1.1 gives the CRLF before "--boundary" to the boundary, so a text
  // part built without one lost its last line end ("\n" came back as "", "a\n\n" as "a\n").
  for (const char* text : {"\n", "Hello\n\n", "Hello\n\n\n", "Hello", ""}) {
    CAPTURE(text);
    auto m = sample();
    m.text = text;
    m.html = std::string("<p>x</p>\n") + text;
    m.attachments = {{"a.bin", "application/octet-stream", "\x01\x02"}, {"empty.bin", "application/octet-stream", ""}};
    auto p = parse(build(m));
    std::string want = text;
    if (!want.empty() && want.back() != '\n') want += '\n';
    CHECK(p.text == want);
    CHECK(p.html == "<p>x</p>\n" + want);
    REQUIRE(p.attachments.size() == 2);
    CHECK(p.attachments[0].data == "\x01\x02");
    CHECK(p.attachments[1].data.empty());
    CHECK(p.problems.empty());
  }
}

TEST_CASE("the MIME tree: each part numbered, typed and sized, attachments pointing at their part") {
  auto m = sample();
  m.html = "<p>Hello</p>";
  m.attachments = {{"a.bin", "application/octet-stream", random_bytes(1000, 3)}, {"b.txt", "text/plain", "bee\n"}};
  auto p = parse(build(m));
  REQUIRE(p.parts.size() == 6);
  CHECK(p.parts[0].part == "1");
  CHECK(p.parts[0].type == "multipart/mixed");
  CHECK(p.parts[1].part == "1.1");
  CHECK(p.parts[1].type == "multipart/alternative");
  CHECK(p.parts[2].part == "1.1.1");
  CHECK(p.parts[2].type == "text/plain");
  CHECK(p.parts[2].attachment == -1);
  CHECK(p.parts[3].part == "1.1.2");
  CHECK(p.parts[3].type == "text/html");
  CHECK(p.parts[4].part == "1.2");
  CHECK(p.parts[4].filename == "a.bin");
  CHECK(p.parts[4].size == 1000);
  CHECK(p.parts[4].attachment == 0);
  CHECK(p.parts[5].part == "1.3");
  CHECK(p.parts[5].attachment == 1);
  CHECK(p.attachments[1].data == "bee\n");
  auto plain = parse("Subject: x\r\n\r\nbody\r\n");
  REQUIRE(plain.parts.size() == 1);
  CHECK(plain.parts[0].part == "1");
  CHECK(plain.parts[0].type == "text/plain");
  CHECK(plain.parts[0].size == 6);
}
