// The agent's MIME code in three modes chosen by the first byte (mod 3):
//  0 parse: mime::parse on any message never throws, and every attachment name it returns becomes a
//    safe file name (no path, no control byte, no leading dot, never empty); a delivery report's
//    fields (mime::parse_delivery_status, also on the raw input) stay within their bounds, one line each.
//    The agent's streaming splitter (mime::StreamSplitter, issue 15) makes the same skeleton and the same
//    diverted bytes whether the message comes whole or cut in pieces of 1 to 97 octets, diverts fewer
//    than parse()'s 1,000 entities, and parse_split() of its result never throws.
//  1 build: a message built by mime::build from the input's fields (subject, text, HTML, attachments)
//    parses back to the same subject, text, HTML and attachments (names, types and bytes).
//  2 codecs: quoted-printable, base64, RFC 2047 words and RFC 2231 parameters round-trip, and encoded
//    lines stay within RFC 2045's 76 columns and RFC 2047's 75-octet words.
// Names and subjects are built without control bytes and without "=?" (a file literally named like an
// encoded word is read as one, on purpose).
#include <fuzzer/FuzzedDataProvider.h>

#include <string>

#include "fuzz.hpp"
#include "mime/codec.hpp"
#include "mime/message.hpp"
#include "mime/report.hpp"
#include "mime/stream.hpp"
#include "util/text.hpp"

using namespace mail;

namespace {

// What a user could type as a subject or have as a file name: no control bytes, no encoded-word opener.
std::string clean(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) continue;
    if (c == '?' && !out.empty() && out.back() == '=') continue;
    out += static_cast<char>(c);
  }
  return out;
}

std::string lf_to_crlf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

void check_safe_name(const std::string& name) {
  auto safe = mime::safe_filename(name);
  FUZZ_CHECK(!safe.empty() && safe.front() != '.' && safe.find('/') == std::string::npos);
  FUZZ_CHECK(safe.find('\\') == std::string::npos);
  for (unsigned char c : safe) FUZZ_CHECK(c >= 0x20 && c != 0x7f);
}

void check_fields(const mime::Fields& fields) {
  FUZZ_CHECK(fields.size() <= mime::kMaxFields);
  for (const auto& [name, value] : fields) {
    FUZZ_CHECK(!name.empty() && name.find_first_of(":\n \t") == std::string::npos);
    FUZZ_CHECK(value.find('\n') == std::string::npos);
  }
}

void check_delivery_status(const mime::DeliveryStatus& ds) {
  FUZZ_CHECK(ds.recipients.size() <= mime::kMaxRecipients);
  FUZZ_CHECK(ds.problems.size() <= mime::kMaxProblems + 1);
  for (const auto& r : ds.recipients)
    for (const auto* v : {&r.recipient, &r.action, &r.status, &r.remote_mta, &r.diagnostic, &r.last_attempt})
      FUZZ_CHECK(v->find('\n') == std::string::npos);
}

struct Collect : mime::SplitSink {
  std::string skeleton, bytes;
  void kept(std::string_view t) override { skeleton += t; }
  void attachment(const mime::Diverted& d) override { bytes += "\n--" + d.part + "\n"; }
  void attachment_data(std::string_view b) override { bytes += b; }
};

void stream_check(std::string_view raw) {
  Collect whole, cut;
  mime::StreamSplitter a(whole), b(cut);
  a.feed(raw);
  a.finish();
  const std::size_t step = 1 + raw.size() % 97;  // a cut that moves with the input
  for (std::size_t at = 0; at < raw.size(); at += step) b.feed(raw.substr(at, step));
  b.finish();
  FUZZ_CHECK(whole.skeleton == cut.skeleton);
  FUZZ_CHECK(whole.bytes == cut.bytes);
  FUZZ_CHECK(a.diverted().size() < 1000);
  auto p = mime::parse_split(whole.skeleton, a.diverted());
  for (const auto& att : p.attachments) FUZZ_CHECK(!att.filename.empty());
}

void parse_mode(std::string_view raw) {
  stream_check(raw);
  auto p = mime::parse(raw);
  for (const auto& a : p.attachments) {
    FUZZ_CHECK(!a.filename.empty());
    check_safe_name(a.filename);
  }
  if (p.delivery_status) check_delivery_status(*p.delivery_status);
  FUZZ_CHECK(p.returned_headers.size() <= mime::kMaxFields);  // from mimetic's header or from read_fields
  check_delivery_status(mime::parse_delivery_status(raw));
  std::vector<std::string> problems;
  check_fields(mime::read_fields(raw, problems));
}

void build_mode(FuzzedDataProvider& in) {
  mime::Outgoing m;
  m.from = "usr1@mail.sustech.edu.cn";
  m.to = {"usr@gmail.com"};
  m.subject = clean(in.ConsumeRandomLengthString(300));
  m.text = in.ConsumeRandomLengthString(3000);
  if (in.ConsumeBool()) m.html = in.ConsumeRandomLengthString(1000);
  m.date = 1795316797;
  m.message_id = "fuzz.1@mail.sustech.edu.cn";
  m.boundary_seed = "fz";
  int n = in.ConsumeIntegralInRange(0, 3);
  static const char* const kTypes[] = {"application/octet-stream", "image/png", "text/plain", "application/pdf"};
  for (int i = 0; i < n; ++i) {
    std::string name = clean(in.ConsumeRandomLengthString(100));
    if (name.empty()) name = "f";
    m.attachments.push_back({name, kTypes[in.ConsumeIntegralInRange(0, 3)], in.ConsumeRandomLengthString(2000)});
  }
  // A text that holds a boundary line is not what build() is for (its boundaries are random).
  for (const auto* t : {&m.text, &m.html})
    if (t->find("=_alt_fz") != std::string::npos || t->find("=_mixed_fz") != std::string::npos) return;

  auto raw = mime::build(m);
  auto p = mime::parse(raw);
  FUZZ_CHECK(util::trim(p.subject) == util::trim(m.subject));
  auto expect_text = [](std::string t) {
    if (!t.empty() && t.back() != '\n') t += '\n';
    return t;
  };
  FUZZ_CHECK(p.text == expect_text(m.text));
  FUZZ_CHECK(p.html == expect_text(m.html));
  FUZZ_CHECK(p.attachments.size() == m.attachments.size());
  for (std::size_t i = 0; i < m.attachments.size(); ++i) {
    FUZZ_CHECK(p.attachments[i].filename == m.attachments[i].filename);
    FUZZ_CHECK(p.attachments[i].content_type == m.attachments[i].content_type);
    FUZZ_CHECK(p.attachments[i].data == m.attachments[i].data);
  }
}

void codec_mode(std::string_view s) {
  auto qp = mime::qp_encode(s);
  std::size_t col = 0;
  for (char c : qp) {
    col = c == '\n' ? 0 : col + 1;
    FUZZ_CHECK(col <= 77);  // 76 columns plus the CR of CRLF
  }
  bool ok = false;
  FUZZ_CHECK(mime::qp_decode(qp, &ok) == lf_to_crlf(s) && ok);

  auto b64 = mime::base64_lines(s);
  FUZZ_CHECK(mime::base64_decode_lenient(b64, &ok) == s && ok);

  auto text = clean(s);
  auto words = mime::encode_header(text);
  FUZZ_CHECK(mime::decode_header(words) == text);
  if (!mime::is_ascii(text)) {
    std::string_view w = words;
    while (!w.empty()) {
      auto end = w.find("\r\n ");
      auto word = w.substr(0, end);
      FUZZ_CHECK(word.size() <= 75 && fuzz::printable(word));
      w.remove_prefix(end == std::string_view::npos ? w.size() : end + 3);
    }
  }
  auto hv = mime::parse_header_value("attachment; " + mime::header_param("filename", text));
  FUZZ_CHECK(hv.value == "attachment" && hv.params["filename"] == text);
  check_safe_name(std::string(s));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: parse_mode(rest); break;
    case 1: {
      FuzzedDataProvider in(data + 1, size - 1);
      build_mode(in);
      break;
    }
    case 2: codec_mode(rest); break;
  }
  return 0;
}
