// The streaming coders and the splitter (issue 15): whatever the chunking, the same bytes as the
// whole-message functions, and a message split on the way parses to the same attachments.
#include "mime/stream.hpp"

#include <doctest/doctest.h>

#include <random>

#include "pop3/client.hpp"
#include "util/auth.hpp"

using namespace mail::mime;

namespace {

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Cuts `s` into pieces: every `step` octets, or at random points when step is 0.
std::vector<std::string_view> chunks(std::string_view s, std::size_t step, unsigned seed = 1) {
  std::vector<std::string_view> out;
  std::mt19937 rng(seed);
  while (!s.empty()) {
    std::size_t n = step ? step : 1 + rng() % 97;
    n = std::min(n, s.size());
    out.push_back(s.substr(0, n));
    s.remove_prefix(n);
  }
  return out;
}

std::string encode_in(std::string_view bytes, std::size_t step) {
  Base64Encoder e;
  std::string out;
  for (auto c : chunks(bytes, step)) e.feed(c, out);
  e.finish(out);
  return out;
}

std::pair<std::string, bool> decode_in(std::string_view text, std::size_t step) {
  Base64Decoder d;
  std::string out;
  for (auto c : chunks(text, step)) d.feed(c, out);
  bool ok = d.finish(out);
  return {out, ok};
}

// The splitter's output: the skeleton, and each diverted body's bytes.
struct Collect : SplitSink {
  std::string skeleton;
  std::vector<std::string> bodies;
  void kept(std::string_view t) override { skeleton += t; }
  void attachment(const Diverted&) override { bodies.emplace_back(); }
  void attachment_data(std::string_view b) override { bodies.back() += b; }
};

struct Split {
  Collect sink;
  std::vector<Diverted> diverted;
};

Split split_in(std::string_view raw, std::size_t step, unsigned seed = 1) {
  Split s;
  StreamSplitter splitter(s.sink);
  for (auto c : chunks(raw, step, seed)) splitter.feed(c);
  splitter.finish();
  s.diverted = splitter.diverted();
  return s;
}

Outgoing sample(std::vector<Attachment> attachments, std::string html = "") {
  Outgoing m;
  m.from = "usr1@mail.sustech.edu.cn";
  m.to = {"usr@gmail.com"};
  m.subject = "big";
  m.text = "Hello,\n--=_mixed_s1x starts like a boundary: mimetic takes it for one, so must the splitter\n.a dot line\n";
  m.html = std::move(html);
  m.attachments = std::move(attachments);
  m.date = 1795316797;
  m.message_id = "abc.123@mail.sustech.edu.cn";
  m.boundary_seed = "s1";
  return m;
}

}  // namespace

TEST_CASE("Base64Encoder: the lines of base64_lines whatever the chunks, cut inside a line or a quad") {
  for (std::size_t n : {0u, 1u, 2u, 3u, 56u, 57u, 58u, 114u, 1000u, 4099u}) {
    std::string bytes = random_bytes(n, static_cast<unsigned>(n));
    std::string plain = mail::util::base64_encode(bytes), expected;
    for (std::size_t i = 0; i < plain.size(); i += 76) expected += plain.substr(i, 76) + "\r\n";
    CAPTURE(n);
    for (std::size_t step : {0u, 1u, 2u, 3u, 4u, 56u, 57u, 58u, 65536u}) CHECK(encode_in(bytes, step) == expected);
    CHECK(base64_lines(bytes) == expected);
    CHECK(base64_lines_size(n) == expected.size());
  }
}

TEST_CASE("Base64Decoder: the bytes and verdict of the whole text whatever the chunks, CRLF and quads cut anywhere") {
  std::string bytes = random_bytes(2000, 7);
  std::string clean = base64_lines(bytes);
  struct Case {
    std::string text;
    std::string bytes;
    bool ok;
  };
  std::vector<Case> cases = {
      {clean, bytes, true},
      {"QUJD\r\nRA==\r\n", "ABCD", true},
      {"QU JD\tRA\n==", "ABCD", true},
      {"QUJD*RA==", "ABCD", false},         // junk skipped
      {"QUJDRA", "ABCD", false},            // cut-off tail padded
      {"QUJDR", "ABC", false},              // one character: dropped
      {"QQ==QUJD", "AABC", false},          // padding in the middle: block by block
      {"Q=JDQUJD", "ABC", false},           // a bad quad skipped
      {"", "", true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text.substr(0, 40));
    for (std::size_t step : {0u, 1u, 2u, 3u, 5u, 77u, 78u, 79u, 100000u}) {
      auto [out, ok] = decode_in(c.text, step);
      CHECK(out == c.bytes);
      CHECK(ok == c.ok);
    }
    bool ok = true;
    CHECK(base64_decode_lenient(c.text, &ok) == c.bytes);
    CHECK(ok == c.ok);
  }
}

TEST_CASE("build_pieces: the pieces with each attachment's base64 lines in its place are build()") {
  auto m = sample({{"a.bin", "application/octet-stream", random_bytes(5000, 1)}, {"报告.pdf", "application/pdf", "x"}},
                  "<p>hi</p>");
  std::string joined;
  for (const auto& p : build_pieces(m)) joined += p.attachment < 0 ? p.text : base64_lines(m.attachments[p.attachment].data);
  CHECK(joined == build(m));
  CHECK(build_pieces(sample({})).size() == 1);
}

TEST_CASE("StreamSplitter: the same skeleton and attachments whatever the chunks; parse_split gives what parse gives") {
  std::vector<Attachment> atts = {{"a.bin", "application/octet-stream", random_bytes(70000, 2)},
                                  {"empty.dat", "application/octet-stream", ""},
                                  {"报告.pdf", "application/pdf", random_bytes(3, 3)}};
  for (std::string html : {"", "<p>hi</p>"}) {
    std::string raw = build(sample(atts, html));
    auto whole = split_in(raw, raw.size());
    CHECK(whole.sink.skeleton.size() < 2000);  // the attachments are out of it
    REQUIRE(whole.sink.bodies.size() == atts.size());
    for (std::size_t i = 0; i < atts.size(); ++i) CHECK(whole.sink.bodies[i] == atts[i].data);
    for (std::size_t step : {0u, 1u, 2u, 3u, 7u, 76u, 77u, 78u, 79u, 1024u}) {
      for (unsigned seed : {1u, 2u, 3u}) {
        CAPTURE(step);
        auto s = split_in(raw, step, seed);
        CHECK(s.sink.skeleton == whole.sink.skeleton);
        CHECK(s.sink.bodies == whole.sink.bodies);
        if (step) break;
      }
    }
    Parsed direct = parse(raw), split = parse_split(whole.sink.skeleton, whole.diverted);
    CHECK(split.text == direct.text);
    CHECK(split.html == direct.html);
    CHECK(split.subject == direct.subject);
    CHECK(split.problems == direct.problems);
    REQUIRE(split.attachments.size() == direct.attachments.size());
    REQUIRE(split.parts.size() == direct.parts.size());
    for (std::size_t i = 0; i < split.parts.size(); ++i) {
      CHECK(split.parts[i].part == direct.parts[i].part);
      CHECK(split.parts[i].size == direct.parts[i].size);
    }
    for (std::size_t i = 0; i < split.attachments.size(); ++i) {
      CHECK(split.attachments[i].filename == direct.attachments[i].filename);
      CHECK(split.attachments[i].content_type == direct.attachments[i].content_type);
      REQUIRE(split.attachments[i].stored >= 0);
      CHECK(whole.diverted[static_cast<std::size_t>(split.attachments[i].stored)].size == direct.attachments[i].data.size());
    }
  }
}

TEST_CASE("StreamSplitter: LF line ends, nested multiparts, bad base64, long lines, text parts and a closing boundary") {
  std::string longline(5000, 'x');
  std::string raw =
      "Subject: nested\n"
      "Content-Type: multipart/mixed; boundary=\"out\"\n\n"
      "preamble\n"
      "--out\n"
      "Content-Type: multipart/alternative; boundary=in\n\n"
      "--in\n"
      "Content-Type: text/plain\n\n"
      "text " + longline + "\n-- in is not a boundary\n"
      "--in--\n"
      "--out\n"
      "Content-Type: image/png\n"
      "Content-Transfer-Encoding: base64\n\n"
      "QUJD\n*RA==\n"
      "--out\n"
      "Content-Type: text/plain; name=\"n.txt\"\n"
      "Content-Transfer-Encoding: quoted-printable\n\n"
      "kept=20as text\n"
      "--out--\n"
      "epilogue\n";
  auto whole = split_in(raw, raw.size());
  REQUIRE(whole.diverted.size() == 1);
  CHECK(whole.diverted[0].part == "1.2");
  CHECK_FALSE(whole.diverted[0].ok);
  CHECK(whole.sink.bodies[0] == "ABCD");
  CHECK(whole.sink.skeleton.find(longline) != std::string::npos);
  CHECK(whole.sink.skeleton.find("kept=20as text") != std::string::npos);
  for (std::size_t step : {0u, 1u, 2u, 3u, 999u, 1000u, 1001u}) {
    auto s = split_in(raw, step);
    CHECK(s.sink.skeleton == whole.sink.skeleton);
    CHECK(s.sink.bodies == whole.sink.bodies);
  }
  Parsed direct = parse(raw), split = parse_split(whole.sink.skeleton, whole.diverted);
  CHECK(split.text == direct.text);
  CHECK(split.problems == direct.problems);
  REQUIRE(split.attachments.size() == 2);
  CHECK(split.attachments[0].stored == 0);
  CHECK(split.attachments[1].data == direct.attachments[1].data);  // not base64: kept in the skeleton
}

TEST_CASE("pop3::ResponseReader: with a line reader the body lines stream out, dot-unstuffed, and are not kept") {
  mail::pop3::ResponseReader r;
  std::vector<std::string> got;
  r.expect(true, [&got](std::string_view l) { got.emplace_back(l); });
  CHECK_FALSE(r.feed("+OK 10 octets"));
  CHECK_FALSE(r.feed("..dot"));
  CHECK_FALSE(r.feed("plain"));
  auto resp = r.feed(".");
  REQUIRE(resp);
  CHECK(resp->ok);
  CHECK(resp->lines.empty());
  CHECK(got == std::vector<std::string>{".dot", "plain"});
}

// A boundary line longer than the splitter keeps of a line (RFC 2046 allows transport padding after
// "--b"; a sender may also pad it on purpose): parse() ends the part there whatever its length, so the
// splitter must too, and alike however the text arrives. Before, a line of more than 1000 octets was a
// boundary when it came in one chunk and body when cut (as the agent feeds it, line then CRLF): the
// next part's header and body were decoded into the attachment before it.
TEST_CASE("StreamSplitter: a padded boundary line of more than 1000 octets ends the part whatever the chunks") {
  std::string pad(1200, ' ');
  std::string raw =
      "Subject: padded\r\n"
      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
      "--b\r\n"
      "Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n"
      "QUJD\r\n"
      "--b" + pad + "\r\n"
      "Content-Type: text/plain\r\n\r\n"
      "WFla WFla\r\n"
      "--b--\r\n";
  Parsed direct = parse(raw);
  REQUIRE(direct.attachments.size() == 1);
  REQUIRE(direct.attachments[0].data == "ABC");
  auto whole = split_in(raw, raw.size());
  for (std::size_t step : {0u, 1u, 7u, 1000u, 1001u, 1100u}) {
    CAPTURE(step);
    auto s = split_in(raw, step);
    CHECK(s.sink.skeleton == whole.sink.skeleton);
    CHECK(s.sink.bodies == whole.sink.bodies);
  }
  Collect lines;  // as the agent feeds it: each line, then its CRLF
  StreamSplitter splitter(lines);
  for (std::string_view r = raw; !r.empty();) {
    auto n = r.find("\r\n");
    splitter.feed(r.substr(0, n));
    splitter.feed("\r\n");
    r.remove_prefix(n + 2);
  }
  splitter.finish();
  CHECK(lines.skeleton == whole.sink.skeleton);
  CHECK(lines.bodies == whole.sink.bodies);
  REQUIRE(whole.sink.bodies.size() == 1);
  CHECK(whole.sink.bodies[0] == "ABC");
  Parsed split = parse_split(whole.sink.skeleton, whole.diverted);
  CHECK(split.text == direct.text);
  CHECK(split.problems == direct.problems);
  REQUIRE(split.attachments.size() == 1);
  CHECK(whole.diverted[0].size == 3);
}

// parse() reads 1,000 entities at most; each base64 part past that was still diverted, the agent making a
// hidden file in the save folder for every one (a message of empty parts: a file per ~150 octets) only
// to remove it as "outside the message structure". Past the cap they stay in the skeleton, unread.
TEST_CASE("StreamSplitter: no more bodies diverted than parse() reads parts") {
  std::string raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 3000; ++i) raw += "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\n";
  raw += "--b--\r\n";
  auto s = split_in(raw, 0);
  CHECK(s.diverted.size() < 1000);
  Parsed direct = parse(raw), split = parse_split(s.sink.skeleton, s.diverted);
  CHECK(split.attachments.size() == direct.attachments.size());
  for (const auto& p : split.problems) CHECK(p.find("outside the message structure") == std::string::npos);
}

// parse() reads a delivery report's status and returned headers whatever their transfer encoding; a
// base64 one with a name (so "an attachment" by is_attachment) was diverted, and the agent showed the
// bounce without its status, its bytes "outside the message structure".
TEST_CASE("StreamSplitter: the parts of a delivery report parse() reads are never diverted") {
  std::string status = mail::util::base64_encode(
      "Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; a@b.example\r\nAction: failed\r\nStatus: 5.1.1\r\n");
  std::string headers = mail::util::base64_encode("Subject: the lost one\r\nMessage-ID: <x@y>\r\n");
  std::string raw =
      "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
      "--b\r\nContent-Type: message/delivery-status; name=status.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n" + status + "\r\n"
      "--b\r\nContent-Type: text/rfc822-headers; name=headers.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n" + headers + "\r\n"
      "--b--\r\n";
  Parsed direct = parse(raw);
  REQUIRE(direct.delivery_status);
  REQUIRE(direct.returned_headers.size() == 2);
  auto s = split_in(raw, 0);
  CHECK(s.diverted.empty());
  Parsed split = parse_split(s.sink.skeleton, s.diverted);
  CHECK(split.problems == direct.problems);
  REQUIRE(split.delivery_status);
  REQUIRE(split.delivery_status->recipients.size() == 1);
  CHECK(split.delivery_status->recipients[0].status == "5.1.1");
  CHECK(split.returned_headers == direct.returned_headers);
}
