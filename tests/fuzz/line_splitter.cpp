// util::LineSplitter fed in random cuts, in both Overlong modes, against a model computed from the
// input's lines (LF ends a line; a CR before it makes the ending CRLF). Checks:
//  discard: each line comes once, whole, or as too_long (with its real ending) when it holds more than
//    max_line octets ending included; nothing more than max_line octets is ever held.
//  split: the pieces of each line join to its text; a line that fits never comes in pieces; pieces
//    are not empty; nothing more than max_line plus one read is held or handed over at once.
//  both: an unfinished last line is held (or being skipped), never returned.
//
// Input: cut seed, options (bit 7: split mode; max_line = 1 + bits 0-5, times 16 when bit 6 is set),
// then the bytes.
#include <string>
#include <vector>

#include "fuzz.hpp"
#include "util/line_splitter.hpp"

using namespace mail;
using Splitter = util::LineSplitter;

namespace {

struct ModelLine {
  std::string text;  // without its ending
  Splitter::Ending ending;
  std::size_t octets;  // ending included
};

std::vector<ModelLine> model(std::string_view in, std::string_view& tail) {
  std::vector<ModelLine> out;
  std::size_t pos = 0;
  while (true) {
    auto lf = in.find('\n', pos);
    if (lf == std::string_view::npos) break;
    std::string_view l = in.substr(pos, lf - pos);
    auto ending = Splitter::Ending::lf;
    if (!l.empty() && l.back() == '\r') {
      l.remove_suffix(1);
      ending = Splitter::Ending::crlf;
    }
    out.push_back({std::string(l), ending, lf + 1 - pos});
    pos = lf + 1;
  }
  tail = in.substr(pos);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  fuzz::Cuts cuts(in.byte());
  std::uint8_t opts = in.byte();
  bool split = opts & 0x80;
  std::size_t max = 1 + (opts & 0x3fu);  // 1..64: small, so that inputs of a few KB cross it often
  if (opts & 0x40) max *= 16;            // up to 1024
  std::string_view bytes = in.rest();

  std::string_view tail;
  auto lines = model(bytes, tail);
  // The unfinished last line: only pieces of it may come (split mode), never its end.
  const ModelLine unfinished{std::string(tail), Splitter::Ending::crlf, tail.size()};
  Splitter sp(max, split ? Splitter::Overlong::split : Splitter::Overlong::discard);
  std::size_t next = 0;      // model line expected next
  std::string pieces;        // pieces of the current line so far (split mode)
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    std::size_t n = cuts.next(bytes.size() - pos);
    std::string_view chunk = bytes.substr(pos, n);
    pos += n;
    while (auto line = sp.next(chunk)) {
      bool last = next == lines.size();
      const auto& want = last ? unfinished : lines[next];
      FUZZ_CHECK(!last || line->partial);
      if (split) {
        FUZZ_CHECK(!line->too_long);
        FUZZ_CHECK(line->text.size() <= max + n);
        if (line->partial) {
          FUZZ_CHECK(!line->text.empty());
          FUZZ_CHECK(want.octets > max);  // a line that fits is never cut
          pieces.append(line->text);
          FUZZ_CHECK(want.text.compare(0, pieces.size(), pieces) == 0);
          continue;
        }
        pieces.append(line->text);
        FUZZ_CHECK(pieces == want.text && line->ending == want.ending);
        pieces.clear();
      } else {
        FUZZ_CHECK(!line->partial);
        FUZZ_CHECK(line->too_long == (want.octets > max));
        FUZZ_CHECK(line->ending == want.ending);
        if (line->too_long) FUZZ_CHECK(line->text.empty());
        else FUZZ_CHECK(line->text == want.text);
      }
      ++next;
    }
    FUZZ_CHECK(chunk.empty());  // nullopt only once the read is used up
    FUZZ_CHECK(sp.pending() <= (split ? max + n : max));
  }
  FUZZ_CHECK(next == lines.size());
  // The unfinished tail is held whole when it fits (discard mode).
  if (!split && tail.size() <= max) FUZZ_CHECK(sp.pending() == tail.size());
  return 0;
}
