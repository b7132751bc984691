// Big messages in pieces (issue 15): base64 encoded and decoded a chunk at a time, and a message split
// as it streams by into a small skeleton (headers, boundaries, text) and the decoded bytes of its
// base64 attachments, which the caller puts on disk. Chunks may be cut anywhere: inside a CRLF, a
// boundary line or a base64 quad. Plain code: the agent only moves the bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "mime/message.hpp"

namespace mail::mime {

/// base64_lines, a chunk at a time: the same lines of 76 columns with CRLF.
class Base64Encoder {
 public:
  void feed(std::string_view bytes, std::string& out);
  /// The last, shorter line (padded), if any.
  void finish(std::string& out);

 private:
  std::string pending_;  // fewer than 57 octets: one line's worth
};

/// The length of base64_lines(n octets).
std::size_t base64_lines_size(std::size_t n) noexcept;

/// base64_decode_lenient, a chunk at a time: line breaks and spaces ignored, junk skipped, a cut-off
/// tail padded; the same bytes and the same verdict.
class Base64Decoder {
 public:
  void feed(std::string_view text, std::string& out);
  /// Decodes what is left; false when anything was wrong since the start.
  bool finish(std::string& out);

 private:
  void quad(std::string& out);
  char q_[4] = {};
  int n_ = 0;               // characters in q_
  bool good_ = true;
  bool padded_ = false;     // the last quad had '=': another quad after it is wrong
};

/// An attachment body taken out of the stream.
struct Diverted {
  std::string part;  // "1.2"
  std::size_t size = 0;
  bool ok = true;    // its base64 was clean
};

/// Receives what the splitter separates.
class SplitSink {
 public:
  virtual ~SplitSink() = default;
  virtual void kept(std::string_view text) = 0;                  // the skeleton, in order
  virtual void attachment(const Diverted& d) = 0;                // a diverted body starts (index = count so far)
  virtual void attachment_data(std::string_view bytes) = 0;      // its decoded bytes
};

/// Splits a message (CRLF or LF lines) fed in chunks. A leaf part that parse() would list as an
/// attachment and whose transfer encoding is base64 is diverted: its decoded bytes go to the sink and
/// its body is left empty in the skeleton. Everything else is kept as it is. Memory: a line, and the
/// header of the part being read (capped; a longer header is kept but not looked into).
class StreamSplitter {
 public:
  explicit StreamSplitter(SplitSink& sink) : sink_(sink) {}
  void feed(std::string_view chunk);
  void finish();
  const std::vector<Diverted>& diverted() const noexcept { return diverted_; }

 private:
  struct Level {  // an open multipart
    std::string part;
    std::string boundary;
    int children = 0;
    bool report = false;  // multipart/report: parse() reads some of its parts whatever they say
  };
  void line(std::string_view text, bool complete);
  void header_line(std::string_view text, bool complete);
  void body_line(std::string_view text);
  void header_done(std::string_view blank);
  void end_diverted();
  bool boundary(std::string_view text);

  SplitSink& sink_;
  std::string line_;           // the current line, up to kMaxLine
  bool long_line_ = false;     // line_ overflowed: the rest of this line is body, not a boundary
  bool boundary_tail_ = false; // line_ overflowed and began with a boundary: the rest of it is kept as is
  bool in_header_ = true;
  std::string part_ = "1";     // the part whose header or body is being read
  std::string header_;         // its header so far
  bool header_full_ = false;
  bool diverting_ = false;
  std::size_t entities_ = 0;   // headers read: parse() reads no more than its cap of them
  Base64Decoder decoder_;
  std::string decoded_;
  std::vector<Level> open_;
  std::vector<Diverted> diverted_;
};

/// parse() of a skeleton, with the diverted bodies put back as attachments that say where their
/// bytes went (Attachment::stored) and how many there were.
Parsed parse_split(std::string_view skeleton, const std::vector<Diverted>& diverted);

}  // namespace mail::mime
